import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from './schema.js';
import { type DatabaseDriver, type Db, migrationsFolder } from './driver.js';

export async function openPostgres(url: string): Promise<DatabaseDriver> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // Fail at start, with the reason, rather than at the first request.
  const probe = await pool.connect();
  probe.release();
  const db = drizzle(pool, { schema });
  return {
    kind: 'postgres',
    db: db as unknown as Db,
    pool,
    // Several servers may start at once against one database: serialise their migrations.
    migrate: async () => {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock(727001)');
        await migrate(drizzle(client, { schema }), { migrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock(727001)').catch(() => undefined);
        client.release();
      }
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => pool.end(),
  };
}
