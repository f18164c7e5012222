// `node bench/drivers.mjs`: the docker and runc sandbox drivers side by side, in one run on this machine:
//   - warm p50 latency of a bash hello world (POST /api/v1/executions, wait: true, pool refilled before each),
//   - 100 bash hello worlds submitted at once with the pool on: executions/s and CPU-seconds per execution
//     (the whole machine's /proc/stat user+system+irq+softirq over the burst, divided by the executions).
// Env: BENCH_DRIVERS (docker,runc), BENCH_RUNS (30), BENCH_BURST (100), BENCH_POOL_SIZE (4), BENCH_CONCURRENCY (8),
// CRONIUM_IMAGE_* to use other runtime image tags. Needs root for the runc driver. Numbers only, never pass/fail.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const DRIVERS = (process.env.BENCH_DRIVERS ?? 'docker,runc').split(',');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const BURST = Number(process.env.BENCH_BURST ?? 100);
const POOL = Number(process.env.BENCH_POOL_SIZE ?? 4);
const sleep = (n) => new Promise((r) => setTimeout(r, n));
const log = (...a) => console.error('[bench]', ...a);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
const TICK = 100; // USER_HZ

function cpuTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, , system, , , irq, softirq] = f;
  return user + system + irq + softirq;
}

async function startServer(driver) {
  const env = {
    ...process.env,
    CRONIUM_SANDBOX_DRIVER: driver,
    CRONIUM_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-')),
    CRONIUM_PORT: '0',
    CRONIUM_RUNTIME_PORT: '0',
    CRONIUM_EGRESS_PORT: '0',
    CRONIUM_NODE_ID: `bench-${driver}-${crypto.randomBytes(3).toString('hex')}`,
    CRONIUM_ADMIN_KEY: `csk_bench_${crypto.randomBytes(16).toString('hex')}`,
    CRONIUM_LOG_LEVEL: 'warn',
    CRONIUM_MAX_QUEUE: '10000',
    CRONIUM_POOL_SIZE: String(POOL),
    CRONIUM_MAX_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '8',
    CRONIUM_MAX_CONCURRENCY_PER_USER: '1000',
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/src/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 90_000);
    proc.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) (clearTimeout(t), resolve(m[1]));
    });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}:\n${out}`)));
  });
  const api = async (method, p, body) => {
    const r = await fetch(url + p, { method, headers: { authorization: `Bearer ${env.CRONIUM_ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return r.json();
  };
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  return { api, stop };
}

async function poolReady(s, n = POOL) {
  for (let w = 0; w < 600; w++) {
    const h = await s.api('GET', '/health');
    if (h.pool?.ready?.bash >= n) return;
    await sleep(50);
  }
  throw new Error('the pool did not fill');
}

async function bench(driver) {
  const s = await startServer(driver);
  try {
    await poolReady(s);
    await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo hello', wait: true });
    const xs = [];
    let pooled = 0;
    for (let i = 0; i < RUNS; i++) {
      await poolReady(s);
      const t0 = performance.now();
      const e = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo hello', wait: true });
      xs.push(performance.now() - t0);
      if (e.status !== 'succeeded') throw new Error(`hello world ended ${e.status}: ${e.error}`);
      if (e.pooled) pooled++;
    }
    await poolReady(s);
    await sleep(1000);
    const c0 = cpuTicks();
    const t0 = Date.now();
    const accepted = await Promise.all(Array.from({ length: BURST }, () => s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo hello' })));
    const ids = new Set(accepted.map((a) => a.id));
    const done = new Map();
    while (done.size < ids.size) {
      const page = await s.api('GET', `/api/v1/executions?limit=200&status=succeeded,failed,error,timed_out,cancelled,oom_killed`);
      for (const e of page.items) if (ids.has(e.id)) done.set(e.id, e);
      if (done.size < ids.size) await sleep(100);
    }
    const wall = (Math.max(...[...done.values()].map((e) => Date.parse(e.finishedAt))) - t0) / 1000;
    const cpu = (cpuTicks() - c0) / TICK;
    const r = {
      driver,
      warmP50Ms: pct(xs, 50),
      warmP95Ms: pct(xs, 95),
      warmPooled: `${pooled}/${RUNS}`,
      burst: BURST,
      succeeded: [...done.values()].filter((e) => e.status === 'succeeded').length,
      burstPooled: [...done.values()].filter((e) => e.pooled).length,
      wallSeconds: Number(wall.toFixed(2)),
      perSecond: Number((BURST / wall).toFixed(2)),
      cpuSecondsPerExecution: Number((cpu / BURST).toFixed(3)),
    };
    log(JSON.stringify(r));
    return r;
  } finally {
    await s.stop();
  }
}

const results = [];
for (const d of DRIVERS) results.push(await bench(d));
console.log(`machine: ${os.cpus().length} cores; ${RUNS} warm runs, burst of ${BURST}, pool ${POOL}`);
console.table(results);
