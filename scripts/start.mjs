// `npm start`: makes this machine ready (Docker engine, TypeScript and dashboard builds, runtime images), then
// runs the API server (with its embedded database) and the dashboard side by side.
import { spawn } from 'node:child_process';
import { buildIfStale, hostSetup, root, run } from './lib.mjs';

hostSetup();
buildIfStale({ web: true });
run('bash', ['runtime-images/build.sh']);

// 2 MB young-generation semi-spaces (V8 grows them to 16 MB): ~40 MB less resident memory under a burst.
const SERVER_NODE_FLAGS = ['--max-semi-space-size=2'];
const apiPort = process.env.CRONIUM_PORT ?? '8080';
const apiHost = process.env.CRONIUM_HOST ?? '127.0.0.1';
const children = [
  spawn(process.execPath, [...SERVER_NODE_FLAGS, 'server/dist/main.js'], { cwd: root, stdio: 'inherit', env: process.env }),
  spawn(process.execPath, ['web/server.mjs'], {
    cwd: root,
    stdio: 'inherit',
    env: { CRONIUM_API_URL: `http://${apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost}:${apiPort}`, ...process.env },
  }),
];
let stopping = false;
const stop = (sig) => {
  stopping = true;
  for (const c of children) c.kill(sig);
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop(sig));
for (const c of children) {
  c.on('exit', (code, signal) => {
    // One part gone means the product is down: stop the other and report.
    if (!stopping) {
      console.error(`cronium: ${c.spawnargs[1]} exited (${code ?? signal}); stopping`);
      stop('SIGTERM');
    }
    if (children.every((x) => x.exitCode !== null || x.signalCode !== null)) process.exit(code ?? 1);
  });
}
