/**
 * A pool of started, idle sandboxes per key (language), each handed to exactly one execution and never returned:
 * isolation comes before reuse. The pool refills in the background, never holds more than its size, shrinks to
 * one per key after a quiet spell, drops members that died, and is drained on shutdown.
 */
export interface PoolMember {
  /** False once the member died or was destroyed; a dead member is never handed out. */
  alive(): boolean;
  /**
   * False while the member is started but its pre-started interpreter still loads (absent: warm once started).
   * Warm members are handed out first, and only they count as ready.
   */
  warm?(): boolean;
}

const isWarm = (m: PoolMember) => m.warm?.() ?? true;

export interface WarmPoolOptions<K extends string, T extends PoolMember> {
  keys: readonly K[];
  size: number;
  create(key: K): Promise<T>;
  destroy(item: T): Promise<void>;
  /** After this long without a take, a key keeps only one member (0: never shrink). */
  idleMs?: number;
  onError?(err: unknown, key: K): void;
  /**
   * After a hit that leaves members ready, wait this long (or for an earlier refill call) before starting the
   * replacement, so that it does not compete for CPU with the execution that just took the member (0: at once).
   * A miss, or taking the last ready member, refills at once.
   */
  refillDelayMs?: number;
}

export interface PoolStats {
  size: number;
  ready: Record<string, number>;
  /** Started, their interpreter still loading: taken only when no ready one is left. */
  warming: Record<string, number>;
  starting: Record<string, number>;
  hits: Record<string, number>;
  misses: Record<string, number>;
  failures: Record<string, number>;
}

export class WarmPool<K extends string, T extends PoolMember> {
  private readonly ready = new Map<K, T[]>();
  private readonly starting = new Map<K, number>();
  private readonly lastTake = new Map<K, number>();
  private readonly counters = { hits: new Map<K, number>(), misses: new Map<K, number>(), failures: new Map<K, number>() };
  private readonly failureStreak = new Map<K, number>();
  private readonly delayedRefill = new Map<K, NodeJS.Timeout>();
  private draining = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: WarmPoolOptions<K, T>) {
    for (const k of o.keys) {
      this.ready.set(k, []);
      this.starting.set(k, 0);
      this.lastTake.set(k, Date.now());
    }
  }

  get enabled(): boolean {
    return this.o.size > 0;
  }

  start(intervalMs = 1000): void {
    if (!this.enabled) return;
    for (const k of this.o.keys) this.refill(k);
    this.timer = setInterval(() => {
      for (const k of this.o.keys) {
        this.prune(k);
        this.shrinkIfIdle(k);
        this.refill(k);
      }
    }, intervalMs);
    this.timer.unref();
  }

  /** The number of members a key should hold now. */
  target(key: K): number {
    if (!this.enabled || this.draining) return 0;
    const idle = this.o.idleMs ?? 0;
    if (idle > 0 && Date.now() - (this.lastTake.get(key) ?? 0) > idle) return Math.min(1, this.o.size);
    return this.o.size;
  }

  /** Hands out a live member, or null (the caller starts a cold one). Triggers a refill either way (see refillDelayMs). */
  take(key: K): T | null {
    if (!this.enabled) return null;
    this.lastTake.set(key, Date.now());
    this.prune(key);
    const list = this.ready.get(key)!;
    // The oldest warm member, else the oldest still warming (it is still further along than a cold start).
    const at = Math.max(0, list.findIndex(isWarm));
    const item: T | undefined = list.splice(at, 1)[0];
    const bump = (m: Map<K, number>) => m.set(key, (m.get(key) ?? 0) + 1);
    bump(item ? this.counters.hits : this.counters.misses);
    const delay = this.o.refillDelayMs ?? 0;
    // Ran dry (a miss, or the last member went): demand is outrunning the pool, so refill at once.
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
    for (const d of dead) void this.o.destroy(d).catch(() => undefined);
  }

  private shrinkIfIdle(key: K) {
    const list = this.ready.get(key)!;
    const excess = list.length + (this.starting.get(key) ?? 0) - this.target(key);
    for (let i = 0; i < excess && list.length; i++) void this.o.destroy(list.pop()!).catch(() => undefined);
  }

  refill(key: K): void {
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
      void this.o
        .create(key)
        .then(async (item) => {
          this.failureStreak.set(key, 0);
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

  stats(): PoolStats {
    const rec = (m: Map<K, number>) => Object.fromEntries(this.o.keys.map((k) => [k, m.get(k) ?? 0]));
    return {
      size: this.o.size,
      ready: Object.fromEntries(this.o.keys.map((k) => [k, this.ready.get(k)!.filter((i) => i.alive() && isWarm(i)).length])),
      warming: Object.fromEntries(this.o.keys.map((k) => [k, this.ready.get(k)!.filter((i) => i.alive() && !isWarm(i)).length])),
      starting: rec(this.starting),
      hits: rec(this.counters.hits),
      misses: rec(this.counters.misses),
      failures: rec(this.counters.failures),
    };
  }

  /** Stops refilling and destroys every idle member; waits for those still starting. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.delayedRefill.values()) clearTimeout(t);
    this.delayedRefill.clear();
    const all = [...this.ready.values()].flat();
    for (const k of this.o.keys) this.ready.set(k, []);
    await Promise.all(all.map((i) => this.o.destroy(i).catch(() => undefined)));
    const deadline = Date.now() + 15_000;
    while ([...this.starting.values()].some((n) => n > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
