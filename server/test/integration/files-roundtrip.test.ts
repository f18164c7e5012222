import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiFor, freshPostgres, logsOf, requireDocker, spawnServer, stdoutOf, testEnv, until, type Api } from '../helpers.js';
import { file, idleRss, json, peakRssDuring, randomBody, sendForm } from '../upload-helpers.js';

/**
 * Issue 26's round trip: a 50 MiB binary file in (multipart), a 100 MiB artifact out (collected from the sandbox,
 * then downloaded), with the server's resident memory staying within 64 MiB of its own idle figure throughout,
 * measured from /proc on a server process of its own.
 */
const MiB = 1024 * 1024;

describe('files round trip: 50 MiB in, 100 MiB artifact out, bounded server memory', { timeout: 300_000 }, () => {
  let proc: ChildProcess | undefined;
  let api: Api;
  let url: string;
  let key: string;

  before(async () => {
    await requireDocker();
    const dbUrl = (await freshPostgres())!;
    // /work: 50 MiB in plus 100 MiB out, with room to spare.
    const env = testEnv({ DATABASE_URL: dbUrl, CRONIUM_POOL_SIZE: '0', CRONIUM_TMPFS_MB: '180', CRONIUM_MAX_TMPFS_MB: '256' });
    key = env.CRONIUM_ADMIN_KEY!;
    const started = await spawnServer(env);
    proc = started.proc;
    url = started.url;
    api = apiFor(url, key);
  });
  after(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it('the script gets the 50 MiB file and leaves 100 MiB under out/; upload, collection and download stay within 64 MiB of idle RSS', async () => {
    const warm = await sendForm(url, key, [json({ language: 'bash', script: 'mkdir out; cat a.txt > out/a.txt', wait: true }), file('a.txt', 'warm')]);
    assert.equal(warm.body?.status, 'succeeded', JSON.stringify(warm.body));
    await fetch(`${url}/api/v1/executions/${warm.body.id}/artifacts/a.txt`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer());
    const idle = await idleRss(proc!.pid!);
    console.log(`# idle RSS: ${(idle.median / MiB).toFixed(1)} MiB (${(idle.min / MiB).toFixed(1)}–${(idle.max / MiB).toFixed(1)})`);

    const big = randomBody(50 * MiB);
    const script = ['set -e', 'mkdir -p out', 'cat in/big.bin in/big.bin > out/double.bin', 'echo "in=$(sha256sum in/big.bin | cut -d" " -f1)"', 'echo "out=$(sha256sum out/double.bin | cut -d" " -f1)"'].join('\n');
    const t0 = Date.now();
    const upload = await peakRssDuring(proc!.pid!, () => sendForm(url, key, [json({ language: 'bash', script, resources: { memoryMb: 512 }, timeoutMs: 120_000 }), file('in/big.bin', big.body)]));
    const uploadMs = Date.now() - t0;
    assert.equal(upload.result.status, 202, JSON.stringify(upload.result.body));
    const id = upload.result.body.id as string;
    const t1 = Date.now();
    const run = await peakRssDuring(proc!.pid!, () => until(async () => ((await api('GET', `/api/v1/executions/${id}`)).body.finishedAt ? true : null), 180_000, 50));
    const runMs = Date.now() - t1;
    const ex = (await api('GET', `/api/v1/executions/${id}`)).body;
    const logs = await logsOf(api, id);
    const out = stdoutOf(logs);
    assert.equal(ex.status, 'succeeded', JSON.stringify(logs));
    assert.match(out, new RegExp(`^in=${big.sha256()}$`, 'm'));
    const outSha = /^out=([0-9a-f]{64})$/m.exec(out)![1]!;
    assert.equal(ex.artifactCount, 1);
    assert.equal(ex.artifactsTruncated, false);

    const t2 = Date.now();
    const download = await peakRssDuring(proc!.pid!, async () => {
      const res = await fetch(`${url}/api/v1/executions/${id}/artifacts/double.bin`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      const hash = crypto.createHash('sha256');
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { size, sha: hash.digest('hex') };
    });
    const downloadMs = Date.now() - t2;
    assert.equal(download.result.size, 100 * MiB);
    assert.equal(download.result.sha, outSha, 'the downloaded bytes are the script’s');

    for (const [phase, m, ms] of [['upload 50 MiB', upload, uploadMs], ['run + collect 100 MiB', run, runMs], ['download 100 MiB', download, downloadMs]] as const) {
      const grew = m.peak - idle.median;
      console.log(`# ${phase}: ${ms} ms, peak RSS ${(m.peak / MiB).toFixed(1)} MiB, ${(grew / MiB).toFixed(1)} MiB above idle (${m.samples} samples)`);
      assert.ok(grew <= 64 * MiB, `${phase}: RSS grew by ${(grew / MiB).toFixed(1)} MiB (peak ${(m.peak / MiB).toFixed(1)}, idle ${(idle.median / MiB).toFixed(1)})`);
    }
  });
});
