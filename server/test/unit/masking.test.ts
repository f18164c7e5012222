import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../src/executions/events.js';
import { LogSink } from '../../src/executions/log-sink.js';
import { Masker } from '../../src/executions/masking.js';

function sink(secrets: string[], maxBytes = 10_000) {
  const stored: LogEntry[] = [];
  const published: LogEntry[] = [];
  let truncated = false;
  const s = new LogSink({
    maxBytes,
    masker: new Masker(secrets),
    persist: async (e) => void stored.push(...e),
    publish: (e) => published.push(...e),
    onTruncated: () => (truncated = true),
    partialLineMs: 20,
    flushMs: 5,
  });
  return { s, stored, published, truncated: () => truncated };
}

describe('Masker', () => {
  it('masks every occurrence, longest value first', () => {
    const m = new Masker(['secret', 'secret-long']);
    assert.equal(m.mask('a secret-long and a secret'), 'a *** and a ***');
  });
  it('ignores values too short to mask meaningfully', () => {
    assert.equal(new Masker(['ab']).mask('abc'), 'abc');
  });
  it('masks inside JSON values and keys', () => {
    assert.deepEqual(new Masker(['hunter2']).maskJson({ a: ['x hunter2'], hunter2: 1, n: 5 }), { a: ['x ***'], '***': 1, n: 5 });
  });
  it('reports how much of a tail could still become a secret', () => {
    const m = new Masker(['topsecret']);
    assert.equal(m.unsafeTail('hello tops'), 4);
    assert.equal(m.unsafeTail('hello'), 0);
  });
});

describe('LogSink', () => {
  it('stores one entry per line and masks secrets', async () => {
    const { s, stored, published } = sink(['hunter2']);
    s.write('stdout', 'pw=hunter2\nsecond line\n');
    await s.close();
    assert.deepEqual(stored.map((e) => e.text), ['pw=***', 'second line']);
    assert.deepEqual(published.map((e) => e.text), ['pw=***', 'second line']);
    assert.deepEqual(stored.map((e) => e.seq), [0, 1]);
  });

  it('masks a secret printed in two separate writes, even across a pause', async () => {
    const { s, stored } = sink(['hunter2']);
    s.write('stdout', 'pw=hun');
    await new Promise((r) => setTimeout(r, 60)); // longer than the partial-line pause
    s.write('stdout', 'ter2 done\n');
    await s.close();
    const all = stored.map((e) => e.text).join('');
    assert.doesNotMatch(all, /hunter2/);
    assert.doesNotMatch(all, /hun$/m);
    assert.match(all, /\*\*\*/);
  });

  it('lets a partial line out after a pause', async () => {
    const { s, published } = sink([]);
    s.write('stdout', 'progress...');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(published.map((e) => e.text), ['progress...']);
    await s.close();
  });

  it('caps the stored size and says so in the log', async () => {
    const { s, stored, truncated } = sink([], 100);
    for (let i = 0; i < 50; i++) s.write('stdout', `line ${i}\n`);
    await s.close();
    const last = stored[stored.length - 1]!;
    assert.equal(last.stream, 'system');
    assert.match(last.text, /log truncated/);
    assert.ok(truncated());
    assert.ok(stored.length < 20);
  });
});
