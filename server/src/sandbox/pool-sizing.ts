/**
 * How many idle members the warm pool keeps per key, from demand: pure functions over a small per-key record,
 * the clock passed in (no timers, no I/O), so that every case is a table test (test/unit/pool-sizing.test.ts).
 *
 * A key is a plain string (a language today; a language with a dependency bundle later). Per key the pool
 * records each take (an arrival) and each measured refill (a member's create-to-warm time); from them:
 *
 *   need   = arrival rate (takes/s) × refill time (s) × HEADROOM   the takes expected while a replacement starts
 *   wanted = ceil(need) + 1                                          (+1: the member for the next take)
 *
 * clamped to [floor, ceiling], the floor alone after `idleMs` without a take, and all keys' members together
 * within a memory budget (shareBudget): what the floors leave of it is shared in proportion to what each key needs.
 */

/** The bounds an operator sets (config.ts: CRONIUM_POOL_MIN, _MAX, _MEMORY_MB, _IDLE_MS, or a fixed _SIZE). */
export interface PoolSizingLimits {
  /** Members per key kept whatever the demand (and whatever the budget: the operator asked for them). */
  floor: number;
  /** Members per key never exceeded. */
  ceiling: number;
  /** Estimated memory of all keys' idle members together, in MiB; the floors are kept even beyond it. */
  memoryBudgetMb: number;
  /** After this long without a take a key keeps only its floor (0: never). */
  idleMs: number;
  /** The estimated memory an idle member of this key holds, in MiB (its real usage, not its limit). */
  footprintMb(key: string): number;
  /**
   * Keys the pool learns of as they are asked for (a runtime with a dependency bundle) have no floor: they hold
   * members while they are used and none once idle. Absent: every key has the floor.
   */
  hasFloor?(key: string): boolean;
}

/** What the pool has seen of one key. Never mutated: each record* returns a new one. */
export interface Demand {
  /** Decayed counts of takes (FAST_HALF_LIFE_MS, SLOW_HALF_LIFE_MS), as of `at`. */
  readonly fast: number;
  readonly slow: number;
  readonly at: number;
  /** The last take, or when the key began to be tracked (so that a key nobody used yet is idle after idleMs). */
  readonly lastTake: number;
  /** EWMA of measured create-to-warm times; null until one was measured. */
  readonly refillMs: number | null;
}

/**
 * The arrival rate is the larger of two exponentially decayed counts of takes. A single count with a half-life
 * of 10–20 s reads a burst far too low while it happens (20 takes in one second read as ~1/s after that second,
 * as they are spread over the count's ~22 s memory); a 2 s count reads it within a second or two (~6/s) but
 * forgets it as fast, and the pool would destroy members only to start them again at the next burst (each
 * start costs a few hundred ms of CPU). The max of the two rises with the fast count and falls with the slow one.
 */
export const FAST_HALF_LIFE_MS = 2_000;
export const SLOW_HALF_LIFE_MS = 15_000;
/**
 * The fast count speaks only above this (about three takes within two seconds): right after a lone take it reads
 * ~0.35/s whatever the real rate, which would start an extra member after every sparse take only to destroy it
 * seconds later. Below it the slow count alone reads the rate, which it does well at a steady pace.
 */
export const FAST_MIN_COUNT = 2;
/**
 * Room above the mean: arrivals come in clumps, and a refill that starts while others start takes longer than the
 * average (two cores shared).
 */
export const HEADROOM = 1.5;
/**
 * Below this need (fewer than one take in five refill times, headroom included) the +1 member covers it. Without
 * the cut-off any decayed rate, however old, would keep a second member for ever (the ceiling of anything
 * positive is 1), and a lone take (the slow count then reads ~0.05/s) would start one on a slow host.
 */
export const MIN_NEED = 0.2;
/** The weight of a new refill measurement: a few converge, and one slow start (a busy host) does not dominate. */
export const REFILL_WEIGHT = 0.3;
/**
 * The refill time assumed until one is measured: the docker driver's start on a small host (0.5–1 s; runc/crun is
 * faster). The floor's members start at once, so measurements replace it within seconds of the start.
 */
export const INITIAL_REFILL_MS = 1_000;

const tau = (halfLifeMs: number) => halfLifeMs / Math.LN2;
const decay = (value: number, elapsedMs: number, halfLifeMs: number) => (elapsedMs > 0 ? value * 2 ** (-elapsedMs / halfLifeMs) : value);

export function initialDemand(now: number): Demand {
  return { fast: 0, slow: 0, at: now, lastTake: now, refillMs: null };
}

