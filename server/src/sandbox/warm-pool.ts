import { arrivalRate, type Demand, initialDemand, type PoolSizingLimits, recordRefill, recordTake, refillMs, targets } from './pool-sizing.js';

/**
 * A pool of started, idle sandboxes per key (a language today), each handed to exactly one execution and never
 * returned: isolation comes before reuse. How many each key holds follows its demand (pool-sizing.ts): a take
 * raises the target and starts the replacement at once, a quiet spell lowers it and the excess is destroyed. The
 * pool drops members that died, backs off a key whose members fail to start, and is drained on shutdown.
 */
export interface PoolMember {
  /** False once the member died or was destroyed; a dead member is never handed out. */
  alive(): boolean;
  /**
   * False while the member is started but its pre-started interpreter still loads (absent: warm once started).
   * Warm members are handed out first, and only they count as ready.
   */
  warm?(): boolean;
  /** Settles once warm() turns true: the pool measures create-to-warm times with it (absent: until created). */
  whenWarm?(): Promise<void>;
}

const isWarm = (m: PoolMember) => m.warm?.() ?? true;

/**
 * When a taken member's replacement starts. claim: at the take, so that it is warm by the next take (the default).
 * end: once the execution that took it has ended (the owner calls refill) or after refillDelayMs, unless the take
 * left the key without a ready member, so that the start does not compete for the CPU with that execution.
 */
export type RefillMoment = 'claim' | 'end';

export interface WarmPoolOptions<K extends string, T extends PoolMember> {
  /**
   * The keys kept from the start, each with the floor. Other keys are learnt at their first take (a runtime with a
   * dependency bundle): no floor, members only while taken, and forgotten once idle with none left.
   */
  keys: readonly K[];
  /** Floor, ceiling, memory budget and idle time per key (null, or a ceiling of 0: no pool). */
  sizing: PoolSizingLimits | null;
  create(key: K): Promise<T>;
  destroy(item: T): Promise<void>;
  onError?(err: unknown, key: K): void;
  /** A learnt key was forgotten (idle, no member left). */
  onForget?(key: K): void;
  /** Default claim. */
  refillAt?: RefillMoment;
  /** With refillAt 'end': the longest a replacement waits for the execution's end (0: at once). */
  refillDelayMs?: number;
  /** The clock (tests pass their own). */
  now?(): number;
}

export interface PoolStats {
  /** The most members a key may hold (CRONIUM_POOL_MAX, or the fixed CRONIUM_POOL_SIZE). */
  size: number;
  /** The fewest members a key holds (CRONIUM_POOL_MIN, or the fixed CRONIUM_POOL_SIZE). */
  min: number;
  /** Estimated memory of all idle members together, in MiB; the floors are kept even beyond it (CRONIUM_POOL_MEMORY_MB). */
  memoryMb: number;
  refillAt: RefillMoment;
  /** Members the key should hold now (ready, warming and starting together). */
  target: Record<string, number>;
  ready: Record<string, number>;
  /** Started, their interpreter still loading: taken only when no ready one is left. */
  warming: Record<string, number>;
  starting: Record<string, number>;
  hits: Record<string, number>;
  misses: Record<string, number>;
  failures: Record<string, number>;
  /** Estimated takes per second. */
  arrivalRate: Record<string, number>;
  /** Estimated create-to-warm time of a member, in seconds (an assumed one until measured). */
  refillSeconds: Record<string, number>;
}

const noop = () => undefined;

