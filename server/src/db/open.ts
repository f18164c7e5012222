import type { DatabaseDriver } from './driver.js';

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string }): Promise<DatabaseDriver> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres-driver.js');
    return openPostgres(opts.databaseUrl);
  }
  const { openPglite } = await import('./pglite-driver.js');
  return openPglite(opts.dataDir);
}
