import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../src/executions/events.js';
import { createLogStore } from '../../src/executions/log-store.js';
import { counterLines, createServerCounters } from '../../src/health/counters.js';

const entry = (seq: number, text: string): LogEntry => ({ seq, ts: new Date(0).toISOString(), stream: 'stdout', text, continued: false, escaped: false });

function store(append: (entries: LogEntry[]) => Promise<void>) {
  const counters = createServerCounters();
  const errors: unknown[] = [];
  const persist = createLogStore({
    executionId: 'e1',
    append,
    counters,
    log: { error: (...args: unknown[]) => void errors.push(args) } as never,
    mask: (t) => t.replaceAll('hunter2', '***'),
    attempts: 3,
    backoffMs: 1,
  });
  return { persist, counters, errors };
}

describe('log store', () => {
  it('retries a passing failure and counts nothing', async () => {
    const rows: LogEntry[] = [];
    let fails = 2;
    const { persist, counters } = store(async (e) => {
      if (fails-- > 0) throw new Error('connection reset');
      rows.push(...e);
    });
    await persist([entry(0, 'a'), entry(1, 'b')]);
    assert.deepEqual(rows.map((r) => r.text), ['a', 'b']);
    assert.equal(counters.logWriteFailures.total, 0);
  });

  it('does not let one entry the database refuses take its batch down: the others are stored, it is replaced by a system line', async () => {
    const rows: LogEntry[] = [];
    const { persist, counters, errors } = store(async (e) => {
      if (e.some((x) => x.text.includes('BAD'))) {
        throw Object.assign(new Error('Failed query: insert … params: BAD hunter2'), { cause: Object.assign(new Error('refused near hunter2'), { code: '22021' }) });
      }
      rows.push(...e);
    });
    await persist([entry(0, 'before'), entry(1, 'BAD hunter2'), entry(2, 'after')]);
    assert.deepEqual(
      rows.map((r) => [r.seq, r.stream, r.text]),
      [
        [0, 'stdout', 'before'],
        [1, 'system', '[cronium] a stdout log line (11 bytes) could not be stored: 22021: refused near ***'],
        [2, 'stdout', 'after'],
      ],
    );
    assert.equal(counters.logWriteFailures.total, 1);
    assert.equal(counters.logEntriesLost.total, 0);
    assert.equal(errors.length, 1);
    assert.ok(counterLines(counters).includes('cronium_log_write_failures_total 1'));
  });

  it('counts and logs what it cannot store at all, without trying entry after entry against a database that is away', async () => {
    let calls = 0;
    const { persist, counters, errors } = store(async () => {
      calls++;
      throw new Error('connect ECONNREFUSED');
    });
    await persist(Array.from({ length: 200 }, (_, i) => entry(i, `line ${i}`)));
    assert.equal(counters.logWriteFailures.total, 1);
    assert.equal(counters.logEntriesLost.total, 200);
    assert.equal(errors.length, 2);
    assert.ok(calls <= 3 + 2 * 3, `${calls} attempts`);
  });
});