export class WarmPool<K extends string, T extends PoolMember> {
  private readonly ready = new Map<K, T[]>();
  private readonly starting = new Map<K, number>();
  private readonly demand = new Map<K, Demand>();
  private readonly counters = { hits: new Map<K, number>(), misses: new Map<K, number>(), failures: new Map<K, number>() };
  private readonly failureStreak = new Map<K, number>();
  private readonly delayedRefill = new Map<K, NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly fixed: ReadonlySet<K>;
  private draining = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: WarmPoolOptions<K, T>) {
    this.now = o.now ?? Date.now;
    this.fixed = new Set(o.keys);
    for (const k of o.keys) this.track(k);
  }

  private track(k: K) {
    this.ready.set(k, []);
    this.starting.set(k, 0);
    this.demand.set(k, initialDemand(this.now()));
  }

  /** Every key tracked now: the fixed ones, then those learnt from takes. */
  private keys(): K[] {
    return [...this.ready.keys()];
  }

  /** A learnt key with no member left, none starting and a target of 0 (idle) is dropped, counters and all. */
  private forgetIdle(k: K) {
    if (this.fixed.has(k) || this.ready.get(k)!.length || (this.starting.get(k) ?? 0) > 0 || this.target(k) > 0) return;
    for (const m of [this.ready, this.starting, this.demand, this.failureStreak, this.counters.hits, this.counters.misses, this.counters.failures] as Map<K, unknown>[]) m.delete(k);
    this.o.onForget?.(k);
  }

  get enabled(): boolean {
    return (this.o.sizing?.ceiling ?? 0) > 0;
  }

  start(intervalMs = 1000): void {
    if (!this.enabled) return;
    for (const k of this.o.keys) this.refill(k);
    this.timer = setInterval(() => {
      for (const k of this.keys()) {
        this.prune(k);
        this.shrink(k);
        this.refill(k);
        this.forgetIdle(k);
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** The number of members a key should hold now (ready, warming and starting together). */
  target(key: K): number {
    return this.targets()[key] ?? 0;
  }

  private targets(): Record<string, number> {
    if (!this.enabled || this.draining || !this.o.sizing) return {};
    return targets(this.demand, this.now(), { ...this.o.sizing, hasFloor: (k) => this.fixed.has(k as K) });
  }

  /** Hands out a live member, or null (the caller starts a cold one). Records the arrival and refills (see refillAt). */
  take(key: K): T | null {
    if (!this.enabled) return null;
    if (!this.ready.has(key)) this.track(key);
    this.demand.set(key, recordTake(this.demand.get(key) ?? initialDemand(this.now()), this.now()));
    this.prune(key);
    const list = this.ready.get(key)!;
    // The oldest warm member, else the oldest still warming (it is still further along than a cold start).
    const at = Math.max(0, list.findIndex(isWarm));
    const item: T | undefined = list.splice(at, 1)[0];
    const bump = (m: Map<K, number>) => m.set(key, (m.get(key) ?? 0) + 1);
    bump(item ? this.counters.hits : this.counters.misses);
    const delay = this.o.refillAt === 'end' ? (this.o.refillDelayMs ?? 0) : 0;
    // Ran dry (a miss, or the last member went): demand is outrunning the pool, so refill at once in either mode.
    if (!item || delay <= 0 || list.length === 0) this.refill(key);
    else if (!this.delayedRefill.has(key)) {
      const t = setTimeout(() => this.refill(key), delay);
      t.unref();
      this.delayedRefill.set(key, t);
    }
    return item ?? null;
  }

  private prune(key: K) {
    const list = this.ready.get(key)!;
    const dead = list.filter((i) => !i.alive());
    if (!dead.length) return;
    this.ready.set(key, list.filter((i) => i.alive()));
    for (const d of dead) void this.o.destroy(d).catch(noop);
  }

  /**
   * Destroys idle members beyond the target, oldest first: the one that has waited longest is the likeliest to be
   * out of date (started from an image since replaced), and a young one may be warm by now as well.
   */
  private shrink(key: K) {
    const list = this.ready.get(key)!;
    const excess = Math.min(list.length, list.length + (this.starting.get(key) ?? 0) - this.target(key));
    for (const item of list.splice(0, Math.max(0, excess))) void this.o.destroy(item).catch(noop);
  }

  /** Starts members until the key holds its target (an owner calls it when an execution ends: see refillAt). */
  refill(key: K): void {
    if (!this.ready.has(key)) return; // a learnt key since forgotten
    const pending = this.delayedRefill.get(key);
    if (pending) {
      clearTimeout(pending);
      this.delayedRefill.delete(key);
    }
    const streak = this.failureStreak.get(key) ?? 0;
    // A key whose members keep failing to start (a missing image) is retried by the timer, not in a tight loop.
    const missing = this.target(key) - this.ready.get(key)!.length - (this.starting.get(key) ?? 0);
    const n = streak > 2 ? Math.min(missing, 1) : missing;
    for (let i = 0; i < n; i++) {
      this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
      const began = this.now();
      void this.o
        .create(key)
        .then(async (item) => {
          this.failureStreak.set(key, 0);
          this.measureRefill(key, item, began);
          if (this.draining || this.ready.get(key)!.length >= this.target(key)) await this.o.destroy(item);
          else this.ready.get(key)!.push(item);
        })
        .catch((err: unknown) => {
          this.failureStreak.set(key, streak + 1);
          this.counters.failures.set(key, (this.counters.failures.get(key) ?? 0) + 1);
          this.o.onError?.(err, key);
        })
        .finally(() => this.starting.set(key, (this.starting.get(key) ?? 1) - 1));
    }
  }

  /** Feeds the member's create-to-warm time to the key's refill estimate (the time a take waits to be replaced). */
  private measureRefill(key: K, item: T, began: number) {
    const record = () => {
      if (item.alive()) this.demand.set(key, recordRefill(this.demand.get(key) ?? initialDemand(began), this.now() - began));
    };
    if (isWarm(item) || !item.whenWarm) record();
    else void item.whenWarm().then(record, noop);
  }

  stats(): PoolStats {
    const keys = this.keys();
    const rec = (f: (k: K) => number) => Object.fromEntries(keys.map((k) => [k, f(k)]));
    const count = (m: Map<K, number>) => rec((k) => m.get(k) ?? 0);
    const live = (k: K, warm: boolean) => this.ready.get(k)!.filter((i) => i.alive() && isWarm(i) === warm).length;
    const t = this.targets();
    const now = this.now();
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    const demand = (k: K) => this.demand.get(k) ?? initialDemand(now);
    return {
      size: this.enabled ? this.o.sizing!.ceiling : 0,
      min: this.enabled ? this.o.sizing!.floor : 0,
      memoryMb: this.o.sizing?.memoryBudgetMb ?? 0,
      refillAt: this.o.refillAt ?? 'claim',
      target: rec((k) => t[k] ?? 0),
      ready: rec((k) => live(k, true)),
      warming: rec((k) => live(k, false)),
      starting: count(this.starting),
      hits: count(this.counters.hits),
      misses: count(this.counters.misses),
      failures: count(this.counters.failures),
      arrivalRate: rec((k) => round3(arrivalRate(demand(k), now))),
      refillSeconds: rec((k) => round3(refillMs(demand(k)) / 1000)),
    };
  }

  /** Stops refilling and destroys every idle member; waits for those still starting. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.delayedRefill.values()) clearTimeout(t);
    this.delayedRefill.clear();
    const all = [...this.ready.values()].flat();
    for (const k of this.keys()) this.ready.set(k, []);
    await Promise.all(all.map((i) => this.o.destroy(i).catch(noop)));
    const deadline = Date.now() + 15_000;
    while ([...this.starting.values()].some((n) => n > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
