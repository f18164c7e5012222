// `npm test`: prepares this machine (Docker engine, PostgreSQL, images), then runs every test in one
// node:test run so that one summary counts them all: unit tests, the SDKs' own tests, and the integration
// tests against real Docker containers and a real PostgreSQL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildIfStale, hostSetup, root, run } from './lib.mjs';

hostSetup(['--test']);
buildIfStale();
run('npx', ['tsc', '-p', 'server/tsconfig.json', '--noEmit']);
run('npm', ['run', 'typecheck', '-w', 'web']);
run('bash', ['runtime-images/build.sh']);
// The real packages the dependency tests serve from their local index (fetched once, then verified by hash).
run(process.execPath, ['scripts/fetch-test-packages.mjs']);

const list = (dir, re) =>
  fs.existsSync(path.join(root, dir))
    ? fs
        .readdirSync(path.join(root, dir))
        .filter((f) => re.test(f))
        .sort()
        .map((f) => path.join(dir, f))
    : [];

const only = process.argv.slice(2);
const files = only.length
  ? only
  : [
      ...list('server/test/unit', /\.test\.ts$/),
      ...list('sdk-node/test', /\.test\.mjs$/),
      ...list('sdk-bash/test', /\.test\.mjs$/),
      ...list('sdk-python/tests', /\.test\.mjs$/),
      ...list('web/test', /\.test\.ts$/),
      ...list('server/test/integration', /\.test\.ts$/),
    ];

// The tests' own temporary directories (a server's data directory holds an ~80 MB database copy): whatever a run
// made must be gone after it, or a test host fills its disk over a few hundred runs.
const tempDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((f) => /^cronium-(test|stdio|web)-/.test(f)));
const before = tempDirs();

console.log(`running ${files.length} test files`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_NO_WARNINGS: '1' },
});
const left = [...tempDirs()].filter((f) => !before.has(f));
if (left.length) {
  console.error(`test: ${left.length} temporary directories the tests made are still in ${os.tmpdir()}: ${left.slice(0, 10).join(', ')}`);
  process.exit(r.status || 1);
}
process.exit(r.status ?? 1);
