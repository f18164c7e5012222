import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Api, requireDocker, startTestServer, type TestServer, until } from '../helpers.js';

/** Issue 17: a queued execution says why it waits (the per-user or the server's concurrency limit) and its place. */
describe('a queued execution says why it waits', () => {
  let s: TestServer;
  const ids: string[] = [];
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_MAX_CONCURRENCY: '1', CRONIUM_MAX_CONCURRENCY_PER_USER: '1', CRONIUM_POOL_SIZE: '0' });
  });
  after(async () => {
    await Promise.all(ids.map((id) => s.api('POST', `/api/v1/executions/${id}/cancel`)));
    await s?.stop();
  });

  const submit = async (api: Api, key?: string) => {
    const r = await api('POST', '/api/v1/executions', { language: 'bash', script: 'sleep 60' }, key);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id);
    return r.body.id as string;
  };

  it('reports the per-user limit and the place among the user\'s own, then the server\'s limit for another user', async () => {
    const first = await submit(s.api);
    await until(async () => (await s.api('GET', `/api/v1/executions/${first}`)).body.status === 'running');
    const running = (await s.api('GET', `/api/v1/executions/${first}`)).body;
    assert.equal(running.queue, undefined, 'a running execution has no queue standing');

    const second = await submit(s.api);
    const third = await submit(s.api);
    const q2 = (await s.api('GET', `/api/v1/executions/${second}`)).body;
    const q3 = (await s.api('GET', `/api/v1/executions/${third}`)).body;
    assert.equal(q2.status, 'queued');
    assert.deepEqual({ reason: q2.queue.reason, position: q2.queue.position, userRunning: q2.queue.userRunning, userLimit: q2.queue.userLimit }, { reason: 'user_concurrency', position: 1, userRunning: 1, userLimit: 1 });
    assert.equal(q3.queue.position, 2);
    assert.match(q3.queue.message, /1 of its user's executions are ahead/);

    const u = await s.api('POST', '/api/v1/users', { name: `queue-${crypto.randomBytes(4).toString('hex')}`, role: 'user' });
    const key = (await s.api('POST', `/api/v1/users/${u.body.id}/keys`, { name: 'q' })).body.key as string;
    const other = await submit(s.api, key);
    const qo = (await s.api('GET', `/api/v1/executions/${other}`, undefined, key)).body;
    assert.equal(qo.queue.reason, 'server_concurrency', JSON.stringify(qo.queue));
    assert.equal(qo.queue.position, 1);
    assert.equal(qo.queue.queuedTotal, 3);
  });
});
