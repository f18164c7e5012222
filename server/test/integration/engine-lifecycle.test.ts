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
    s = await startTestServer({ CRONIUM_MAX_LOG_BYTES: '4096' });
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

  it('follows logs live over Server-Sent Events until the end', async () => {
    const r = await s.api('POST', '/api/v1/executions', {
      language: 'python',
      script: 'import time, sys\nfor i in range(4):\n    print("tick", i)\n    time.sleep(0.4)\nprint("bye", file=sys.stderr)',
    });
    const res = await fetch(`${s.url}/api/v1/executions/${r.body.id}/logs`, {
      headers: { authorization: `Bearer ${s.adminKey}`, accept: 'text/event-stream' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events: { event: string; data: any; at: number }[] = [];
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data), at: Date.now() });
      }
    }
    const logs = events.filter((e) => e.event === 'log');
    assert.deepEqual(
      logs.map((e) => [e.data.stream, e.data.text]),
      [['stdout', 'tick 0'], ['stdout', 'tick 1'], ['stdout', 'tick 2'], ['stdout', 'tick 3'], ['stderr', 'bye']],
    );
    assert.ok(logs[3]!.at - logs[0]!.at >= 600, 'lines arrived as they were printed, not all at the end');
    const end = events[events.length - 1]!;
    assert.equal(end.event, 'end');
    assert.equal(end.data.status, 'succeeded');
  });

  it('caps the stored log and marks the cut', async () => {
    const e = await run(s.api, { language: 'bash', script: 'for i in $(seq 1 3000); do echo "line $i of a long log"; done; echo done >&2' });
    assert.equal(e.status, 'succeeded');
    assert.equal(e.logsTruncated, true);
    const logs = (await s.api('GET', `/api/v1/executions/${e.id}/logs`)).body;
    assert.equal(logs.truncated, true);
    const last = logs.entries[logs.entries.length - 1];
    assert.equal(last.stream, 'system');
    assert.match(last.text, /log truncated: the limit of 4096 bytes/);
    assert.ok(logs.entries.length < 300);
  });
});
