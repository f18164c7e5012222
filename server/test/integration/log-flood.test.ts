import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Api, apiFor, driverEnv, requireDocker, spawnServer, testDrivers, testEnv } from '../helpers.js';

/**
 * Defect 1 of issue 16: output without a newline must not take the server down. The server runs as its own
 * process so that its resident memory can be read from /proc; both bounds are measured against the same server's
 * idle figure, taken just before (the one place a time bound is asserted: /health must keep answering).
 */
const MAX_LINE = 65_536;
const MAX_LOG = 1024 * 1024;
const RSS_SLACK_KB = 64 * 1024;
const HEALTH_MS = 1000;

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Flood {
  status: string;
  peakRssKb: number;
  idleRssKb: number;
  slowestHealthMs: number;
  healthChecks: number;
  seconds: number;
}

/** Runs `script`, sampling the server's RSS every 100 ms and timing /health every 250 ms until the run ends. */
async function flood(api: Api, healthUrl: string, pid: number, script: string): Promise<Flood & { id: string }> {
  const idle: number[] = [];
  for (let i = 0; i < 10; i++) {
    idle.push(rssKb(pid));
    await sleep(100);
  }
  const idleRssKb = idle.sort((a, b) => a - b)[idle.length >> 1]!;
  const t0 = Date.now();
  const created = await api('POST', '/api/v1/executions', { language: 'bash', script, timeoutMs: 300_000 });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id = created.body.id as string;
  let peakRssKb = idleRssKb;
  let slowestHealthMs = 0;
  let healthChecks = 0;
  let ended = false;
  const sampler = setInterval(() => (peakRssKb = Math.max(peakRssKb, rssKb(pid))), 100);
  const prober = (async () => {
    while (!ended) {
      const t = Date.now();
      // A probe that fails (refused, reset, timed out) counts as never answered.
      const ok = await fetch(healthUrl, { signal: AbortSignal.timeout(30_000) })
        .then((r) => r.arrayBuffer().then(() => true))
        .catch(() => false);
      slowestHealthMs = Math.max(slowestHealthMs, ok ? Date.now() - t : Infinity);
      healthChecks++;
      await sleep(250);
    }
  })();
  let status = 'running';
  try {
    const deadline = Date.now() + 280_000;
    while (Date.now() < deadline) {
      const r = await api('GET', `/api/v1/executions/${id}`).catch(() => null);
      if (r && !['queued', 'running'].includes(r.body.status)) {
        status = r.body.status;
        break;
      }
      await sleep(500);
    }
  } finally {
    ended = true;
    clearInterval(sampler);
    await prober;
  }
  return { id, status, idleRssKb, peakRssKb, slowestHealthMs, healthChecks, seconds: (Date.now() - t0) / 1000 };
}

for (const driver of testDrivers(['docker', 'crun'])) {
  describe(`output without newlines (${driver} driver)`, { concurrency: false }, () => {
    let proc: ChildProcess | undefined;
    let api: Api;
    let healthUrl: string;

    before(async () => {
      await requireDocker();
      const env = testEnv({ ...driverEnv(driver), CRONIUM_POOL_SIZE: '0', CRONIUM_MAX_LOG_BYTES: String(MAX_LOG) });
      const started = await spawnServer(env);
      proc = started.proc;
      api = apiFor(started.url, env.CRONIUM_ADMIN_KEY!);
      healthUrl = `${started.url}/health`;
      // Warm up: the code paths a flood takes, once at a size that does not matter (a full log of long lines, a
      // 64 MiB flood), so the idle figure is the settled server's and not its first executions' one-time growth
      // (the heap's young generation, the database's buffers); a leak would still grow with the flood's size.
      for (const script of ['echo warm', 'head -c 4194304 /dev/zero | tr "\\0" W; echo', 'head -c 67108864 /dev/zero | tr "\\0" W']) {
        const r = await api('POST', '/api/v1/executions', { language: 'bash', script, wait: true });
        assert.equal(r.body.status, 'succeeded', JSON.stringify(r.body));
      }
    });
    after(async () => {
      if (!proc || proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    });

    const check = async (script: string, label: string) => {
      const f = await flood(api, healthUrl, proc!.pid!, script);
      const grew = (f.peakRssKb - f.idleRssKb) / 1024;
      console.log(
        `# ${driver} ${label}: ${f.status} in ${f.seconds.toFixed(1)} s; RSS idle ${(f.idleRssKb / 1024).toFixed(0)} MiB, peak +${grew.toFixed(1)} MiB; slowest /health ${f.slowestHealthMs} ms of ${f.healthChecks}`,
      );
      assert.equal(f.status, 'succeeded', `the execution did not finish (${f.status})`);
      assert.ok(f.peakRssKb - f.idleRssKb <= RSS_SLACK_KB, `the server grew by ${grew.toFixed(1)} MiB (at most 64 MiB allowed)`);
      assert.ok(f.slowestHealthMs < HEALTH_MS, `/health took ${f.slowestHealthMs} ms (under ${HEALTH_MS} ms required)`);
      const logs = await api('GET', `/api/v1/executions/${f.id}/logs`);
      assert.equal(logs.body.truncated, true);
      const entries = logs.body.entries as { stream: string; text: string; continued: boolean }[];
      const out = entries.filter((e) => e.stream === 'stdout');
      assert.ok(out.length >= 2, `expected the line cut into several entries, got ${out.length}`);
      assert.equal(out[0]!.continued, false);
      for (const e of out.slice(1)) assert.equal(e.continued, true);
      for (const e of out) assert.ok(Buffer.byteLength(e.text) <= MAX_LINE, `an entry of ${Buffer.byteLength(e.text)} bytes`);
      assert.match(entries.at(-1)!.text, /log truncated/);
    };

    it('a 512 MiB line keeps the server small and answering, and the execution finishes', async () => {
      await check("head -c 536870912 /dev/zero | tr '\\0' 'A'; echo", '512 MiB line');
    });

    it('a 1 GiB stream without any newline keeps the server small and answering, and the execution finishes', async () => {
      await check("head -c 1073741824 /dev/zero | tr '\\0' 'B'", '1 GiB without newline');
    });
  });
}
