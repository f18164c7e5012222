'use strict';
// Cronium's pre-started Node (the "zygote"), run by cronium-launch in a sandbox waiting for its job:
//   env -i PATH=... HOME=/work LANG=C.UTF-8 node /usr/local/lib/cronium/node/zygote.cjs 3<job pipe
// Node's start-up (~170 ms on a busy host) happens before the job arrives. When it does, fd 3 carries
// NUL-separated: argc, argv..., envc, K=V... (the exact environment of a cold start, written by the launcher,
// which only uses this process when nothing in that environment is read at start-up: see zygote.sh). The
// script then runs as `node /work/main.cjs` would: the same process.env and process.argv, the proxy preload
// NODE_OPTIONS names, and Node's own main-module entry (require.main, ES modules by extension, exit code).
// EOF without a job: exit 0.
const fs = require('fs');
const Module = require('module');

const PRELOAD = '--require=/usr/local/lib/cronium/node/proxy-preload.cjs';

// Made now rather than at the script's first write (~5 ms for a pipe): the same streams on the same
// descriptors as a cold start's, only created earlier.
void process.stdout;
void process.stderr;
// Loaded: tell the launcher (PID 1), which writes the ready mark if the server asked for one (cronium-launch).
if (process.ppid === 1) process.kill(1, 'SIGUSR1');
const chunks = [];
const buf = Buffer.alloc(65536);
for (;;) {
  const n = fs.readSync(3, buf, 0, buf.length, null);
  if (n === 0) break;
  chunks.push(Buffer.from(buf.subarray(0, n)));
}
fs.closeSync(3);
const raw = Buffer.concat(chunks);
if (raw.length === 0) process.exit(0);
const fields = raw.toString('utf8').split('\0');
const argc = Number(fields[0]);
const argv = fields.slice(1, 1 + argc);
const envc = Number(fields[1 + argc]);
for (const k of Object.keys(process.env)) delete process.env[k];
for (const kv of fields.slice(2 + argc, 2 + argc + envc)) {
  const i = kv.indexOf('=');
  process.env[kv.slice(0, i)] = kv.slice(i + 1);
}
process.argv = [process.execPath, ...argv.slice(1)];
if (process.env.NODE_OPTIONS === PRELOAD) require(PRELOAD.slice('--require='.length));
// A script that ends by running out of work makes Node tear its whole heap down after the 'exit' event
// (~6 ms); process.exit() at that point does what that end does (the 'exit' event, process.exitCode) and
// skips the teardown. Only when no listener of the script's own might schedule more work on 'beforeExit'
// (this one, registered first, runs first). The one trace: process.listenerCount('beforeExit') counts it.
process.on('beforeExit', () => {
  if (process.listenerCount('beforeExit') === 1) process.exit();
});
Module.runMain();
