import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  arrivalRate,
  type Demand,
  HEADROOM,
  INITIAL_REFILL_MS,
  initialDemand,
  isIdle,
  type PoolSizingLimits,
  recordRefill,
  recordTake,
  REFILL_WEIGHT,
  refillMs,
  shareBudget,
  targets,
  wanted,
} from '../../src/sandbox/pool-sizing.js';

const t0 = 1_000_000;
const s = (seconds: number) => t0 + seconds * 1000;

/** Takes at these seconds after t0. */
const takes = (at: number[], d: Demand = initialDemand(t0)) => at.reduce((acc, x) => recordTake(acc, s(x)), d);
/** A steady `rate` per second from second `from` for `seconds`; the last take at from + seconds. */
const steady = (rate: number, seconds: number, from = 0) =>
  Array.from({ length: Math.round(rate * seconds) }, (_, i) => from + (i + 1) / rate);
const refilled = (d: Demand, ...ms: number[]) => ms.reduce(recordRefill, d);

const limits = (over: Partial<PoolSizingLimits> = {}): PoolSizingLimits => ({
  floor: 1,
  ceiling: 8,
  memoryBudgetMb: 10_000,
  idleMs: 600_000,
  footprintMb: () => 10,
  ...over,
});

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

describe('pool sizing: the arrival rate', () => {
  const cases: { name: string; at: number[]; now: number; rate: number; tolerance: number }[] = [
    { name: 'no take yet: zero', at: [], now: 30, rate: 0, tolerance: 0 },
    // Read halfway between two takes: right after one, a decayed count is half a take above its mean.
    { name: 'steady 5/s for a minute reads 5/s', at: steady(5, 60), now: 60.1, rate: 5, tolerance: 0.2 },
    { name: 'steady 1/s for a minute reads 1/s', at: steady(1, 60), now: 60.5, rate: 1, tolerance: 0.1 },
    { name: 'steady 1/s, right after a take: a little above', at: steady(1, 60), now: 60, rate: 1.18, tolerance: 0.05 },
    { name: 'steady 0.2/s for two minutes reads 0.2/s (slow count alone)', at: steady(0.2, 120), now: 122.5, rate: 0.2, tolerance: 0.03 },
    { name: 'steady 20/s for 30 s reads 20/s', at: steady(20, 30), now: 30.025, rate: 20, tolerance: 0.5 },
    // 20 takes within the last second: the fast count (2 s half-life) reads most of them at once.
    { name: 'a burst of 20 in one second reads ~6/s at its end', at: steady(20, 1), now: 1, rate: 6.2, tolerance: 0.6 },
    { name: 'the burst, 10 s later: the slow count remembers it (~0.6/s)', at: steady(20, 1), now: 11, rate: 0.58, tolerance: 0.05 },
    { name: 'the burst, 60 s later: nearly gone', at: steady(20, 1), now: 61, rate: 0.06, tolerance: 0.02 },
    { name: 'a lone take reads as the slow count only (~0.05/s), not the fast one', at: [10], now: 10, rate: 0.046, tolerance: 0.005 },
    { name: 'two takes a second apart: still below the fast count\'s threshold', at: [10, 11], now: 11, rate: 0.09, tolerance: 0.01 },
  ];
  for (const c of cases) {
    it(c.name, () => near(arrivalRate(takes(c.at), s(c.now)), c.rate, c.tolerance, c.name));
  }

  it('rises quickly within a burst and falls steadily after it', () => {
    const d = takes(steady(20, 1));
    const during = [0.1, 0.3, 0.5, 0.8, 1].map((x) => arrivalRate(takes(steady(20, x)), s(x)));
    for (let i = 1; i < during.length; i++) assert.ok(during[i]! > during[i - 1]!, `rising: ${during.join(', ')}`);
    const after = [1, 2, 5, 10, 20, 40, 80].map((x) => arrivalRate(d, s(x)));
    for (let i = 1; i < after.length; i++) assert.ok(after[i]! < after[i - 1]!, `falling: ${after.join(', ')}`);
  });

  it('ignores a clock that goes back', () => {
    const d = takes([10, 5]);
    assert.equal(d.at, s(10));
    assert.ok(Number.isFinite(arrivalRate(d, s(9))));
  });
});