export function recordTake(d: Demand, now: number): Demand {
  const at = Math.max(now, d.at);
  return {
    ...d,
    fast: decay(d.fast, at - d.at, FAST_HALF_LIFE_MS) + 1,
    slow: decay(d.slow, at - d.at, SLOW_HALF_LIFE_MS) + 1,
    at,
    lastTake: at,
  };
}

/** A member of this key was started and became warm `ms` after its creation began. */
export function recordRefill(d: Demand, ms: number): Demand {
  if (!Number.isFinite(ms) || ms < 0) return d;
  return { ...d, refillMs: d.refillMs === null ? ms : d.refillMs + REFILL_WEIGHT * (ms - d.refillMs) };
}

/** Takes per second, estimated at `now`. A decayed count S of a steady rate r settles at r·τ, so S/τ reads r. */
export function arrivalRate(d: Demand, now: number): number {
  const elapsed = now - d.at;
  const fastCount = decay(d.fast, elapsed, FAST_HALF_LIFE_MS);
  const fast = fastCount > FAST_MIN_COUNT ? fastCount / tau(FAST_HALF_LIFE_MS) : 0;
  const slow = decay(d.slow, elapsed, SLOW_HALF_LIFE_MS) / tau(SLOW_HALF_LIFE_MS);
  return Math.max(fast, slow) * 1000;
}

/** The refill time the target is computed with: measured, else INITIAL_REFILL_MS. */
export function refillMs(d: Demand): number {
  return d.refillMs ?? INITIAL_REFILL_MS;
}

export function isIdle(d: Demand, now: number, idleMs: number): boolean {
  return idleMs > 0 && now - d.lastTake > idleMs;
}

/** What one key would hold on its own, within its floor and ceiling (the budget not applied). */
export function wanted(d: Demand, now: number, limits: PoolSizingLimits): number {
  const { floor, ceiling } = limits;
  if (isIdle(d, now, limits.idleMs)) return Math.min(floor, ceiling);
  const need = (arrivalRate(d, now) * refillMs(d) * HEADROOM) / 1000;
  const n = (need < MIN_NEED ? 0 : Math.ceil(need)) + 1;
  return Math.min(ceiling, Math.max(floor, n));
}

/** One key's case for the budget. */
export interface BudgetClaim {
  key: string;
  floor: number;
  wanted: number;
  costMb: number;
}

/**
 * Members per key within the budget. Floors are always kept (the budget covers what demand adds above them);
 * when the extra members everybody wants do not fit, each key gets the same fraction of its extra (its share of
 * the budget is in proportion to the memory it asks for), rounded down, and what rounding left over goes one
 * member at a time to the keys with the largest remainders that still fit (work-conserving: none is left unused
 * while a member that fits is wanted).
 */
export function shareBudget(claims: readonly BudgetClaim[], budgetMb: number): Record<string, number> {
  const out: Record<string, number> = {};
  const extra = claims.map((c) => ({ c, n: Math.max(0, c.wanted - c.floor), cost: Math.max(0, c.costMb) }));
  let left = Math.max(0, budgetMb - claims.reduce((s, c) => s + Math.min(c.floor, c.wanted) * Math.max(0, c.costMb), 0));
  const asked = extra.reduce((s, e) => s + e.n * e.cost, 0);
  if (asked <= left) {
    for (const c of claims) out[c.key] = Math.max(c.floor, c.wanted);
    return out;
  }
  const shares = extra.map((e) => {
    const exact = e.cost > 0 ? (left * e.n) / asked : e.n;
    const n = Math.min(e.n, Math.floor(exact));
    return { ...e, granted: n, remainder: exact - n };
  });
  left -= shares.reduce((s, e) => s + e.granted * e.cost, 0);
  // Round after round, so that a share too small for one member of its key is not wasted while others want more.
  const order = [...shares].sort((a, b) => b.remainder - a.remainder);
  for (let gave = true; gave; ) {
    gave = false;
    for (const e of order) {
      if (e.granted < e.n && e.cost <= left + 1e-9) {
        e.granted++;
        left -= e.cost;
        gave = true;
      }
    }
  }
  for (const e of shares) out[e.c.key] = Math.min(e.c.floor, e.c.wanted) + e.granted;
  return out;
}

/** Every key's target at `now`: wanted, then the budget applied across keys. */
export function targets(demands: ReadonlyMap<string, Demand>, now: number, limits: PoolSizingLimits): Record<string, number> {
  const claims = [...demands].map(([key, d]) => {
    const own = limits.hasFloor && !limits.hasFloor(key) ? { ...limits, floor: 0 } : limits;
    return { key, floor: own.floor, wanted: wanted(d, now, own), costMb: limits.footprintMb(key) };
  });
  return shareBudget(claims, limits.memoryBudgetMb);
}
