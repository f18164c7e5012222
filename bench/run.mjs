// `npm run bench`: measures Cronium Sandbox on this machine against a baseline taken in the same run
// (a bare `docker run --rm` of the bash runtime image on the sandbox network), for each sandbox driver this
// machine can run (docker; runc and crun as root), and prints a table; writes bench/results/latest.json,
// latest.txt and latest.png. Numbers only, never pass/fail. BENCH_DRIVERS=docker,runc,crun picks drivers;
// DATABASE_URL runs the servers on PostgreSQL instead of the embedded PGlite. Then traffic on a new install's
// settings (BENCH_TRAFFIC=default,docker): BENCH_SEQUENTIAL back-to-back executions per language and steady
// rates (BENCH_RATES=2,5,10 per second, BENCH_STEADY_SECONDS=30 each), with the pooled share and p50/p95/p99.
// Then packages (BENCH_DEPENDENCIES=0 skips): first build, cached bundle and warm runs against a local index.
// Then files (BENCH_FILES=0 skips): a 50 MiB upload, 100 MiB of artifacts collected and downloaded, the two stores.
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForListening } from '../scripts/listening.mjs';

const exec = promisify(execFile);
const root = path.resolve(new URL('..', import.meta.url).pathname);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const BURST = Number(process.env.BENCH_BURST ?? 200);
const NETWORK = process.env.CRONIUM_SANDBOX_NETWORK ?? 'cronium-sandbox';
const LANGS = ['bash', 'python', 'node'];
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 100);
const RATES = (process.env.BENCH_RATES ?? '2,5,10').split(',').map(Number).filter((n) => n > 0);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 30);
const HELLO = { bash: 'echo hello', python: 'print("hello")', node: 'console.log("hello")' };

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const summary = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), p99: pct(xs, 99), min: Math.min(...xs), max: Math.max(...xs) });
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const sleep = (n) => new Promise((r) => setTimeout(r, n));
const log = (...a) => console.error('[bench]', ...a);

/**
 * The baseline runs on the sandbox network, which the server creates with its own settings at start: on a fresh
 * machine one server is started (and stopped) first, so that the network is made by the one code that makes it.
 */
async function ensureSandboxNetwork() {
  const exists = await exec('docker', ['network', 'inspect', NETWORK]).then(() => true, () => false);
  if (exists) return;
  log(`the sandbox network ${NETWORK} does not exist yet: a server creates it`);
  const server = await startServer({ CRONIUM_SANDBOX_DRIVER: 'docker', CRONIUM_POOL_SIZE: '0' });
  await server.stop();
}

async function baseline() {
  const args = ['run', '--rm', '--network', NETWORK, '--entrypoint', '/bin/true', 'cronium/runtime-bash:latest'];
  await exec('docker', args); // warm the page cache
  const xs = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await exec('docker', args);
    xs.push(ms(t0));
  }
  return summary(xs);
}

/** What Docker alone sustains here: bare `docker run --rm` of the bash image, `concurrency` at a time. */
async function baselineThroughput(total, concurrency) {
  const args = ['run', '--rm', '--network', NETWORK, '--entrypoint', '/bin/true', 'cronium/runtime-bash:latest'];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await exec('docker', args);
      }
    }),
  );
  return { runs: total, concurrency, perSecond: total / ((Date.now() - t0) / 1000) };
}