describe('pool sizing: the refill time', () => {
  it('is assumed until measured, then the first measurement, then an EWMA', () => {
    const d = initialDemand(t0);
    assert.equal(refillMs(d), INITIAL_REFILL_MS);
    assert.equal(refillMs(refilled(d, 400)), 400);
    assert.equal(refillMs(refilled(d, 400, 800)), 400 + REFILL_WEIGHT * 400);
    near(refillMs(refilled(d, 400, ...Array(30).fill(200))), 200, 1, 'converges on a steady value');
  });

  it('ignores values that are no measurement', () => {
    const d = refilled(initialDemand(t0), 300);
    for (const bad of [Number.NaN, -5, Number.POSITIVE_INFINITY]) assert.equal(refillMs(recordRefill(d, bad)), 300);
  });
});

describe('pool sizing: what one key wants', () => {
  const cases: { name: string; d: Demand; now: number; limits?: Partial<PoolSizingLimits>; want: number }[] = [
    { name: 'nothing taken yet: the floor, or the one member for the next take', d: initialDemand(t0), now: 5, want: 1 },
    { name: 'nothing taken yet, floor 0: still one for the next take until idle', d: initialDemand(t0), now: 5, limits: { floor: 0 }, want: 1 },
    { name: 'nothing taken yet, floor 0, idle: none', d: initialDemand(t0), now: 700, limits: { floor: 0 }, want: 0 },
    { name: 'floor 3 with no demand: 3', d: initialDemand(t0), now: 5, limits: { floor: 3 }, want: 3 },
    // 5/s × 0.4 s × 1.5 = 3 expected takes during a refill, +1.
    // 5/s × 0.3 s × 1.5 = 2.25 takes expected during a refill → 3, +1.
    { name: 'steady 5/s, 300 ms refill: 4', d: refilled(takes(steady(5, 60)), 300), now: 60.1, want: 4 },
    // 1/s × 0.4 s × 1.5 = 0.6 → 1, +1.
    { name: 'steady 1/s, 400 ms refill: 2', d: refilled(takes(steady(1, 60)), 400), now: 60.5, want: 2 },
    // 20/s × 0.35 s × 1.5 = 10.5 → 11, +1.
    { name: 'steady 20/s, 350 ms refill: 12, cut to the ceiling', d: refilled(takes(steady(20, 30)), 350), now: 30.025, want: 8 },
    { name: 'steady 20/s, 350 ms refill, ceiling 20: 12', d: refilled(takes(steady(20, 30)), 350), now: 30.025, limits: { ceiling: 20 }, want: 12 },
    // Unknown refill time: INITIAL_REFILL_MS (1 s), 2.5/s × 1 s × 1.5 = 3.75 → 4, +1.
    { name: 'steady 2.5/s, refill time unknown: computed with the assumed 1 s', d: takes(steady(2.5, 60)), now: 60.2, want: 5 },
    // 2.5/s × 0.1 s × 1.5 = 0.375 → 1, +1.
    { name: 'steady 2.5/s, a fast runtime (100 ms refill): 2', d: refilled(takes(steady(2.5, 60)), 100), now: 60.2, want: 2 },
    { name: 'steady 2.5/s, a very fast runtime (40 ms refill): the +1 covers it', d: refilled(takes(steady(2.5, 60)), 40), now: 60.2, want: 1 },
    // ~5.9/s × 0.4 s × 1.5 = 3.5 → 4, +1.
    { name: 'a burst of 20 in a second, 400 ms refill: 5 at its end', d: refilled(takes(steady(20, 1)), 400), now: 1, want: 5 },
    { name: 'the burst, 15 s later: 2', d: refilled(takes(steady(20, 1)), 400), now: 16, want: 2 },
    { name: 'the burst, 2 minutes later: back to 1', d: refilled(takes(steady(20, 1)), 400), now: 121, want: 1 },
    { name: 'idle after the burst (idleMs 5 s): the floor at once', d: refilled(takes(steady(20, 1)), 400), now: 7, limits: { idleMs: 5000 }, want: 1 },
    { name: 'idleMs 0 never idles', d: initialDemand(t0), now: 1e6, limits: { idleMs: 0, floor: 0 }, want: 1 },
    { name: 'a lone take on a slow host (2 s refill): no second member', d: refilled(takes([10]), 2000), now: 10, want: 1 },
    { name: 'ceiling equal to floor (a fixed size): that size whatever the demand', d: refilled(takes(steady(20, 30)), 400), now: 30, limits: { floor: 2, ceiling: 2 }, want: 2 },
    { name: 'a fixed size with no demand and idle: that size', d: initialDemand(t0), now: 5000, limits: { floor: 2, ceiling: 2, idleMs: 1000 }, want: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(wanted(c.d, s(c.now), limits(c.limits)), c.want));
  }

  it('is ceil(rate × refill × headroom) + 1 in between', () => {
    const d = refilled(takes(steady(3, 60)), 500);
    const rate = arrivalRate(d, s(60.1));
    assert.equal(wanted(d, s(60.1), limits({ ceiling: 100 })), Math.ceil(rate * 0.5 * HEADROOM) + 1);
  });

  it('calls a key idle only after idleMs since its last take (or since it was tracked)', () => {
    const d = takes([10]);
    assert.equal(isIdle(d, s(14), 5000), false);
    assert.equal(isIdle(d, s(16), 5000), true);
    assert.equal(isIdle(initialDemand(t0), s(6), 5000), true);
    assert.equal(isIdle(d, s(1e6), 0), false);
  });
});

