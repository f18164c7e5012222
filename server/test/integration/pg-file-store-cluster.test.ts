import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { apiFor, freshPostgres, requireDocker, spawnServer, stdoutOf, testEnv, until } from '../helpers.js';
import { listKeys, motoPython, startMoto, type MotoServer } from '../moto-server.js';

const noMoto = motoPython() ? false : "moto's S3 server is not installed (scripts/host-setup.sh --test installs it)";
if (noMoto && process.env.CI === 'true') throw new Error(noMoto);

/**
 * CRONIUM_ARTIFACT_STORE=postgres, and =s3://… (a bucket of a moto started here): a file stored by one server is read by another. Server A takes the request and
 * stores its files while its only slot is held by a long execution, so the queued one can only be run by server B,
 * which has another data directory and reads the files from the shared database or bucket; A then serves the artifact
 * B collected.
 */
for (const kind of ['postgres', 's3'] as const) describe(`file store shared through ${kind === 'postgres' ? 'PostgreSQL' : 'an S3 bucket'}`, { timeout: 300_000, skip: kind === 's3' && noMoto }, () => {
  const procs: ChildProcess[] = [];
  let moto: MotoServer | null = null;
  after(async () => {
    procs.forEach((p) => p.kill('SIGKILL'));
    await moto?.stop();
  });

  it('an execution whose files server A stored runs on server B with the same bytes', async (t) => {
    await requireDocker();
    const url = await freshPostgres(t);
    if (!url) return;
    const adminKey = `csk_test_${crypto.randomBytes(16).toString('hex')}`;
    const shared = {
      DATABASE_URL: url,
      CRONIUM_ADMIN_KEY: adminKey,
      CRONIUM_ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
      CRONIUM_POOL_SIZE: '0',
    };
    let s3: Awaited<ReturnType<MotoServer['bucket']>> | undefined;
    if (kind === 's3') {
      moto = (await startMoto())!;
      s3 = await moto.bucket('cronium-cluster', 'shared/');
      Object.assign(shared, {
        CRONIUM_ARTIFACT_STORE: `s3://${s3.bucket}/shared`,
        CRONIUM_S3_ENDPOINT: s3.endpoint,
        CRONIUM_S3_ACCESS_KEY_ID: s3.accessKeyId,
        CRONIUM_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      });
    } else Object.assign(shared, { CRONIUM_ARTIFACT_STORE: 'postgres' });
    const envA = testEnv({ ...shared, CRONIUM_NODE_ID: 'store-a', CRONIUM_MAX_CONCURRENCY: '1', CRONIUM_MAX_CONCURRENCY_PER_USER: '1' });
    const a = await spawnServer(envA);
    procs.push(a.proc);
    const apiA = apiFor(a.url, adminKey);

    // A's one slot, held until the end of the test.
    const blocker = await apiA('POST', '/api/v1/executions', { language: 'bash', script: 'sleep 600', timeoutMs: 600_000 });
    assert.equal(blocker.status, 202, JSON.stringify(blocker.body));
    await until(async () => {
      const e = (await apiA('GET', `/api/v1/executions/${blocker.body.id}`)).body;
      return e.status === 'running' && e.nodeId === 'store-a';
    }, 60_000);

    // Over one of the store's 1 MiB chunks, with every byte value.
    const bin = crypto.randomBytes(1_300_000);
    const sha = crypto.createHash('sha256').update(bin).digest('hex');
    const stdin = 'through the database\n';
    const created = await apiA('POST', '/api/v1/executions', {
      language: 'bash',
      script: 'echo "sha=$(sha256sum data/blob.bin | cut -d" " -f1)"; echo "csv=$(cat data/orders.csv | wc -l)"; echo "stdin=$(cat)"; mkdir out; cp data/blob.bin out/copy.bin',
      files: [
        { path: 'data/blob.bin', content: bin.toString('base64'), encoding: 'base64' },
        { path: 'data/orders.csv', content: 'id,amount\n1,10\n2,32\n' },
      ],
      stdin,
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.body.id as string;

    // The bytes are in the database (or the bucket), not on A's disk.
    if (s3) {
      assert.deepEqual((await listKeys(s3, `shared/${id}/`)).sort(), [`shared/${id}/in/0`, `shared/${id}/in/1`, `shared/${id}/stdin`]);
    } else {
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const keys = (await db.query<{ key: string; size: string }>('select key, size from file_objects where key like $1 order by key', [`${id}/%`])).rows;
        assert.deepEqual(
          keys.map((k) => [k.key, Number(k.size)]),
          [
            [`${id}/in/0`, bin.length],
            [`${id}/in/1`, 20],
            [`${id}/stdin`, Buffer.byteLength(stdin)],
          ],
        );
      } finally {
        await db.end();
      }
    }
    assert.equal(fs.existsSync(path.join(envA.CRONIUM_DATA_DIR!, 'files')), false, 'nothing of it on the data directory');
    assert.equal((await apiA('GET', `/api/v1/executions/${id}`)).body.status, 'queued', 'A has no free slot');

    const envB = testEnv({ ...shared, CRONIUM_NODE_ID: 'store-b', CRONIUM_MAX_CONCURRENCY: '2', CRONIUM_MAX_CONCURRENCY_PER_USER: '2' });
    const b = await spawnServer(envB);
    procs.push(b.proc);
    const apiB = apiFor(b.url, adminKey);
    const done = await until(
      async () => {
        const e = (await apiB('GET', `/api/v1/executions/${id}`)).body;
        return !['queued', 'running'].includes(e.status) && e;
      },
      120_000,
      250,
    );
    const out = stdoutOf((await apiB('GET', `/api/v1/executions/${id}/logs`)).body.entries);
    assert.equal(done.status, 'succeeded', `${done.error ?? ''} ${out}`);
    assert.equal(done.nodeId, 'store-b');
    assert.match(out, new RegExp(`^sha=${sha}$`, 'm'));
    assert.match(out, /^csv=3$/m);
    assert.match(out, /^stdin=through the database$/m);
    assert.equal(fs.existsSync(path.join(envB.CRONIUM_DATA_DIR!, 'files')), false);

    // The artifact B collected is served by A, from the same database.
    assert.equal(done.artifactCount, 1);
    const fromA = await fetch(`${a.url}/api/v1/executions/${id}/artifacts/copy.bin`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(fromA.status, 200);
    assert.equal(crypto.createHash('sha256').update(Buffer.from(await fromA.arrayBuffer())).digest('hex'), sha, 'A serves the bytes B collected');
    const ranged = await fetch(`${a.url}/api/v1/executions/${id}/artifacts/copy.bin`, { headers: { authorization: `Bearer ${adminKey}`, range: 'bytes=1048570-1048579' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bin.subarray(1048570, 1048580), 'a range across the store’s 1 MiB chunks');
    const zip = await fetch(`${a.url}/api/v1/executions/${id}/artifacts.zip`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(zip.status, 200);
    assert.ok(Buffer.from(await zip.arrayBuffer()).includes(bin.subarray(0, 4096)), 'the zip holds the bytes (stored, not compressed)');

    await apiA('POST', `/api/v1/executions/${blocker.body.id}/cancel`);
  });
});
