import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BundleStore } from '../../src/dependencies/bundle-store.js';
import { requireDocker, startTestServer, type TestServer } from '../helpers.js';

/** A bundle placed in the server's bundle directory as the service would commit it. */
function putBundle(root: string, c: string): string {
  const store = new BundleStore(root, 1e9);
  const key = c.repeat(64);
  const tmp = store.tempDir();
  fs.mkdirSync(path.join(tmp, 'python'));
  fs.writeFileSync(path.join(tmp, 'python', 'six.py'), '# six\n');
  store.commit(tmp, {
    key,
    language: 'python',
    runtime: { id: 'python@3.11', version: '3.11', platform: 'manylinux_2_36_x86_64' },
    requested: [{ name: 'six', spec: 'six' }],
    packages: [{ name: 'six', version: '1.17.0', hash: 'sha256:00', source: 'six-1.17.0-py2.py3-none-any.whl' }],
    index: 'http://127.0.0.1/simple',
  });
  return key;
}

describe('admin routes of the dependency bundles, and the packagePolicy setting', { concurrency: false }, () => {
  let s: TestServer;
  let userKey: string;
  let bundleDir: string;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
    bundleDir = s.server.config.dependencies.bundleDir;
    const u = await s.api('POST', '/api/v1/users', { name: 'bob' });
    userKey = (await s.api('POST', `/api/v1/users/${u.body.id}/keys`, {})).body.key;
  });
  after(async () => s?.stop());

  it('lists bundles for admins only', async () => {
    assert.equal(bundleDir, path.join(s.dataDir, 'bundles'));
    assert.deepEqual((await s.api('GET', '/api/v1/dependency-bundles')).body, { items: [] });
    const key = putBundle(bundleDir, 'a');
    const res = await s.api('GET', '/api/v1/dependency-bundles');
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 1);
    const [b] = res.body.items;
    assert.deepEqual({ ...b, createdAt: 'x', lastUsedAt: 'x', sizeBytes: 0 }, {
      key,
      language: 'python',
      runtime: 'python@3.11',
      packages: [{ name: 'six', version: '1.17.0' }],
      sizeBytes: 0,
      createdAt: 'x',
      lastUsedAt: 'x',
      inUse: false,
    });
    assert.ok(b.sizeBytes > 0);
    assert.equal((await s.api('GET', '/api/v1/dependency-bundles', undefined, userKey)).status, 403);
  });

  it('DELETE: 204, then 404; 400 for a malformed key; 409 while an execution (another process here) mounts it', async () => {
    const key = putBundle(bundleDir, 'b');
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { BundleStore } = await import(${JSON.stringify(new URL('../../src/dependencies/bundle-store.ts', import.meta.url).pathname)});
      new BundleStore(${JSON.stringify(bundleDir)}, 1e9).acquire(${JSON.stringify(key)});
      console.log('leased'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.on('data', (d) => String(d).includes('leased') && resolve()));
      const busy = await s.api('DELETE', `/api/v1/dependency-bundles/${key}`);
      assert.equal(busy.status, 409, JSON.stringify(busy.body));
      assert.equal(busy.body.error.code, 'CONFLICT');
      assert.match(busy.body.error.message, /mounted by a running execution/);
      assert.equal((await s.api('GET', '/api/v1/dependency-bundles')).body.items.find((b: { key: string }) => b.key === key).inUse, true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.on('exit', r));
    }
    assert.equal((await s.api('DELETE', `/api/v1/dependency-bundles/${key}`, undefined, userKey)).status, 403);
    assert.equal((await s.api('DELETE', `/api/v1/dependency-bundles/${key}`)).status, 204);
    assert.equal(fs.existsSync(path.join(bundleDir, key)), false);
    const gone = await s.api('DELETE', `/api/v1/dependency-bundles/${key}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'NOT_FOUND');
    const bad = await s.api('DELETE', '/api/v1/dependency-bundles/..%2F..%2Fetc');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'key');
  });

  it('settings.packagePolicy: any by default; an admin sets a list; bad entries get 400 naming the entry', async () => {
    assert.deepEqual((await s.api('GET', '/api/v1/settings')).body.packagePolicy, { mode: 'any' });
    const set = await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'denylist', python: ['evil-pkg'], node: ['@evil/*'] } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.packagePolicy, { mode: 'denylist', python: ['evil-pkg'], node: ['@evil/*'] });
    assert.deepEqual((await s.api('GET', '/api/v1/settings')).body.packagePolicy, { mode: 'denylist', python: ['evil-pkg'], node: ['@evil/*'] });
    const bad = await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'allowlist', python: ['six', 'six==1.0'] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'packagePolicy.python.1');
    assert.match(bad.body.error.message, /Python package name/);
    const mode = await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'some' } });
    assert.equal(mode.status, 400);
    assert.equal(mode.body.error.field, 'packagePolicy.mode');
    assert.equal((await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'any' } }, userKey)).status, 403);
    assert.deepEqual((await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'any' } })).body.packagePolicy, { mode: 'any' });
  });
});
