import type { Pool } from 'pg';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A database the server can run on: the embedded PGlite by default, PostgreSQL when DATABASE_URL is set. */
export interface DatabaseDriver {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /** PostgreSQL only: the pool behind `db`, for what drizzle does not speak (large objects, files/pg-large-object-store.ts). */
  readonly pool?: Pool;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = new URL('../../drizzle', import.meta.url).pathname;
