import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { containerExists, containerGone, requireDocker, run, startTestServer, type TestServer, until } from '../helpers.js';

/** Maximum number of intervals that overlap at any instant. */
function maxOverlap(intervals: [number, number][]): number {
  const points = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  points.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (cur += d!));
  return max;
}

describe('execution engine: cancel, queueing and concurrency', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => s?.stop());

  it('cancels a running execution and removes its container', async () => {
    const r = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo started; sleep 1000' });
    assert.equal(r.status, 202);
    const id = r.body.id;
    await until(async () => (await s.api('GET', `/api/v1/executions/${id}`)).body.status === 'running');
    const containerId = await until(async () => {
      const e = (await s.api('GET', `/api/v1/executions/${id}`)).body;
      return e.containerId && (await containerExists(e.containerId)) && e.containerId;
    });
    const c = await s.api('POST', `/api/v1/executions/${id}/cancel`);
    assert.equal(c.status, 202);
    const final = await until(async () => {
      const e = (await s.api('GET', `/api/v1/executions/${id}`)).body;
      return e.status !== 'running' && e;
    });
    assert.equal(final.status, 'cancelled');
    assert.ok(await containerGone(containerId));
    const again = await s.api('POST', `/api/v1/executions/${id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'EXECUTION_NOT_CANCELLABLE');
  });

  it('cancels a queued execution before it starts, and answers 503 when the queue is full', async () => {
    const patch = await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 1, maxQueue: 1 });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    try {
      const blocker = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'sleep 1000' });
      await until(async () => (await s.api('GET', `/api/v1/executions/${blocker.body.id}`)).body.status === 'running');
      const queued = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo never' });
      assert.equal(queued.body.status, 'queued');
      const full = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo too many' });
      assert.equal(full.status, 503);
      assert.equal(full.body.error.code, 'QUEUE_FULL');
      assert.match(full.body.error.message, /queue is full/);
      const c = await s.api('POST', `/api/v1/executions/${queued.body.id}/cancel`);
      assert.equal(c.status, 202);
      const e = (await s.api('GET', `/api/v1/executions/${queued.body.id}`)).body;
      assert.equal(e.status, 'cancelled');
      assert.equal(e.startedAt, null);
      await s.api('POST', `/api/v1/executions/${blocker.body.id}/cancel`);
      await until(async () => (await s.api('GET', `/api/v1/executions/${blocker.body.id}`)).body.status === 'cancelled');
    } finally {
      await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 4, maxQueue: 1000 });
    }
  });

  it('respects the global and per-user concurrency limits under 30 simultaneous submissions', async () => {
    const patch = await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 3, maxConcurrencyPerUser: 2 });
    assert.equal(patch.status, 200);
    try {
      const u = await s.api('POST', '/api/v1/users', { name: `conc-${Date.now()}`, role: 'user' });
      const k = await s.api('POST', `/api/v1/users/${u.body.id}/keys`, { name: 'test' });
      const userKey = k.body.key as string;
      const submissions = Array.from({ length: 30 }, (_, i) =>
        s.api('POST', '/api/v1/executions', { language: 'bash', script: 'sleep 0.5; echo ok' }, i % 2 ? userKey : undefined),
      );
      const accepted = await Promise.all(submissions);
      assert.ok(accepted.every((r) => r.status === 202), 'all 30 are accepted');
      const ids = accepted.map((r) => r.body.id as string);
      const rows = await until(
        async () => {
          const all = await Promise.all(ids.map((id) => s.api('GET', `/api/v1/executions/${id}`)));
          return all.every((r) => !['queued', 'running'].includes(r.body.status)) && all.map((r) => r.body);
        },
        240_000,
        500,
      );
      assert.ok(rows.every((e: any) => e.status === 'succeeded'), rows.map((e: any) => e.status).join(','));
      const span = (e: any): [number, number] => [Date.parse(e.startedAt), Date.parse(e.finishedAt)];
      assert.ok(maxOverlap(rows.map(span)) <= 3, `global overlap ${maxOverlap(rows.map(span))}`);
      for (const userId of new Set(rows.map((e: any) => e.userId))) {
        const mine = rows.filter((e: any) => e.userId === userId);
        assert.equal(mine.length, 15);
        assert.ok(maxOverlap(mine.map(span)) <= 2, `per-user overlap ${maxOverlap(mine.map(span))}`);
      }
      assert.ok(maxOverlap(rows.map(span)) >= 2, 'executions did run side by side');
    } finally {
      await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 4, maxConcurrencyPerUser: 4 });
    }
  });

  it('caps requested limits at the server maxima and reports what was applied', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
      timeoutMs: 99_999_999,
      resources: { memoryMb: 999_999, pids: 999_999, cpus: 64 },
    });
    const settings = (await s.api('GET', '/api/v1/settings')).body;
    assert.deepEqual(e.limits, settings.maxLimits);
  });
});
