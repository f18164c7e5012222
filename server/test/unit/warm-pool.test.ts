import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WarmPool } from '../../src/sandbox/warm-pool.js';

class Fake {
  dead = false;
  destroyed = false;
  loaded = true;
  constructor(readonly id: number) {}
  alive() {
    return !this.dead && !this.destroyed;
  }
  warm() {
    return this.loaded;
  }
}

function pool(size: number, opts: { idleMs?: number; failFirst?: number; delayMs?: number; refillDelayMs?: number } = {}) {
  let n = 0;
  let fail = opts.failFirst ?? 0;
  const created: Fake[] = [];
  const p = new WarmPool<'bash' | 'python', Fake>({
    keys: ['bash', 'python'],
    size,
    idleMs: opts.idleMs,
    refillDelayMs: opts.refillDelayMs,
    create: async () => {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
      if (fail-- > 0) throw new Error('image missing');
      const f = new Fake(++n);
      created.push(f);
      return f;
    },
    destroy: async (f) => {
      f.destroyed = true;
    },
  });
  return { p, created };
}

const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('WarmPool', () => {
  it('counts a member whose interpreter still loads as warming, and hands out warm members first', async () => {
    const { p, created } = pool(3);
    p.start(10_000);
    await settle();
    const [a, b, c] = created.slice(0, 3);
    assert.ok(a && b && c);
    a.loaded = false;
    b.loaded = false;
    const stats = p.stats();
    assert.equal(stats.ready.bash + stats.ready.python, 4);
    assert.equal(stats.warming.bash + stats.warming.python, 2);
    const key = (['bash', 'python'] as const).find((k) => p.stats().warming[k] === 2)!;
    assert.ok(key, 'both loading members are of one key');
    assert.equal(p.take(key), c, 'the warm one, though it is the youngest');
    assert.equal(p.take(key), a, 'then the oldest of those still warming: still further along than a cold start');
    b.loaded = true;
    assert.equal(p.stats().ready[key], 1);
    assert.equal(p.stats().warming[key], 0);
    await p.drain();
  });

  it('fills each key to its size and never above it', async () => {
    const { p, created } = pool(3);
    p.start(10_000);
    p.refill('bash');
    p.refill('bash');
    await settle();
    assert.deepEqual(p.stats().ready, { bash: 3, python: 3 });
    assert.equal(created.length, 6, 'repeated refills do not overshoot');
    await p.drain();
  });

  it('hands each member out once and refills behind it', async () => {
    const { p } = pool(2);
    p.start(10_000);
    await settle();
    const a = p.take('bash');
    const b = p.take('bash');
    const c = p.take('bash');
    assert.ok(a && b && a !== b);
    assert.equal(c, null, 'an empty pool answers null: the caller starts a cold container');
    await settle();
    assert.equal(p.stats().ready.bash, 2);
    assert.deepEqual(p.stats().hits, { bash: 2, python: 0 });
    assert.deepEqual(p.stats().misses, { bash: 1, python: 0 });
    const d = p.take('bash');
    assert.ok(d && d !== a && d !== b, 'a member is never handed out twice');
    await p.drain();
  });

  it('with refillDelayMs, replaces a member handed out only after the delay or an earlier refill call while others are ready; running dry refills at once', async () => {
    const { p, created } = pool(2, { refillDelayMs: 150 });
    p.start(10_000);
    await settle();
    assert.equal(created.length, 4);
    assert.ok(p.take('bash'));
    await settle(60);
    assert.equal(p.stats().ready.bash, 1, 'no replacement while the execution that took the member may still run');
    assert.equal(created.length, 4);
    await settle(150);
    assert.equal(p.stats().ready.bash, 2, 'replaced once the delay is over');

    assert.ok(p.take('bash'));
    p.refill('bash'); // the execution ended early
    await settle();
    assert.equal(p.stats().ready.bash, 2, 'an explicit refill does not wait for the delay');

    assert.ok(p.take('bash'));
    assert.ok(p.take('bash'));
    await settle();
    assert.equal(p.stats().ready.bash, 2, 'taking the last ready member refills at once');
    assert.equal(created.length, 8, 'the pending delayed refill does not start more members than missing');
    await settle(200);
    assert.equal(created.length, 8);

    assert.ok(p.take('bash') && p.take('bash'));
    assert.equal(p.take('bash'), null);
    await settle();
    assert.equal(p.stats().ready.bash, 2, 'a miss (demand beyond the pool) refills at once');
    await p.drain();
  });

  it('skips and replaces a member that died while waiting', async () => {
    const { p } = pool(1);
    p.start(10_000);
    await settle();
    const first = p.take('python')!;
    await settle();
    const waiting = p.stats().ready.python;
    assert.equal(waiting, 1);
    // Kill the waiting member: the next take must not return it.
    const internal = (p as unknown as { ready: Map<string, Fake[]> }).ready.get('python')![0]!;
    internal.dead = true;
    assert.notEqual(internal, first);
    assert.equal(p.take('python'), null);
    assert.ok(internal.destroyed, 'the dead member was cleaned up');
    await settle();
    assert.equal(p.stats().ready.python, 1, 'and replaced');
    await p.drain();
  });

  it('shrinks to one member per key when idle', async () => {
    const { p } = pool(3, { idleMs: 20 });
    p.start(10);
    await settle(15);
    await settle(80);
    assert.deepEqual(p.stats().ready, { bash: 1, python: 1 });
    p.take('bash');
    await settle(15);
    assert.equal(p.target('bash'), 3, 'a take makes it grow back');
    await p.drain();
  });

  it('drains every member and stops refilling', async () => {
    const { p, created } = pool(2, { delayMs: 5 });
    p.start(10_000);
    await settle(2);
    await p.drain();
    await settle(20);
    assert.ok(created.every((f) => f.destroyed), 'members still starting at drain time are destroyed too');
    assert.deepEqual(p.stats().ready, { bash: 0, python: 0 });
    assert.equal(p.take('bash'), null);
  });

  it('counts failed starts and keeps going', async () => {
    const { p } = pool(1, { failFirst: 2 });
    p.start(10);
    await settle(80);
    assert.ok(p.stats().failures.bash + p.stats().failures.python >= 2);
    assert.deepEqual(p.stats().ready, { bash: 1, python: 1 });
    await p.drain();
  });

  it('is off with size 0', () => {
    const { p } = pool(0);
    p.start();
    assert.equal(p.enabled, false);
    assert.equal(p.take('bash'), null);
  });
});
