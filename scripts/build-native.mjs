// Builds the server's native network addon (server/native/netns.c -> server/build/Release/cronium_netns.node)
// when it is missing or older than its sources. Without it the runc driver makes sandbox networks with `ip`
// processes (slower, same isolation), so a host without a C compiler gets a warning, not a failed build; in CI
// (CI=true) a failed build fails, so the tests never silently run the fallback alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const server = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'server');
const addon = path.join(server, 'build', 'Release', 'cronium_netns.node');
const sources = [path.join(server, 'binding.gyp'), path.join(server, 'native', 'netns.c')];
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
if (mtime(addon) > Math.max(...sources.map(mtime))) process.exit(0);

// npm puts its own node-gyp on the PATH of scripts; outside npm, use the one npm ships with.
const gyp = spawnSync('node-gyp', ['rebuild'], { cwd: server, stdio: 'inherit' });
if (gyp.status === 0) process.exit(0);
const why = gyp.error ? gyp.error.message : `node-gyp exited with ${gyp.status}`;
if (process.env.CI === 'true') {
  console.error(`build-native: the native network addon did not build (${why})`);
  process.exit(1);
}
console.warn(`build-native: the native network addon did not build (${why}); the runc driver will use "ip" processes instead`);
