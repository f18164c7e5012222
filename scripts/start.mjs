// `npm start`: makes this machine ready (Docker engine, TypeScript build, runtime images), then runs the server.
import { spawn } from 'node:child_process';
import { buildIfStale, hostSetup, root, run } from './lib.mjs';

hostSetup();
buildIfStale();
run('bash', ['runtime-images/build.sh']);

const server = spawn(process.execPath, ['server/dist/main.js'], { cwd: root, stdio: 'inherit', env: process.env });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
