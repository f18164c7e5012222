import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { requireDocker, twoServers, until } from '../helpers.js';

describe('several servers sharing one PostgreSQL', () => {
  const procs: ChildProcess[] = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  it('runs 50 executions exactly once each across two server processes', async (t) => {
    await requireDocker();
    const cluster = await twoServers(t, procs, { CRONIUM_MAX_CONCURRENCY: '3', CRONIUM_MAX_CONCURRENCY_PER_USER: '6' }, ['node-a', 'node-b']);
    if (!cluster) return;
    const { apiA, apiB } = cluster;

    const submitted = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? apiA : apiB)('POST', '/api/v1/executions', { language: 'bash', script: 'echo "$CRONIUM_EXECUTION_ID"' }),
      ),
    );
    assert.ok(submitted.every((r) => r.status === 202));
    const ids = submitted.map((r) => r.body.id as string);
    const rows = await until(
      async () => {
        const all = await Promise.all(ids.map((id) => apiA('GET', `/api/v1/executions/${id}`)));
        return all.every((r) => !['queued', 'running'].includes(r.body.status)) && all.map((r) => r.body);
      },
      300_000,
      500,
    );
    assert.ok(rows.every((e: any) => e.status === 'succeeded'), rows.map((e: any) => `${e.status}:${e.error}`).join(','));
    assert.ok(rows.every((e: any) => e.attempt === 1), 'each was claimed exactly once');
    const nodes = new Set(rows.map((e: any) => e.nodeId));
    assert.deepEqual([...nodes].sort(), ['node-a', 'node-b'], 'both servers took work');
    for (const id of ids) {
      const logs = (await apiB('GET', `/api/v1/executions/${id}/logs`)).body.entries;
      assert.deepEqual(
        logs.map((l: any) => l.text),
        [id],
        `execution ${id} ran once`,
      );
    }
  });
});
