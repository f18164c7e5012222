import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const refused = (env: Record<string, string>, problem: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => problem.test(p)),
    `${JSON.stringify(env)} is refused with ${problem}`,
  );
const PG = 'postgres://cronium:secret@db.internal:5432/cronium';

describe('CRONIUM_ARTIFACT_STORE', () => {
  it('defaults to the data directory disk, with or without PostgreSQL', () => {
    assert.equal(loadConfig({}).fileStore, 'disk');
    assert.equal(loadConfig({ DATABASE_URL: PG }).fileStore, 'disk');
    assert.equal(loadConfig({ CRONIUM_ARTIFACT_STORE: 'disk' }).fileStore, 'disk');
  });

  it('postgres with a PostgreSQL DATABASE_URL (postgres:// or postgresql://)', () => {
    assert.equal(loadConfig({ DATABASE_URL: PG, CRONIUM_ARTIFACT_STORE: 'postgres' }).fileStore, 'postgres');
    assert.equal(loadConfig({ DATABASE_URL: PG.replace('postgres:', 'postgresql:'), CRONIUM_ARTIFACT_STORE: 'postgres' }).fileStore, 'postgres');
  });

  it('refuses postgres on the embedded PGlite, naming the variable', () => {
    refused({ CRONIUM_ARTIFACT_STORE: 'postgres' }, /^CRONIUM_ARTIFACT_STORE=postgres needs DATABASE_URL to be a PostgreSQL database/);
    refused({ CRONIUM_ARTIFACT_STORE: 'postgres', DATABASE_URL: 'mysql://u:p@h/d' }, /^CRONIUM_ARTIFACT_STORE=postgres needs DATABASE_URL/);
  });

  it('refuses s3:// as not supported yet, and anything else as unknown', () => {
    refused({ CRONIUM_ARTIFACT_STORE: 's3://bucket/prefix', DATABASE_URL: PG }, /^CRONIUM_ARTIFACT_STORE: .*s3:\/\/.* not supported yet/);
    refused({ CRONIUM_ARTIFACT_STORE: 'nfs' }, /^CRONIUM_ARTIFACT_STORE: expected disk or postgres, got "nfs"/);
  });
});