describe('pool sizing: the memory budget across keys', () => {
  const claim = (key: string, floor: number, want: number, costMb: number) => ({ key, floor, wanted: want, costMb });
  const cases: { name: string; claims: ReturnType<typeof claim>[]; budgetMb: number; want: Record<string, number> }[] = [
    { name: 'everything fits', claims: [claim('bash', 1, 4, 10), claim('python', 1, 2, 20)], budgetMb: 100, want: { bash: 4, python: 2 } },
    { name: 'exactly fits (the floors count)', claims: [claim('bash', 1, 4, 10), claim('python', 1, 2, 20)], budgetMb: 80, want: { bash: 4, python: 2 } },
    // 49 MB for 30 + 20 asked: 2.94 bash → 2, 0.98 python → 0; the larger remainder (python) gets the next member.
    { name: 'one MB short', claims: [claim('bash', 1, 4, 10), claim('python', 1, 2, 20)], budgetMb: 79, want: { bash: 3, python: 2 } },
    { name: 'no budget: the floors only', claims: [claim('bash', 1, 4, 10), claim('python', 1, 3, 20)], budgetMb: 0, want: { bash: 1, python: 1 } },
    {
      name: 'floors beyond the budget are kept all the same',
      claims: [claim('bash', 3, 5, 10), claim('node', 3, 3, 30)],
      budgetMb: 50,
      want: { bash: 3, node: 3 },
    },
    {
      // 10 + 20 MB asked of 15: each gets half its extra.
      name: 'binding: shared in proportion to need',
      claims: [claim('bash', 0, 10, 1), claim('node', 0, 2, 10)],
      budgetMb: 15,
      want: { bash: 5, node: 1 },
    },
    {
      // node's half (5 MB) buys none of its 10 MB members: bash, which can use it, gets it.
      name: 'a share too small for a member goes to a key that can use it',
      claims: [claim('bash', 0, 10, 1), claim('node', 0, 1, 10)],
      budgetMb: 10,
      want: { bash: 10, node: 0 },
    },
    {
      name: 'binding, equal costs: in proportion to the members wanted above the floor',
      claims: [claim('bash', 1, 7, 10), claim('python', 1, 4, 10), claim('node', 1, 1, 10)],
      budgetMb: 30 + 45,
      // 75 - 30 of floors = 45 MB for 6 + 3 wanted: 2/3 and 1/3 of 4.5 members = 3 and 1.5 → 3 and 1, and the
      // leftover half member (5 MB) fits no 10 MB member.
      want: { bash: 4, python: 2, node: 1 },
    },
    {
      name: 'the rounding leftover goes to the largest remainder that fits',
      claims: [claim('bash', 0, 3, 10), claim('python', 0, 3, 10)],
      budgetMb: 50,
      // 2.5 members each: 2 + 2, and 10 MB left for one more: the first of the equal remainders.
      want: { bash: 3, python: 2 },
    },
    {
      name: 'a cheap key gets the leftover an expensive one cannot use',
      claims: [claim('bash', 0, 4, 5), claim('node', 0, 4, 40)],
      budgetMb: 100,
      // 180 MB asked of 100: 5/9 each: bash 2.2 → 2 (10 MB), node 2.2 → 2 (80 MB); 10 MB left: bash +2 (node needs 40).
      want: { bash: 4, node: 2 },
    },
    { name: 'a key that costs nothing gets what it wants', claims: [claim('bash', 0, 4, 0), claim('node', 0, 4, 40)], budgetMb: 80, want: { bash: 4, node: 2 } },
    { name: 'no keys', claims: [], budgetMb: 10, want: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = shareBudget(c.claims, c.budgetMb);
      assert.deepEqual(got, c.want);
      const above = c.claims.reduce((sum, x) => sum + (got[x.key]! - Math.min(x.floor, x.wanted)) * x.costMb, 0);
      assert.ok(above <= Math.max(0, c.budgetMb - c.claims.reduce((sum, x) => sum + x.floor * x.costMb, 0)) + 1e-9, 'within the budget');
    });
  }

  it('targets(): each key wants from its own demand, the budget is shared by all', () => {
    const busy = refilled(takes(steady(5, 60)), 300); // wants 4 at 60.1
    const quiet = initialDemand(t0); // wants 1
    const demands = new Map<string, Demand>([
      ['bash', busy],
      ['python', busy],
      ['node', quiet],
    ]);
    const footprintMb = (k: string) => ({ bash: 5, python: 15, node: 25 })[k] ?? 25;
    assert.deepEqual(targets(demands, s(60.1), limits({ footprintMb })), { bash: 4, python: 4, node: 1 });
    // 75 MB: the floors take 45, 30 are left; asked 3×5 + 3×15 = 60: half each: 1.5 bash → 1, 1.5 python → 1; the
    // 10 MB left buy no python member (15), but two more bash ones.
    assert.deepEqual(targets(demands, s(60.1), limits({ footprintMb, memoryBudgetMb: 75 })), { bash: 4, python: 2, node: 1 });
    // Less than the floors: the floors.
    assert.deepEqual(targets(demands, s(60.1), limits({ footprintMb, memoryBudgetMb: 30 })), { bash: 1, python: 1, node: 1 });
    // A key the pool learnt of later (per-dependency keys) is just another entry.
    demands.set('python+numpy', busy);
    assert.equal(targets(demands, s(60.1), limits({ footprintMb })).python_numpy, undefined);
    assert.equal(targets(demands, s(60.1), limits({ footprintMb }))['python+numpy'], 4);
  });

  it('targets(): a key without a floor (a dependency bundle) holds members while used and none once idle', () => {
    const hasFloor = (k: string) => !k.includes('+');
    const once = takes([0]);
    const demands = new Map<string, Demand>([
      ['python', initialDemand(t0)],
      ['python+abc', once],
    ]);
    // Right after a take (the pool learns of such a key at its first) it wants the member for the next take.
    assert.deepEqual(targets(demands, s(1), limits({ hasFloor })), { python: 1, 'python+abc': 1 });
    // Idle (10 min without a take): the floor, which is 0 for the bundle key and 1 for the language.
    assert.deepEqual(targets(demands, s(601), limits({ hasFloor })), { python: 1, 'python+abc': 0 });
    // A floor of 0 does not take from the budget the floors are kept from.
    const tight = targets(demands, s(1), limits({ hasFloor, memoryBudgetMb: 10 }));
    assert.deepEqual(tight, { python: 1, 'python+abc': 0 });
  });
});
