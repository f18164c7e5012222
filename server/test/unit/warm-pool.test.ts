import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PoolSizingLimits } from '../../src/sandbox/pool-sizing.js';
import { type RefillMoment, WarmPool } from '../../src/sandbox/warm-pool.js';

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

/** A pool fixed at `size` per key (floor = ceiling, as CRONIUM_POOL_SIZE sets it), on the real clock. */
function pool(size: number, opts: { idleMs?: number; failFirst?: number; delayMs?: number; refillAt?: RefillMoment; refillDelayMs?: number } = {}) {
  let n = 0;
  let fail = opts.failFirst ?? 0;
  const created: Fake[] = [];
  const p = new WarmPool<'bash' | 'python', Fake>({
    keys: ['bash', 'python'],
    sizing: { floor: size, ceiling: size, memoryBudgetMb: 1_000, idleMs: opts.idleMs ?? 0, footprintMb: () => 10 },
    refillAt: opts.refillAt,
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

  it('refills at the claim by default: the replacement starts at the take, while others are still ready', async () => {
    const { p, created } = pool(2, { delayMs: 20 });
    p.start(10_000);
    await settle(60);
    assert.equal(created.length, 4);
    assert.ok(p.take('bash'));
    assert.equal(p.stats().starting.bash, 1, 'started at the take');
    await settle(60);
    assert.equal(p.stats().ready.bash, 2);
    assert.equal(created.length, 5);
    await p.drain();
  });

  it('with refillAt end and refillDelayMs, replaces a member handed out only after the delay or an earlier refill call while others are ready; running dry refills at once', async () => {
    const { p, created } = pool(2, { refillAt: 'end', refillDelayMs: 150 });
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

  it('keeps a fixed size however long it is idle', async () => {
    const { p } = pool(3, { idleMs: 20 });
    p.start(10);
    await settle(100);
    assert.deepEqual(p.stats().ready, { bash: 3, python: 3 });
    assert.deepEqual(p.stats().target, { bash: 3, python: 3 });
    await p.drain();
  });

  it('learns a key at its first take (a miss), keeps a member for it while it is taken, and forgets it once idle', async () => {
    const created: { key: string; f: Fake }[] = [];
    const p = new WarmPool<string, Fake>({
      keys: ['python'],
      sizing: { floor: 1, ceiling: 4, memoryBudgetMb: 1_000, idleMs: 120, footprintMb: () => 10 },
      create: async (key) => {
        const f = new Fake(created.length + 1);
        created.push({ key, f });
        return f;
      },
      destroy: async (f) => {
        f.destroyed = true;
      },
    });
    p.start(10);
    await settle(30);
    assert.deepEqual(p.stats().ready, { python: 1 }, 'a learnt key is not known before it is asked for');
    assert.equal(p.take('python+abc'), null, 'the first take of a new key is a miss');
    await settle(30);
    assert.equal(p.stats().ready['python+abc'], 1, 'a member for the next take');
    assert.ok(p.take('python+abc'), 'the next take is a hit');
    assert.equal(p.stats().hits['python+abc'], 1);
    await settle(250);
    assert.deepEqual(p.stats().ready, { python: 1 }, 'idle: its members destroyed and the key forgotten; the fixed key keeps its floor');
    assert.ok(created.filter((c) => c.key === 'python+abc' && !c.f.destroyed).length <= 1, 'only the member handed out is not destroyed');
    p.refill('python+abc'); // an execution's end refilling a forgotten key does nothing
    await settle(20);
    assert.equal(p.stats().ready['python+abc'], undefined);
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
    assert.equal(p.stats().size, 0);
  });

  it('is off without sizing', () => {
    const p = new WarmPool<'bash', Fake>({ keys: ['bash'], sizing: null, create: async () => assert.fail('no pool'), destroy: async () => undefined });
    p.start();
    assert.equal(p.enabled, false);
    assert.equal(p.take('bash'), null);
  });
});

/**
 * A pool sized by demand on a clock the test moves: a member's creation takes `createMs` of that clock (and its
 * interpreter `warmMs` more), so that rates and refill times are exact; the pool's own timer runs in real time.
 */
function demandPool(o: Partial<PoolSizingLimits> & { createMs?: number; warmMs?: number } = {}) {
  let clock = 1_000_000;
  let n = 0;
  const due: { at: number; run: () => void }[] = [];
  const created: Fake[] = [];
  const later = (ms: number) => new Promise<void>((run) => due.push({ at: clock + ms, run }));
  const p = new WarmPool<'bash' | 'python', Fake & { whenWarm?(): Promise<void> }>({
    keys: ['bash', 'python'],
    sizing: { floor: 1, ceiling: 8, memoryBudgetMb: 10_000, idleMs: 600_000, footprintMb: () => 10, ...o },
    now: () => clock,
    create: async () => {
      await later(o.createMs ?? 400);
      const f: Fake & { whenWarm?(): Promise<void> } = new Fake(++n);
      if (o.warmMs) {
        f.loaded = false;
        const warmed = later(o.warmMs).then(() => void (f.loaded = true));
        f.whenWarm = () => warmed;
      }
      created.push(f);
      return f;
    },
    destroy: async (f) => {
      f.destroyed = true;
    },
  });
  /** Moves the clock on in steps of 50 ms, running what falls due, and lets the pool act on it. */
  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= 50) {
      clock += Math.min(50, left);
      for (const d of due.filter((x) => x.at <= clock)) {
        due.splice(due.indexOf(d), 1);
        d.run();
      }
      await settle(1);
    }
    await settle(15);
  };
  const held = (k: 'bash' | 'python') => p.stats().ready[k] + p.stats().warming[k] + p.stats().starting[k];
  return { p, created, advance, held };
}

describe('WarmPool sized by demand', () => {
  it('holds the floor until something is taken', async () => {
    const { p, advance } = demandPool({ floor: 1 });
    p.start(5);
    await advance(1000);
    assert.deepEqual(p.stats().ready, { bash: 1, python: 1 });
    assert.deepEqual(p.stats().target, { bash: 1, python: 1 });
    assert.deepEqual(p.stats().arrivalRate, { bash: 0, python: 0 });
    await p.drain();
  });

  it('grows with a burst of takes, then shrinks back to the floor as it is forgotten, oldest first', async () => {
    const { p, created, advance, held } = demandPool({ createMs: 400 });
    p.start(5);
    await advance(500);
    assert.equal(p.stats().refillSeconds.bash, 0.4, 'the create time measured');
    // 40 takes, 50 ms apart (20/s for 2 s): far more than one member refilled in 400 ms can serve.
    let hits = 0;
    for (let i = 0; i < 40; i++) {
      if (p.take('bash')) hits++;
      await advance(50);
    }
    const grown = p.target('bash');
    assert.ok(grown >= 5, `the target rose with the burst: ${grown}`);
    assert.ok(p.stats().arrivalRate.bash > 5, `the rate: ${p.stats().arrivalRate.bash}`);
    assert.equal(p.target('python'), 1, 'another key is not affected');
    assert.ok(hits > 5, `the pool kept up with more of the burst as it grew: ${hits} of 40 hits`);
    await advance(500);
    assert.equal(p.stats().ready.bash, p.target('bash'), 'and filled to its target');
    const before = p.stats().ready.bash;
    const youngest = created.filter((f) => f.alive()).at(-1)!;

    // Quiet: the fast count forgets the burst within seconds, the slow one within a minute or two.
    await advance(20_000);
    const mid = p.stats().ready.bash;
    assert.ok(mid < before && mid >= 1, `shrinking: ${before} → ${mid}`);
    await advance(120_000);
    assert.equal(p.target('bash'), 1);
    assert.equal(held('bash'), 1, 'back to the floor');
    assert.equal(youngest.alive(), true, 'the oldest members went first');
    await p.drain();
  });

  it('falls to a floor of 0 once idle, and grows back at the next take', async () => {
    const { p, advance, held } = demandPool({ floor: 0, idleMs: 5_000, createMs: 100 });
    p.start(5);
    await advance(200);
    assert.equal(p.stats().ready.bash, 1, 'one for the next take until idle');
    await advance(5_500);
    assert.equal(p.target('bash'), 0);
    assert.equal(held('bash'), 0);
    assert.equal(p.take('bash'), null, 'a miss');
    await advance(200);
    assert.equal(p.stats().ready.bash, 1, 'the take made it want one again');
    await p.drain();
  });

  it('keeps all keys within the memory budget', async () => {
    // 60 MB at 10 per member: the floors take 20, so 4 more between the two keys.
    const { p, advance, held } = demandPool({ memoryBudgetMb: 60, createMs: 400 });
    p.start(5);
    await advance(500);
    let most = 0;
    for (let i = 0; i < 40; i++) {
      p.take('bash');
      p.take('python');
      await advance(50);
      const t = p.stats().target;
      assert.ok(t.bash + t.python <= 6, `targets within the budget: ${JSON.stringify(t)}`);
      most = Math.max(most, held('bash') + held('python'));
    }
    assert.equal(p.target('bash') + p.target('python'), 6, 'the whole budget used, shared');
    assert.equal(p.target('bash'), p.target('python'), 'equal demand, equal shares');
    await advance(600);
    assert.ok(held('bash') + held('python') <= 6, 'and the pool holds no more');
    await p.drain();
  });

  it('measures the refill time until the member is warm, not only until it is created', async () => {
    const { p, advance } = demandPool({ createMs: 100, warmMs: 300 });
    assert.equal(p.stats().refillSeconds.bash, 1, 'assumed until measured');
    p.start(5);
    await advance(150);
    assert.equal(p.stats().warming.bash, 1);
    assert.equal(p.stats().refillSeconds.bash, 1);
    await advance(350);
    assert.equal(p.stats().ready.bash, 1);
    assert.equal(p.stats().refillSeconds.bash, 0.4);
    await p.drain();
  });
});