async function startServer(extraEnv) {
  const env = {
    ...process.env,
    CRONIUM_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-')),
    CRONIUM_PORT: '0',
    CRONIUM_RUNTIME_PORT: '0',
    CRONIUM_EGRESS_PORT: '0',
    CRONIUM_NODE_ID: `bench-${crypto.randomBytes(3).toString('hex')}`,
    CRONIUM_ADMIN_KEY: `csk_bench_${crypto.randomBytes(16).toString('hex')}`,
    CRONIUM_LOG_LEVEL: 'warn',
    CRONIUM_MAX_QUEUE: '10000',
    ...extraEnv,
  };
  const proc = spawn(process.execPath, ['--max-semi-space-size=2', path.join(root, 'server/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { url } = await waitForListening(proc, 'server', 90_000);
  const key = env.CRONIUM_ADMIN_KEY;
  const api = async (method, p, body) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json();
  };
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    fs.rmSync(env.CRONIUM_DATA_DIR, { recursive: true, force: true });
  };
  return { proc, url, key, api, stop };
}

async function latencies(server, { expectPooled, poolSize }) {
  const result = {};
  for (const language of LANGS) {
    const xs = [];
    let pooledCount = 0;
    await server.api('POST', '/api/v1/executions', { language, script: HELLO[language], wait: true }); // first run: page cache
    for (let i = 0; i < RUNS; i++) {
      if (expectPooled) {
        // Measure a warm start each time: wait until the pool has refilled.
        for (let w = 0; w < 200; w++) {
          const h = await server.api('GET', '/health');
          if (h.pool?.ready?.[language] >= poolSize) break;
          await sleep(50);
        }
      }
      const t0 = process.hrtime.bigint();
      const e = await server.api('POST', '/api/v1/executions', { language, script: HELLO[language], wait: true });
      xs.push(ms(t0));
      if (e.status !== 'succeeded') throw new Error(`${language} hello world ended ${e.status}: ${e.error}`);
      if (e.pooled) pooledCount++;
    }
    result[language] = { ...summary(xs), pooled: pooledCount };
    log(`${expectPooled ? 'warm' : 'cold'} ${language}: p50 ${result[language].p50.toFixed(0)} ms (${pooledCount}/${RUNS} pooled)`);
  }
  return result;
}

/** One execution's client-side round trip (request sent to answer received, `wait: true`) and whether it was pooled. */
async function timedRun(server, language) {
  const t0 = process.hrtime.bigint();
  const e = await server.api('POST', '/api/v1/executions', { language, script: HELLO[language], wait: true });
  const took = ms(t0);
  if (e.status !== 'succeeded') throw new Error(`${language} hello world ended ${e.status}: ${e.error ?? e.message}`);
  return { ms: took, pooled: Boolean(e.pooled) };
}

/** The pooled share and the latency of all runs and of the pooled ones alone. */
function traffic(runs) {
  const pooled = runs.filter((r) => r.pooled);
  return { ...summary(runs.map((r) => r.ms)), pooled: pooled.length, pooledShare: pooled.length / runs.length, warm: summary(pooled.map((r) => r.ms)) };
}

/**
 * Packages (issue 20), on a new install's settings with a local package index on loopback (the test fixture's:
 * requests, six and lodash as published, fetched once by scripts/fetch-test-packages.mjs): the first execution
 * with a set (resolve, download, install, byte-compile in a build sandbox), the second (the bundle reused), and
 * warm ones once the pool has learnt the bundle's key, each against the same runtime's warm hello world.
 */
const DEPENDENCY_CASES = [
  { name: 'python requests+six', body: { language: 'python', runtime: 'python@3.11', dependencies: { python: ['requests', 'six'] }, script: 'import requests, six\nprint(requests.__version__, six.__version__)' } },
  { name: 'node lodash', body: { language: 'node', dependencies: { node: ['lodash'] }, script: 'const _ = require("lodash");\nconsole.log(_.VERSION);' } },
];

async function dependencyRows() {
  // The fixture is TypeScript: loaded through tsx, which the server's workspace has.
  const { register } = await import('tsx/esm/api');
  register();
  const fixture = await import('../server/test/fixtures/package-index.ts');
  const index = await fixture.startPackageIndex();
  await fixture.addRealPackages(index);
  const server = await startServer({ CRONIUM_PIP_INDEX_URL: index.pipIndexUrl, CRONIUM_NPM_REGISTRY: index.npmRegistry });
  const once = async (body) => {
    const t0 = process.hrtime.bigint();
    const e = await server.api('POST', '/api/v1/executions', { ...body, wait: true });
    if (e.status !== 'succeeded') throw new Error(`${JSON.stringify(body.dependencies)} ended ${e.status}: ${e.error ?? e.message}`);
    return { ms: ms(t0), pooled: Boolean(e.pooled) };
  };
  const warmOf = async (body) => {
    const xs = [];
    for (let i = 0; xs.length < RUNS && i < RUNS * 4; i++) {
      await sleep(1000); // the pool's member for the next take is started and warm by then
      const r = await once(body);
      if (r.pooled) xs.push(r.ms);
    }
    return summary(xs);
  };
  try {
    const rows = {};
    for (const c of DEPENDENCY_CASES) {
      const { dependencies, ...hello } = { ...c.body, script: HELLO[c.body.language] };
      log(`dependencies: ${c.name} — first build, the cached bundle, then warm starts; hello world warm in the same runtime`);
      const first = await once(c.body);
      const cached = await once(c.body);
      const warm = await warmOf(c.body);
      const helloWarm = await warmOf(hello);
      rows[c.name] = { first: first.ms, cached: cached.ms, cachedPooled: cached.pooled, warm, helloWarm };
      log(`${c.name}: first ${first.ms.toFixed(0)} ms, cached ${cached.ms.toFixed(0)} ms, warm p50 ${warm.p50.toFixed(0)} ms (hello ${helloWarm.p50.toFixed(0)} ms)`);
    }
    return rows;
  } finally {
    await server.stop();
    await index.close();
  }
}

/**
 * Files (issue 26), BENCH_FILE_RUNS times each (3), medians: a 50 MiB file uploaded as multipart (until the 202:
 * every byte stored), 100 MiB of artifacts collected (an execution writing 100 MiB under out/ against the same
 * writing it to /tmp, which is not collected: the difference is the collection), and that artifact downloaded.
 * Then the file stores side by side (bench/file-stores.ts: disk, PostgreSQL large objects and, when moto is installed, an S3 bucket), where
 * PostgreSQL answers.
 */
async function fileRows() {
  const { register } = await import('tsx/esm/api');
  register();
  const { file, json, randomBody, sendForm } = await import('../server/test/upload-helpers.ts');
  const runs = Number(process.env.BENCH_FILE_RUNS ?? 3);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const server = await startServer({ CRONIUM_POOL_SIZE: '0', CRONIUM_TMPFS_MB: '200', CRONIUM_MAX_TMPFS_MB: '300' });
  try {
    const upload = [];
    const collected = [];
    const notCollected = [];
    const download = [];
    const write = (dir) => `mkdir -p ${dir}; head -c 100M /dev/zero > ${dir}/big.bin`;
    const timed = async (script) => {
      const t0 = process.hrtime.bigint();
      const e = await server.api('POST', '/api/v1/executions', { language: 'bash', script, wait: true, resources: { memoryMb: 512 } });
      if (e.status !== 'succeeded') throw new Error(`files: ${script} ended ${e.status}: ${e.error ?? e.message}`);
      return { ms: ms(t0), id: e.id };
    };
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = await sendForm(server.url, server.key, [json({ language: 'bash', script: 'true' }), file('in/big.bin', randomBody(50 * 1024 * 1024).body)]);
      if (r.status !== 202) throw new Error(`files: upload answered ${r.status} ${JSON.stringify(r.body)}`);
      upload.push(ms(t0));
      notCollected.push((await timed(write('/tmp/o'))).ms);
      const c = await timed(write('out'));
      collected.push(c.ms);
      const t1 = process.hrtime.bigint();
      const res = await fetch(`${server.url}/api/v1/executions/${c.id}/artifacts/big.bin`, { headers: { authorization: `Bearer ${server.key}` } });
      let n = 0;
      for await (const chunk of res.body) n += chunk.length;
      if (n !== 100 * 1024 * 1024) throw new Error(`files: downloaded ${n} bytes`);
      download.push(ms(t1));
    }
    const rows = { upload50: median(upload), run100Collected: median(collected), run100NotCollected: median(notCollected), download100: median(download), runs };
    rows.collect100 = rows.run100Collected - rows.run100NotCollected;
    log(`files: upload 50 MiB ${rows.upload50.toFixed(0)} ms, collect 100 MiB ${rows.collect100.toFixed(0)} ms, download 100 MiB ${rows.download100.toFixed(0)} ms`);
    const stores = await exec(process.execPath, ['--import', 'tsx', path.join(root, 'bench/file-stores.ts')], { cwd: path.join(root, 'server') }).then(
      (r) => r.stdout.trim().split('\n'),
      (err) => [`file stores not measured: ${String(err.stderr || err.message).trim().split('\n')[0]}`],
    );
    return { ...rows, stores };
  } finally {
    await server.stop();
  }
}

