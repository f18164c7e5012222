import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import * as schema from './schema.js';
import { type DatabaseDriver, type Db, migrationsFolder } from './driver.js';

/**
 * PGlite's defaults size shared_buffers for a database server (128 MB); an embedded queue needs far less, and
 * the server's resident memory is one of our targets.
 */
const startParams = [...((PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? []), '-c', 'shared_buffers=16MB'];

/**
 * initdb inside PGlite leaves its WebAssembly memory grown to ~750 MB for the life of the process, so a new
 * data directory is initialised in a short-lived child process and only opened here.
 */
async function initInChild(dir: string): Promise<void> {
  const url = import.meta.resolve('@electric-sql/pglite');
  const code = `const { PGlite } = await import(${JSON.stringify(url)}); const c = await PGlite.create(${JSON.stringify(dir)}); await c.close();`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code], { timeout: 120_000 });
}

/**
 * V8 compiles WebAssembly twice: a quick baseline (Liftoff) and, for hot functions, optimised code (TurboFan)
 * that it keeps beside it. For PGlite's 9 MB Postgres module that second copy costs ~50-70 MB of resident
 * memory and a core's worth of background compiling at start, for no difference measured on this server's
 * short queries (0.6-0.8 ms for an insert or a keyed select either way, 2,000 of each). Must be set before the
 * module is compiled.
 */
function baselineWasmOnly(): void {
  v8.setFlagsFromString('--liftoff-only');
}

export async function openPglite(dataDir: string): Promise<DatabaseDriver> {
  baselineWasmOnly();
  const dir = path.join(dataDir, 'pgdata');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await initInChild(dir);
  const client = await PGlite.create(dir, { startParams });
  const db = drizzle(client, { schema });
  return {
    kind: 'pglite',
    db: db as unknown as Db,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}
