import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionStatus } from '../../src/db/schema.js';
import { ExecutionEngine, type EngineDeps } from '../../src/executions/engine.js';

/** An execution another server runs: this server learns its end only from the database. */
function engineWith(statuses: Map<string, ExecutionStatus>) {
  const calls = { statuses: 0 };
  const executions = {
    get: async (id: string) => ({ id, status: statuses.get(id) ?? 'running' }),
    statuses: async (ids: string[]) => {
      calls.statuses++;
      return ids.filter((id) => statuses.has(id)).map((id) => ({ id, status: statuses.get(id)! }));
    },
  };
  const engine = new ExecutionEngine({ executions } as unknown as EngineDeps);
  const events = { onStatus: () => () => undefined };
  return { engine, events, calls };
}

describe('ExecutionEngine.waitForEnd (wait: true)', () => {
  it('sees an execution finished by another server through one shared poll for all waiting requests', { timeout: 10_000 }, async () => {
    const statuses = new Map<string, ExecutionStatus>(Array.from({ length: 50 }, (_, i) => [`e${i}`, 'running'] as const));
    const { engine, events, calls } = engineWith(statuses);
    let ended = 0;
    const waits = [...statuses.keys()].map((id) => engine.waitForEnd(id, events).then(() => ended++));
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(ended, 0, 'nobody ends while the executions run');
    assert.equal(calls.statuses, 1, 'one query a second for all 50 waiting requests');
    for (const id of statuses.keys()) statuses.set(id, 'succeeded');
    // The poll's timer does not hold the process open (a waiting HTTP request does, in the server).
    const keepAlive = setInterval(() => undefined, 100);
    try {
      await Promise.race([Promise.all(waits), new Promise((_, reject) => setTimeout(() => reject(new Error('the waiters never ended')), 5000))]);
    } finally {
      clearInterval(keepAlive);
    }
    assert.equal(ended, 50);
    assert.ok(calls.statuses <= 3, `${calls.statuses} queries`);
  });

  it('ends at once on the local status event, and queries nothing once nobody waits', { timeout: 10_000 }, async () => {
    const { engine, calls } = engineWith(new Map([['e1', 'running']]));
    let fire: (s: ExecutionStatus) => void = () => undefined;
    const events = { onStatus: (_id: string, fn: (s: ExecutionStatus) => void) => ((fire = fn), () => undefined) };
    const w = engine.waitForEnd('e1', events);
    fire('succeeded');
    await w;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(calls.statuses, 0, 'no query runs once the last waiter is gone');
  });
});
