// The file stores side by side (issue 26): put and get of one 100 MiB file, BENCH_FILE_RUNS times each (3), on the
// data directory's disk, in PostgreSQL large objects and, when moto's S3 server is installed (scripts/host-setup.sh
// --test), in an S3 bucket of a moto started here, printed as medians in MiB/s. Run from the repo:
//   node --import tsx bench/file-stores.ts
// PostgreSQL from CRONIUM_TEST_POSTGRES_URL (default postgres://cronium:cronium@127.0.0.1:5432/postgres): a fresh
// database is made and dropped. BENCH_FILE_MIB sets the size. Numbers only, never pass/fail.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openPostgres } from '../server/src/db/postgres-driver.js';
import { DiskFileStore } from '../server/src/files/disk-store.js';
import { PgLargeObjectFileStore } from '../server/src/files/pg-large-object-store.js';
import { S3FileStore } from '../server/src/files/s3-store.js';
import type { FileStore } from '../server/src/files/store.js';
import { startMoto } from '../server/test/moto-server.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 100);
const RUNS = Number(process.env.BENCH_FILE_RUNS ?? 3);
const admin = process.env.CRONIUM_TEST_POSTGRES_URL ?? 'postgres://cronium:cronium@127.0.0.1:5432/postgres';

// One random MiB sent SIZE_MIB times: the generator costs nothing, so the figures are the store's.
const block = crypto.randomBytes(MiB);
async function* body() {
  for (let i = 0; i < SIZE_MIB; i++) yield block;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(name: string, store: FileStore) {
  const put: number[] = [];
  const get: number[] = [];
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const base = process.memoryUsage.rss();
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    await store.put(`bench${i}/in/0`, body());
    put.push(performance.now() - t);
    t = performance.now();
    let n = 0;
    for await (const c of (await store.get(`bench${i}/in/0`))!) n += (c as Buffer).length;
    get.push(performance.now() - t);
    if (n !== SIZE_MIB * MiB) throw new Error(`${name}: read ${n} bytes`);
    await store.deletePrefix(`bench${i}/`);
  }
  clearInterval(timer);
  const row = (ms: number) => `${ms.toFixed(0).padStart(6)} ms ${((SIZE_MIB * 1000) / ms).toFixed(0).padStart(5)} MiB/s`;
  console.log(`${name.padEnd(10)} put ${row(median(put))}   get ${row(median(get))}   RSS +${((peak - base) / MiB).toFixed(0)} MiB`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-bench-files-'));
const dbName = `cronium_bench_${crypto.randomBytes(4).toString('hex')}`;
const c = new pg.Client({ connectionString: admin });
await c.connect();
await c.query(`create database ${dbName}`);
const url = new URL(admin);
url.pathname = `/${dbName}`;
const db = await openPostgres(url.toString());
try {
  await db.migrate();
  console.log(`file stores: put and get of ${SIZE_MIB} MiB, median of ${RUNS} (${os.cpus().length} cores)`);
  await measure('disk', new DiskFileStore(dir));
  await measure('postgres', new PgLargeObjectFileStore(db.pool!));
  // moto keeps objects in its own process's memory and files: its figures are an S3 round trip on loopback, not AWS's.
  const moto = await startMoto().catch((err: Error) => (console.log(`s3         not measured: ${err.message}`), undefined));
  if (moto) {
    try {
      await measure('s3 (moto)', new S3FileStore(await moto.bucket('cronium-bench')));
    } finally {
      await moto.stop();
    }
  } else if (moto === null) console.log("s3         not measured: moto's S3 server is not installed (scripts/host-setup.sh --test)");
} finally {
  await db.close();
  await c.query(`drop database ${dbName}`);
  await c.end();
  fs.rmSync(dir, { recursive: true, force: true });
}
