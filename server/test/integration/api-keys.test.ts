import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireDocker, startTestServer, type TestServer } from '../helpers.js';

describe('API keys: last use', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_POOL_SIZE: '0' });
  });
  after(async () => s?.stop());

  it('records when a key was last used, to the minute (not with a write on every request)', async () => {
    const u = await s.api('POST', '/api/v1/users', { name: `keys-${Date.now()}`, role: 'user' });
    const k = await s.api('POST', `/api/v1/users/${u.body.id}/keys`, { name: 'probe' });
    const lastUsed = async () => ((await s.api('GET', `/api/v1/users/${u.body.id}/keys`)).body.items as { id: string; lastUsedAt: string | null }[]).find((x) => x.id === k.body.id)!.lastUsedAt;
    assert.equal(await lastUsed(), null, 'never used yet');
    assert.equal((await s.api('GET', '/api/v1/executions', undefined, k.body.key)).status, 200);
    const first = await lastUsed();
    assert.ok(first && Math.abs(Date.parse(first) - Date.now()) < 10_000, `set on first use: ${first}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await s.api('GET', '/api/v1/executions', undefined, k.body.key)).status, 200);
    assert.equal(await lastUsed(), first, 'a second use within the minute writes nothing');
  });
});
