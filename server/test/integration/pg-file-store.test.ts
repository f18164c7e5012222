import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseDriver } from '../../src/db/driver.js';
import { openPostgres } from '../../src/db/postgres-driver.js';
import { DiskFileStore } from '../../src/files/disk-store.js';
import type { FileStore } from '../../src/files/store.js';
import { FileStoreError, PgLargeObjectFileStore } from '../../src/files/pg-large-object-store.js';
import { S3FileStore, S3StoreError } from '../../src/files/s3-store.js';
import { freshPostgres } from '../helpers.js';
import { listKeys, motoPython, startMoto, type MotoServer } from '../moto-server.js';

const MiB = 1024 * 1024;

async function* once(b: Buffer) {
  yield b;
}

async function bytesOf(s: Readable | null): Promise<Buffer> {
  assert.ok(s, 'the file is there');
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** `total` random bytes in 64 KiB chunks, made as they are read (never all in memory), hashed on the way. */
function generated(total: number) {
  const hash = crypto.createHash('sha256');
  async function* body() {
    for (let left = total; left > 0; ) {
      const c = crypto.randomBytes(Math.min(64 * 1024, left));
      hash.update(c);
      left -= c.length;
      yield c;
    }
  }
  return { body: body(), sha256: () => hash.digest('hex') };
}

/** The highest RSS seen while `fn` runs, sampled every 20 ms. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peak };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The FileStore contract, on PostgreSQL large objects (CRONIUM_ARTIFACT_STORE=postgres), on an S3-compatible store
 * (CRONIUM_ARTIFACT_STORE=s3://…, against moto's server, started here) and, for comparison, on the data directory's
 * disk; what only large objects have (objects unlinked, a reader told of a replacement) on the first only.
 */
const noMoto = motoPython() ? false : "moto's S3 server is not installed (scripts/host-setup.sh --test installs it)";
if (noMoto && process.env.CI === 'true') throw new Error(noMoto);
for (const kind of ['postgres', 's3', 'disk'] as const) describe(`the ${kind} file store`, { timeout: 300_000, skip: kind === 's3' && noMoto }, () => {
  const pgOnly = kind === 'postgres';
  let url: string | undefined;
  let db: DatabaseDriver | undefined;
  let dir: string | undefined;
  let moto: MotoServer | null = null;
  let s3: S3FileStore | undefined;
  let s3Config: Awaited<ReturnType<MotoServer['bucket']>> | undefined;
  let store: FileStore;
  // What is left behind: large objects and rows in PostgreSQL, objects in the bucket, files on disk.
  const objects = async () =>
    db
      ? Number((await db.pool!.query('select count(*)::int as n from pg_largeobject_metadata')).rows[0].n)
      : s3Config
        ? (await listKeys(s3Config)).length
        : fs.readdirSync(dir!, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  // And what is half made: rows of PostgreSQL's, multipart uploads not completed nor aborted in S3.
  const rows = async () =>
    db ? (await db.pool!.query<{ key: string }>('select key from file_objects order by key')).rows.map((r) => r.key) : s3 ? (await s3.uploadsUnder()).map((u) => u.key) : [];

  before(async () => {
    if (pgOnly) {
      url = (await freshPostgres())!;
      db = await openPostgres(url);
      await db.migrate();
      store = new PgLargeObjectFileStore(db.pool!);
    } else if (kind === 's3') {
      moto = (await startMoto())!;
      // Under a prefix, as a deployment sharing a bucket would be, so the store's keys are never the bucket's root.
      s3Config = await moto.bucket('cronium-files', 'cluster-a/');
      store = s3 = new S3FileStore(s3Config);
    } else {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-disk-store-'));
      store = new DiskFileStore(dir);
    }
  });
  after(async () => {
    await moto?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await db?.close();
    // 100 MiB of large objects: the database goes with the test.
    if (url) {
      const admin = new URL(url);
      const name = admin.pathname.slice(1);
      admin.pathname = '/postgres';
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`drop database if exists ${name}`);
      await c.end();
    }
  });

  it('round-trips a 100 MiB stream with its sha256, the RSS staying within 64 MiB of its baseline', async () => {
    const size = 100 * MiB;
    // Warm the pool and the code paths first, so the baseline is the store's idle figure, not a cold start.
    await store.put('warm/in/0', once(crypto.randomBytes(3 * MiB)));
    await bytesOf(await store.get('warm/in/0'));
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage.rss();

    const src = generated(size);
    const put = await peakRss(() => store.put('big/in/0', src.body));
    assert.deepEqual(put.value, { size, sha256: src.sha256() });

    const got = await peakRss(async () => {
      const hash = crypto.createHash('sha256');
      let n = 0;
      for await (const c of (await store.get('big/in/0'))!) {
        hash.update(c as Buffer);
        n += (c as Buffer).length;
      }
      return { n, sha256: hash.digest('hex') };
    });
    assert.deepEqual(got.value, { n: size, sha256: put.value.sha256 });
    const growth = (Math.max(put.peak, got.peak) - baseline) / MiB;
    console.log(`# ${kind}: RSS growth over a ${size / MiB} MiB put and get: put ${((put.peak - baseline) / MiB).toFixed(1)} MiB, get ${((got.peak - baseline) / MiB).toFixed(1)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB)`);
    assert.ok(growth < 64, `RSS grew ${growth.toFixed(1)} MiB`);
    await store.deletePrefix('big/');
    await store.deletePrefix('warm/');
  });

  it('serves ranges: the start, across a chunk boundary, the end, one byte; an end past the file stops at it', async () => {
    const data = crypto.randomBytes(3 * MiB + 17);
    await store.put('ranges/in/0', once(data));
    for (const [start, end] of [
      [0, 9],
      [MiB - 5, MiB + 5],
      [1000, 2 * MiB + 123],
      [data.length - 10, data.length - 1],
      [12_345, 12_345],
      [0, data.length - 1],
    ] as const) {
      assert.deepEqual(await bytesOf(await store.get('ranges/in/0', { start, end })), data.subarray(start, end + 1), `${start}-${end}`);
    }
    assert.deepEqual(await bytesOf(await store.get('ranges/in/0', { start: data.length - 3, end: data.length + 100 })), data.subarray(data.length - 3));
    assert.deepEqual(await bytesOf(await store.get('ranges/in/0')), data);
  });

  it('stores an empty file, and many small chunks as one', async () => {
    assert.deepEqual(await store.put('empty/in/0', once(Buffer.alloc(0))), { size: 0, sha256: crypto.createHash('sha256').digest('hex') });
    assert.equal((await bytesOf(await store.get('empty/in/0'))).length, 0);
    const parts = Array.from({ length: 5000 }, () => crypto.randomBytes(700));
    const all = Buffer.concat(parts);
    const put = await store.put(
      'small/in/0',
      (async function* () {
        yield* parts;
      })(),
    );
    assert.deepEqual(put, { size: all.length, sha256: crypto.createHash('sha256').update(all).digest('hex') });
    assert.deepEqual(await bytesOf(await store.get('small/in/0')), all);
  });

  it('a missing key is null', async () => {
    assert.equal(await store.get('nothing/in/0'), null);
    assert.equal(await store.get('nothing/in/0', { start: 0, end: 10 }), null);
  });

  it('a put replaces the file whole and unlinks the object it replaced', async () => {
    await store.put('replace/in/0', once(Buffer.from('first version')));
    const before = await objects();
    const second = crypto.randomBytes(2 * MiB + 1);
    await store.put('replace/in/0', once(second));
    assert.deepEqual(await bytesOf(await store.get('replace/in/0')), second);
    assert.equal(await objects(), before, 'the old object is gone, the new one took its place');
  });

  it('concurrent puts of one key leave one whole file and no orphaned object', async () => {
    const before = await objects();
    const versions = Array.from({ length: 6 }, () => crypto.randomBytes(MiB + 333));
    await Promise.all(versions.map((v) => store.put('race/in/0', once(v))));
    const got = await bytesOf(await store.get('race/in/0'));
    assert.ok(
      versions.some((v) => v.equals(got)),
      'the file is one of the versions, whole',
    );
    assert.equal(await objects(), before + 1);
  });

  it('concurrent puts of different keys each keep their own bytes', async () => {
    const files = Array.from({ length: 8 }, (_, i) => ({ key: `conc${i}/in/0`, data: crypto.randomBytes(2 * MiB + i * 1000) }));
    const puts = await Promise.all(files.map((f) => store.put(f.key, once(f.data))));
    for (const [i, f] of files.entries()) {
      assert.equal(puts[i]!.sha256, crypto.createHash('sha256').update(f.data).digest('hex'));
      assert.deepEqual(await bytesOf(await store.get(f.key)), f.data);
    }
  });

  it('deletePrefix removes a whole execution and unlinks its objects, nothing that only looks alike', async () => {
    for (const key of ['x_y/in/0', 'x_y/in/1', 'x_y/stdin', 'xzy/in/0', 'x_yz/in/0']) await store.put(key, once(crypto.randomBytes(5000)));
    const before = await objects();
    await store.deletePrefix('x_y/');
    assert.equal(await store.get('x_y/in/0'), null);
    assert.equal(await store.get('x_y/stdin'), null);
    assert.ok(await store.get('xzy/in/0'), '_ is not a wildcard');
    assert.ok(await store.get('x_yz/in/0'), 'a longer id is another execution');
    assert.equal(await objects(), before - 3);
  });

  it('a put whose stream fails leaves no row and no object', async () => {
    const before = { objects: await objects(), rows: await rows() };
    await assert.rejects(
      store.put(
        'broken/in/0',
        (async function* () {
          // Past one S3 part (8 MiB): the multipart upload it started must be aborted.
          for (let i = 0; i < 3; i++) yield crypto.randomBytes(3 * MiB);
          throw new Error('upload cut');
        })(),
      ),
      /upload cut/,
    );
    assert.deepEqual({ objects: await objects(), rows: await rows() }, before);
    assert.equal(await store.get('broken/in/0'), null);
  });

  it(
    pgOnly ? 'a reader whose file is replaced under it gets an error, never a mix of two files' : 'a reader whose file is replaced under it reads the old file whole',
    async () => {
      const old = crypto.randomBytes(4 * MiB);
      await store.put('swap/in/0', once(old));
      const s = (await store.get('swap/in/0'))!;
      const it = s[Symbol.asyncIterator]();
      const parts: Buffer[] = [(await it.next()).value as Buffer];
      await store.put('swap/in/0', once(crypto.randomBytes(4 * MiB)));
      const rest = (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value as Buffer);
      })();
      if (pgOnly) await assert.rejects(rest, (err: unknown) => err instanceof FileStoreError && err.code === 'FILE_GONE_WHILE_READ');
      else {
        await rest;
        assert.ok(Buffer.concat(parts).equals(old), 'the file it opened, whole');
      }
    },
  );

  // What only S3 has: the check at start, listings in pages, and multipart uploads that deletePrefix aborts.
  if (kind === 's3') {
    it('check() passes on the bucket, and names a missing bucket or an endpoint nobody answers at', async () => {
      await s3!.check();
      await assert.rejects(new S3FileStore({ ...s3Config!, bucket: 'no-such-bucket' }).check(), (err: unknown) => err instanceof S3StoreError && err.code === 'S3_NO_BUCKET' && /the bucket no-such-bucket does not exist/.test(err.message));
      const closed = await new Promise<number>((resolve) => {
        const srv = net.createServer().listen(0, '127.0.0.1', () => {
          const port = (srv.address() as net.AddressInfo).port;
          srv.close(() => resolve(port));
        });
      });
      await assert.rejects(new S3FileStore({ ...s3Config!, endpoint: `http://127.0.0.1:${closed}` }).check(), (err: unknown) => err instanceof S3StoreError && err.code === 'S3_UNREACHABLE' && /ECONNREFUSED/.test(err.message));
    });

    it('deletePrefix pages through listings and deletes (pages of 3 keys here, 1000 in use)', async () => {
      const paged = new S3FileStore(s3Config!, 3);
      const keys = Array.from({ length: 10 }, (_, i) => `paged/in/${i}`);
      for (const key of keys) await paged.put(key, once(Buffer.from(key)));
      await paged.put('paged2/in/0', once(Buffer.from('another execution')));
      await paged.deletePrefix('paged/');
      for (const key of keys) assert.equal(await paged.get(key), null, key);
      assert.ok(await paged.get('paged2/in/0'));
      assert.deepEqual(await listKeys(s3Config!, 'cluster-a/paged'), ['cluster-a/paged2/in/0']);
    });

    it('deletePrefix aborts an upload in flight under it: the put fails and the file does not come back', async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let sent!: () => void;
      const partSent = new Promise<void>((r) => (sent = r));
      const put = store.put(
        'inflight/in/0',
        (async function* () {
          for (let i = 0; i < 3; i++) yield crypto.randomBytes(3 * MiB);
          sent();
          await held;
          for (let i = 0; i < 3; i++) yield crypto.randomBytes(3 * MiB);
        })(),
      );
      put.catch(() => undefined);
      await partSent;
      assert.equal((await s3!.uploadsUnder()).length, 1, 'the multipart upload is open');
      await store.deletePrefix('inflight/');
      release();
      await assert.rejects(put, /S3/);
      assert.equal(await store.get('inflight/in/0'), null);
      assert.deepEqual(await s3!.uploadsUnder(), []);
    });
  }

  it('refuses a key that is not the server’s', async () => {
    await assert.rejects(store.put('../etc/passwd', once(Buffer.from('x'))), /not a file store key/);
    await assert.rejects(store.get('a/../b'), /not a file store key/);
    await assert.rejects(store.deletePrefix('/'), /not a file store key/);
  });
});