/** SEQUENTIAL back-to-back executions per language, each sent when the previous one answered (a loop of API calls). */
async function sequential(server) {
  const result = {};
  for (const language of LANGS) {
    const runs = [];
    for (let i = 0; i < SEQUENTIAL; i++) runs.push(await timedRun(server, language));
    result[language] = traffic(runs);
    log(`sequential ${language}: ${result[language].pooled}/${SEQUENTIAL} pooled, p50/p95/p99 ${result[language].p50.toFixed(0)}/${result[language].p95.toFixed(0)}/${result[language].p99.toFixed(0)} ms`);
  }
  return result;
}

/**
 * Executions arriving at a steady rate (open loop: each is sent on schedule whether or not earlier ones have
 * answered), RATES per second for STEADY_SECONDS each, per language.
 */
async function steady(server) {
  const result = {};
  for (const language of LANGS) {
    result[language] = {};
    for (const rate of RATES) {
      const n = Math.round(rate * STEADY_SECONDS);
      const start = Date.now();
      const pending = [];
      for (let i = 0; i < n; i++) {
        const due = start + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
        pending.push(timedRun(server, language));
      }
      const r = traffic(await Promise.all(pending));
      result[language][rate] = r;
      log(`steady ${rate}/s ${language}: ${r.pooled}/${n} pooled, p50/p95/p99 ${r.p50.toFixed(0)}/${r.p95.toFixed(0)}/${r.p99.toFixed(0)} ms`);
      await sleep(2000); // the pool settles between rates
    }
  }
  return result;
}

function cpuTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[2] + f[5] + f[6]; // user + system + irq + softirq, in USER_HZ (100/s)
}

function processTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}

/**
 * BURST hello worlds submitted at once, each request held open with `wait: true` (no polling: the client must
 * not add load of its own to the server it measures). Also the machine's and the server's CPU per execution.
 */
async function throughput(server) {
  // The peak during this burst alone: VmHWM counts from the server's start (the latency runs before it too), so
  // it is reset to the current RSS first (proc(5), clear_refs "5"); the lifetime peak is kept beside it.
  const status = () => {
    const st = fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
    return (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
  };
  const lifetimeBeforeKb = status()('VmHWM');
  fs.writeFileSync(`/proc/${server.proc.pid}/clear_refs`, '5');
  let peakKb = status()('VmHWM');
  // What the resident memory is made of at the highest RSS sampled (anonymous: V8's heap, PGlite's WebAssembly
  // memory, buffers; file: code and mapped files), to tell a heap that grew from anything else.
  let composition = { rssKb: 0, anonKb: 0, fileKb: 0, shmemKb: 0 };
  const sampler = setInterval(() => {
    try {
      const kb = status();
      peakKb = Math.max(peakKb, kb('VmHWM'));
      if (kb('VmRSS') > composition.rssKb) composition = { rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), fileKb: kb('RssFile'), shmemKb: kb('RssShmem') };
    } catch {
      /* gone */
    }
  }, 100);
  const c0 = cpuTicks();
  const s0 = processTicks(server.proc.pid);
  const t0 = Date.now();
  const done = await Promise.all(
    Array.from({ length: BURST }, () => server.api('POST', '/api/v1/executions', { language: 'bash', script: HELLO.bash, wait: true })),
  );
  const wall = (Math.max(...done.map((e) => Date.parse(e.finishedAt))) - t0) / 1000;
  const cpu = (cpuTicks() - c0) / 100;
  const serverCpu = (processTicks(server.proc.pid) - s0) / 100;
  clearInterval(sampler);
  const lat = done.map((e) => Date.parse(e.finishedAt) - Date.parse(e.createdAt));
  return {
    executions: BURST,
    succeeded: done.filter((e) => e.status === 'succeeded').length,
    pooled: done.filter((e) => e.pooled).length,
    wallSeconds: wall,
    perSecond: BURST / wall,
    latency: summary(lat),
    machineCpuSecondsPerExecution: cpu / BURST,
    serverCpuSecondsPerExecution: serverCpu / BURST,
    serverPeakRssMiB: peakKb / 1024,
    serverLifetimePeakRssMiB: Math.max(lifetimeBeforeKb, peakKb) / 1024,
    serverPeakSampledMiB: { rss: composition.rssKb / 1024, anon: composition.anonKb / 1024, file: composition.fileKb / 1024, shmem: composition.shmemKb / 1024 },
  };
}

