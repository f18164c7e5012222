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

  it('refuses anything else as unknown, naming the forms it takes', () => {
    refused({ CRONIUM_ARTIFACT_STORE: 'nfs' }, /^CRONIUM_ARTIFACT_STORE: expected disk, postgres or s3:\/\/<bucket>\[\/<prefix>\], got "nfs"/);
  });

  const KEYS = { CRONIUM_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE', CRONIUM_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' };
  it('s3://<bucket>[/<prefix>] with an endpoint, a region (us-east-1 by default) and keys', () => {
    const c = loadConfig({ DATABASE_URL: PG, CRONIUM_ARTIFACT_STORE: 's3://cronium-files/cluster/a/', CRONIUM_S3_ENDPOINT: 'http://127.0.0.1:5000', ...KEYS });
    assert.equal(c.fileStore, 's3');
    assert.deepEqual(c.s3Store, { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', bucket: 'cronium-files', prefix: 'cluster/a/', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' });
    const bare = loadConfig({ CRONIUM_ARTIFACT_STORE: 's3://files', CRONIUM_S3_REGION: 'eu-west-1', ...KEYS });
    assert.equal(bare.s3Store!.prefix, '');
    assert.equal(bare.s3Store!.endpoint, 'https://s3.eu-west-1.amazonaws.com');
  });

  it('takes the standard AWS_ names when the CRONIUM_S3_ ones are not set', () => {
    const c = loadConfig({ CRONIUM_ARTIFACT_STORE: 's3://files', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 't', AWS_REGION: 'ap-south-1' });
    assert.deepEqual([c.s3Store!.accessKeyId, c.s3Store!.secretAccessKey, c.s3Store!.sessionToken, c.s3Store!.region], ['a', 'b', 't', 'ap-south-1']);
  });

  it('refuses an s3 store without keys, with a bad bucket or prefix, or an endpoint that is not a server', () => {
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files' }, /^CRONIUM_S3_ACCESS_KEY_ID \(or AWS_ACCESS_KEY_ID\) is required/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files', CRONIUM_S3_ACCESS_KEY_ID: 'a' }, /^CRONIUM_S3_SECRET_ACCESS_KEY \(or AWS_SECRET_ACCESS_KEY\) is required/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://Bad_Bucket', ...KEYS }, /^CRONIUM_ARTIFACT_STORE: "Bad_Bucket" is not an S3 bucket name/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://', ...KEYS }, /^CRONIUM_ARTIFACT_STORE: "" is not an S3 bucket name/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files/a/../b', ...KEYS }, /^CRONIUM_ARTIFACT_STORE: the prefix "a\/..\/b"/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files/a b', ...KEYS }, /^CRONIUM_ARTIFACT_STORE: the prefix "a b"/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files', CRONIUM_S3_ENDPOINT: 'ftp://h', ...KEYS }, /^CRONIUM_S3_ENDPOINT: expected http:\/\/ or https:\/\//);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files', CRONIUM_S3_ENDPOINT: 'http://h:9000/files', ...KEYS }, /^CRONIUM_S3_ENDPOINT: the endpoint is a server/);
    refused({ CRONIUM_ARTIFACT_STORE: 's3://files', CRONIUM_S3_ENDPOINT: 'not a url', ...KEYS }, /^CRONIUM_S3_ENDPOINT/);
  });
});
