import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireDocker, startTestServer, type TestServer, until } from '../helpers.js';

describe('public API: bad requests get clear errors', { concurrency: false }, () => {
  let s: TestServer;
  let userKey: string;
  let userId: string;
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_MAX_SCRIPT_BYTES: '1000', CRONIUM_MAX_INPUT_BYTES: '1000', CRONIUM_ALLOW_ISOLATION_CHOICE: 'false' });
    const u = await s.api('POST', '/api/v1/users', { name: 'alice' });
    userId = u.body.id;
    userKey = (await s.api('POST', `/api/v1/users/${userId}/keys`, {})).body.key;
  });
  after(async () => s?.stop());

  const expectError = (res: { status: number; body: any }, status: number, code: string, field?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code, JSON.stringify(res.body));
    assert.ok(res.body.error.message.length > 5);
    if (field) assert.equal(res.body.error.field, field);
  };

  it('400 names the field and the reason', async () => {
    expectError(await s.api('POST', '/api/v1/executions', { script: 'echo' }), 400, 'VALIDATION_FAILED', 'language');
    const bad = await s.api('POST', '/api/v1/executions', { language: 'ruby', script: 'puts 1' });
    expectError(bad, 400, 'VALIDATION_FAILED', 'language');
    assert.match(bad.body.error.message, /bash.*python.*node/);
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 42 }), 400, 'VALIDATION_FAILED', 'script');
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: '' }), 400, 'VALIDATION_FAILED', 'script');
    const nul = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo a\u0000b' });
    expectError(nul, 400, 'VALIDATION_FAILED', 'script');
    assert.match(nul.body.error.message, /NUL/);
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', timeoutMs: -1 }), 400, 'VALIDATION_FAILED', 'timeoutMs');
    expectError(
      await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', resources: { memoryMb: 1 } }),
      400,
      'VALIDATION_FAILED',
      'resources.memoryMb',
    );
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', env: { CRONIUM_TOKEN: 'x' } }), 400, 'VALIDATION_FAILED', 'env.CRONIUM_TOKEN');
    const unknown = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', colour: 'red' });
    expectError(unknown, 400, 'VALIDATION_FAILED');
    assert.match(unknown.body.error.message, /colour/);
    expectError(await s.api('POST', '/api/v1/executions', '{"language": "bash", '), 400, 'VALIDATION_FAILED', 'body');
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', secrets: ['NOPE'] }), 400, 'SECRET_NOT_FOUND', 'secrets');
    expectError(await s.api('GET', '/api/v1/executions?limit=0'), 400, 'VALIDATION_FAILED', 'limit');
    expectError(await s.api('GET', '/api/v1/executions?status=weird'), 400, 'VALIDATION_FAILED');
    expectError(await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 0 }), 400, 'VALIDATION_FAILED', 'maxConcurrency');
    expectError(await s.api('PATCH', '/api/v1/settings', { defaultLimits: { timeoutMs: 10 ** 9 } }), 400, 'VALIDATION_FAILED', 'defaultLimits.timeoutMs');
  });

  it('401 without a key, with a wrong key, and with an execution token', async () => {
    expectError(await s.api('GET', '/api/v1/executions', undefined, null), 401, 'UNAUTHORIZED');
    expectError(await s.api('GET', '/api/v1/executions', undefined, 'csk_wrong'), 401, 'UNAUTHORIZED');
    const jwt = await s.api('GET', '/api/v1/executions', undefined, 'eyJhbGciOiJIUzI1NiJ9.eyJleGUiOiJ4In0.c2ln');
    expectError(jwt, 401, 'UNAUTHORIZED');
    assert.match(jwt.body.error.message, /runtime API/);
  });

  it('403 for admin-only actions and a fixed isolation tier', async () => {
    expectError(await s.api('POST', '/api/v1/users', { name: 'mallory' }, userKey), 403, 'FORBIDDEN');
    expectError(await s.api('GET', '/api/v1/settings', undefined, userKey), 403, 'FORBIDDEN');
    expectError(
      await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x', isolation: 'gvisor' }, userKey),
      403,
      'ISOLATION_NOT_ALLOWED',
      'isolation',
    );
  });

  it('404 for unknown executions and for other users\' executions', async () => {
    expectError(await s.api('GET', '/api/v1/executions/00000000-0000-0000-0000-000000000000'), 404, 'NOT_FOUND');
    expectError(await s.api('GET', '/api/v1/executions/not-an-id'), 404, 'NOT_FOUND');
    const mine = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo admin' });
    expectError(await s.api('GET', `/api/v1/executions/${mine.body.id}`, undefined, userKey), 404, 'NOT_FOUND');
    expectError(await s.api('GET', `/api/v1/executions/${mine.body.id}/logs`, undefined, userKey), 404, 'NOT_FOUND');
    expectError(await s.api('POST', `/api/v1/executions/${mine.body.id}/cancel`, undefined, userKey), 404, 'NOT_FOUND');
    const list = await s.api('GET', '/api/v1/executions', undefined, userKey);
    assert.equal(list.status, 200);
    assert.ok(list.body.items.every((e: any) => e.userId === userId));
    expectError(await s.api('GET', '/api/v1/nothing-here'), 404, 'NOT_FOUND');
  });

  it('413 for an oversized script, input or body', async () => {
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x'.repeat(1001) }), 413, 'PAYLOAD_TOO_LARGE', 'script');
    expectError(
      await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo', input: { a: 'x'.repeat(1001) } }),
      413,
      'PAYLOAD_TOO_LARGE',
      'input',
    );
    expectError(await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'x'.repeat(400_000) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('lists executions with filters and cursor pagination', async () => {
    for (let i = 0; i < 5; i++) await s.api('POST', '/api/v1/executions', { language: i % 2 ? 'python' : 'bash', script: 'echo' }, userKey);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await s.api('GET', `/api/v1/executions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, userKey);
      assert.equal(page.status, 200);
      assert.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((e: any) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);
    const py = await s.api('GET', '/api/v1/executions?language=python', undefined, userKey);
    assert.equal(py.body.items.length, 2);
    assert.ok(py.body.items.every((e: any) => e.language === 'python'));
  });

  it('serves health, metrics and the OpenAPI document', async () => {
    const h = await s.api('GET', '/health', undefined, null);
    assert.equal(h.status, 200);
    assert.equal(h.body.database.ok, true);
    assert.equal(h.body.docker.ok, true);
    assert.equal(h.body.sandboxNetwork.internal, true);
    const m = await s.api('GET', '/metrics', undefined, null);
    assert.match(m.body, /cronium_executions\{status="succeeded"\} \d+/);
    assert.match(m.body, /cronium_queue_length \d+/);
    const o = await s.api('GET', '/api/v1/openapi.json', undefined, null);
    assert.equal(o.body.openapi, '3.1.0');
    assert.ok(o.body.paths['/api/v1/executions'].post);
  });

  it('computes the overview numbers in the database, scoped to the caller', async () => {
    // A user of its own with known outcomes: 2 succeeded, 1 failed, 1 timed out.
    const carol = (await s.api('POST', '/api/v1/users', { name: 'carol' })).body.id;
    const carolKey = (await s.api('POST', `/api/v1/users/${carol}/keys`, {})).body.key;
    for (const body of [{ script: 'echo a' }, { script: 'echo b' }, { script: 'exit 3' }, { script: 'sleep 30', timeoutMs: 1000 }]) {
      const r = await s.api('POST', '/api/v1/executions', { language: 'bash', wait: true, ...body }, carolKey);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const mine = await s.api('GET', '/api/v1/stats?hours=24', undefined, carolKey);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.scope, 'mine');
    assert.equal(mine.body.perHour.length, 24);
    assert.equal(mine.body.total, 4);
    assert.deepEqual(mine.body.byStatus, { succeeded: 2, failed: 1, timed_out: 1 });
    assert.equal(mine.body.successRate, 0.5);
    assert.equal(mine.body.timedOut, 1);
    assert.equal(mine.body.running, 0);
    assert.equal(mine.body.queued, 0);
    assert.equal(mine.body.perHour.reduce((n: number, h: any) => n + h.total, 0), 4);

    // Everyone's, once nothing earlier tests submitted is still queued or running: against the list endpoint.
    const listAll = async () => {
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await s.api('GET', `/api/v1/executions?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      return items;
    };
    const everything = await until(async () => {
      const items = await listAll();
      return items.every((e) => e.status !== 'queued' && e.status !== 'running') && items;
    }, 60_000);
    const byStatus: Record<string, number> = {};
    for (const e of everything) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    const all = await s.api('GET', '/api/v1/stats?hours=24');
    assert.equal(all.body.scope, 'all');
    assert.ok(all.body.total >= mine.body.total);
    assert.equal(all.body.total, everything.length);
    assert.deepEqual(all.body.byStatus, byStatus);
    assert.equal(all.body.perHour.reduce((n: number, h: any) => n + h.total, 0), all.body.total);
    assert.equal(all.body.successRate, (byStatus.succeeded ?? 0) / everything.length);
    assert.equal((await s.api('GET', '/api/v1/stats?hours=0')).status, 400);
  });
});