async function chart(results, file) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    log('playwright-core is not installed: no PNG chart');
    return false;
  }
  if (!fs.existsSync('/usr/bin/chromium')) {
    log('/usr/bin/chromium is missing: no PNG chart');
    return false;
  }
  const bars = [['baseline docker run', results.baseline.p50, results.baseline.p95]];
  for (const [d, r] of Object.entries(results.drivers)) {
    for (const l of LANGS) bars.push([`${d} cold ${l}`, r.cold[l].p50, r.cold[l].p95]);
    for (const l of LANGS) bars.push([`${d} warm ${l}`, r.warm[l].p50, r.warm[l].p95]);
  }
  const max = Math.max(...bars.map((b) => b[2])) * 1.1;
  const rows = bars
    .map(([name, p50, p95], i) => {
      const y = 40 + i * 30;
      const color = name.startsWith('baseline') ? '#64748b' : name.includes(' cold ') ? '#2563eb' : '#16a34a';
      return `<text x="190" y="${y + 15}" text-anchor="end">${name}</text>
        <rect x="200" y="${y}" width="${(p95 / max) * 560}" height="20" fill="${color}" opacity="0.3"/>
        <rect x="200" y="${y}" width="${(p50 / max) * 560}" height="20" fill="${color}"/>
        <text x="${205 + (p95 / max) * 560}" y="${y + 15}">${p50.toFixed(0)} / ${p95.toFixed(0)} ms</text>`;
    })
    .join('');
  const tput = Object.entries(results.drivers)
    .map(([d, r], i) => `<text x="20" y="${70 + bars.length * 30 + i * 20}">${d}: ${r.throughput.perSecond.toFixed(1)} executions/s for ${r.throughput.executions} at once; p50/p95/p99 ${r.throughput.latency.p50}/${r.throughput.latency.p95}/${r.throughput.latency.p99} ms; ${r.throughput.machineCpuSecondsPerExecution.toFixed(2)} CPU-s each; server peak RSS ${r.throughput.serverPeakRssMiB.toFixed(0)} MiB</text>`)
    .join('');
  const height = 90 + bars.length * 30 + Object.keys(results.drivers).length * 20;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="980" height="${height}" font-family="sans-serif" font-size="13">
    <rect width="100%" height="100%" fill="white"/>
    <text x="20" y="24" font-size="16" font-weight="bold">Cronium Sandbox: hello world latency, p50 (solid) / p95 (light), ${results.machine}</text>
    ${rows}${tput}
  </svg>`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 980, height } });
  await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
  await page.screenshot({ path: file });
  await browser.close();
  return true;
}

/** The drivers this machine can run: docker always; runc and crun (the runc driver with crun) as root. */
function availableDrivers() {
  const has = (cmd) => process.env.PATH.split(':').some((d) => fs.existsSync(path.join(d, cmd)));
  const wanted = (process.env.BENCH_DRIVERS ?? 'docker,runc,crun').split(',').filter(Boolean);
  return wanted.filter((d) => {
    if (d === 'docker') return true;
    const ok = process.getuid?.() === 0 && has(d) && has('ip');
    if (!ok) log(`${d} driver left out: needs root, ${d} and iproute2`);
    return ok;
  });
}

const DRIVER_ENV = {
  docker: { CRONIUM_SANDBOX_DRIVER: 'docker' },
  runc: { CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: 'runc' },
  crun: { CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: 'crun' },
};

async function main() {
  if (!fs.existsSync(path.join(root, 'server/dist/main.js'))) throw new Error('build first: npm run build');
  const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    runs: RUNS,
    database: process.env.DATABASE_URL ? 'postgresql' : 'pglite',
    drivers: {},
  };
  await ensureSandboxNetwork();
  log(`baseline: docker run --rm --network ${NETWORK} cronium/runtime-bash true, ${RUNS} runs`);
  results.baseline = await baseline();
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
  log(`baseline throughput: ${Math.min(BURST, 60)} docker runs, ${concurrency} at a time`);
  results.baselineThroughput = await baselineThroughput(Math.min(BURST, 60), concurrency);

  const poolSize = Number(process.env.BENCH_POOL_SIZE ?? 4);
  for (const driver of availableDrivers()) {
    const r = {};
    log(`${driver}: cold starts (pool off)`);
    let server = await startServer({ ...DRIVER_ENV[driver], CRONIUM_POOL_SIZE: '0' });
    try {
      r.cold = await latencies(server, { expectPooled: false });
    } finally {
      await server.stop();
    }
    log(`${driver}: warm starts (pool of ${poolSize} per language)`);
    server = await startServer({ ...DRIVER_ENV[driver], CRONIUM_POOL_SIZE: String(poolSize), CRONIUM_MAX_CONCURRENCY: String(concurrency), CRONIUM_MAX_CONCURRENCY_PER_USER: '1000' });
    try {
      r.warm = await latencies(server, { expectPooled: true, poolSize });
      log(`${driver}: throughput, ${BURST} bash hello worlds submitted at once`);
      r.throughput = await throughput(server);
    } finally {
      await server.stop();
    }
    const b = results.baseline.p50;
    r.ratios = Object.fromEntries(LANGS.flatMap((l) => [[`cold_${l}_vs_baseline`, r.cold[l].p50 / b], [`warm_${l}_vs_baseline`, r.warm[l].p50 / b]]));
    results.drivers[driver] = r;
  }

  // Traffic as users send it, on the settings a new install has (the pool sized to demand; 'default' also leaves
  // the driver to the server's choice), and on the docker driver for comparison.
  results.traffic = {};
  for (const name of (process.env.BENCH_TRAFFIC ?? 'default,docker').split(',').filter(Boolean)) {
    if (name !== 'default' && !availableDrivers().includes(name)) continue;
    const server = await startServer(name === 'default' ? {} : DRIVER_ENV[name]);
    try {
      const health = await server.api('GET', '/health');
      const driver = health.sandboxRuntime?.driver?.chosen ?? health.sandboxRuntime?.runtime ?? '?';
      log(`traffic on ${name === 'default' ? 'the default settings' : `the ${name} driver`} (driver ${driver}): ${SEQUENTIAL} back-to-back per language, then ${RATES.join(', ')}/s for ${STEADY_SECONDS} s each`);
      const t = { driver, sequential: await sequential(server), steady: await steady(server) };
      t.pool = (await server.api('GET', '/health')).pool;
      results.traffic[name] = t;
    } finally {
      await server.stop();
    }
  }

  if (process.env.BENCH_DEPENDENCIES !== '0') results.dependencies = await dependencyRows();
  if (process.env.BENCH_FILES !== '0') results.files = await fileRows();

  const b = results.baseline.p50;
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0).padStart(7) : '      -');
  const lines = [
    '',
    `Cronium Sandbox benchmark — ${results.machine}, ${RUNS} runs each, database ${results.database}, ${results.date}`,
    '',
    'case                              p50 ms   p95 ms   p99 ms   p50 / baseline',
    `baseline docker run --rm         ${f(results.baseline.p50)}  ${f(results.baseline.p95)}  ${f(results.baseline.p99)}          1.00`,
  ];
  for (const [d, r] of Object.entries(results.drivers)) {
    for (const kind of ['cold', 'warm']) {
      for (const l of LANGS) {
        const x = r[kind][l];
        lines.push(`${`${d} ${kind} ${l}`.padEnd(32)} ${f(x.p50)}  ${f(x.p95)}  ${f(x.p99)}          ${(x.p50 / b).toFixed(2)}${kind === 'warm' ? `  (${x.pooled}/${RUNS} pooled)` : ''}`);
      }
    }
  }
  lines.push('', `throughput: ${BURST} bash hello worlds submitted at once (wait: true), pool ${poolSize} per language, ${concurrency} running at a time`);
  lines.push('driver   exec/s   p50 ms   p95 ms   p99 ms   CPU-s/exec (machine, server)   server peak RSS: burst (whole run)');
  for (const [d, r] of Object.entries(results.drivers)) {
    const t = r.throughput;
    lines.push(
      `${d.padEnd(7)} ${t.perSecond.toFixed(2).padStart(7)}  ${f(t.latency.p50)}  ${f(t.latency.p95)}  ${f(t.latency.p99)}   ${t.machineCpuSecondsPerExecution.toFixed(3)}, ${t.serverCpuSecondsPerExecution.toFixed(3)}`.padEnd(80) +
        `${t.serverPeakRssMiB.toFixed(0)} MiB (${t.serverLifetimePeakRssMiB.toFixed(0)})  (${t.succeeded}/${t.executions} succeeded, ${t.pooled} pooled)`,
    );
  }
  for (const [d, r] of Object.entries(results.drivers)) {
    const c = r.throughput.serverPeakSampledMiB;
    lines.push(`${d.padEnd(7)} highest RSS sampled (every 100 ms) ${c.rss.toFixed(0)} MiB: anonymous ${c.anon.toFixed(0)}, file ${c.file.toFixed(0)}, shared ${c.shmem.toFixed(0)}`);
  }
  for (const [name, t] of Object.entries(results.traffic)) {
    lines.push('', `traffic on ${name === 'default' ? 'the default settings' : `the ${name} driver, default pool`} (driver ${t.driver}): pooled share, latency of all runs, p95 of the pooled ones, p95 / baseline p50`);
    lines.push('case                         pooled   p50 ms   p95 ms   p99 ms   warm p95   p95 / baseline p50');
    const row = (label, r) =>
      `${label.padEnd(27)} ${`${(r.pooledShare * 100).toFixed(0)}%`.padStart(6)}  ${f(r.p50)}  ${f(r.p95)}  ${f(r.p99)}    ${f(r.warm.p95)}     ${(r.p95 / b).toFixed(2)}`;
    for (const l of LANGS) lines.push(row(`sequential ${l} x${t.sequential[l].n}`, t.sequential[l]));
    for (const l of LANGS) for (const [rate, r] of Object.entries(t.steady[l])) lines.push(row(`steady ${rate}/s ${l} x${r.n}`, r));
  }
  if (results.dependencies) {
    lines.push('', 'packages (default settings, local index): first build, the bundle cached, warm p50 (pooled runs) and its ratio to the same runtime\'s warm hello world');
    lines.push('case                     first ms   cached ms   warm p50   warm p95   hello warm p50   warm / hello');
    for (const [name, r] of Object.entries(results.dependencies)) {
      lines.push(
        `${name.padEnd(23)} ${f(r.first)}     ${f(r.cached)}${r.cachedPooled ? '*' : ' '}  ${f(r.warm.p50)}    ${f(r.warm.p95)}          ${f(r.helloWarm.p50)}        ${(r.warm.p50 / r.helloWarm.p50).toFixed(2)}  (${r.warm.n} warm runs)`,
      );
    }
    lines.push('(* the cached run was pooled already)');
  }
  if (results.files) {
    const r = results.files;
    lines.push('', `files (docker driver, no pool, medians of ${r.runs}): upload, collection of artifacts, download`);
    lines.push(`upload 50 MiB (multipart, until every byte is stored)   ${f(r.upload50)} ms   ${((50 * 1000) / r.upload50).toFixed(0)} MiB/s`);
    lines.push(`collect 100 MiB from out/ (run ${r.run100Collected.toFixed(0)} ms − same run writing /tmp ${r.run100NotCollected.toFixed(0)} ms)   ${f(r.collect100)} ms`);
    lines.push(`download 100 MiB                                        ${f(r.download100)} ms   ${((100 * 1000) / r.download100).toFixed(0)} MiB/s`);
    for (const l of r.stores) lines.push(l);
  }
  lines.push(
    `baseline throughput: bare docker run --rm, ${results.baselineThroughput.concurrency} at a time → ${results.baselineThroughput.perSecond.toFixed(2)} runs/s`,
    '',
  );
  console.log(lines.join('\n'));
  const dir = path.join(root, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(results, null, 2));
  fs.writeFileSync(path.join(dir, 'latest.txt'), lines.join('\n'));
  if (await chart(results, path.join(dir, 'latest.png'))) console.log(`chart: bench/results/latest.png`);
  console.log('json:  bench/results/latest.json');
}

main().catch((err) => {
  console.error('bench failed:', err);
  process.exit(1);
});
