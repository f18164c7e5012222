import type { PoolConfig } from '../config.js';
import crypto from 'node:crypto';
import { type Language, SandboxError, type SandboxJob, type SandboxLimits, type SandboxMount } from './driver.js';
import { footprintMb } from './pool-footprint.js';
import { type PoolMember, type PoolStats, WarmPool } from './warm-pool.js';

/** A started sandbox waiting for its job, as either driver prepares it. */
export interface WaitingSandbox extends PoolMember {
  limits: SandboxLimits;
  remove(): Promise<void>;
}

export interface SandboxPoolOptions<P extends WaitingSandbox> {
  /** Null or undefined: no pool. */
  sizing?: PoolConfig | null;
  /** The limits pooled sandboxes start with. */
  limits?: SandboxLimits;
  prepare(shape: PoolShape, limits: SandboxLimits): Promise<P>;
  /**
   * The image of a language's default runtime. The pool holds those under the language's name (bash, python,
   * node: /health, /metrics) with the floor; another runtime, a custom image (SandboxJob.image) or a dependency
   * bundle's mounts make a learnt key (warm-pool.ts), kept while it is used.
   */
  defaultImage(language: Language): string;
  /** Applies other memory/CPU/pids limits to a running sandbox; throws where the runtime cannot. */
  update(p: P, limits: SandboxLimits): Promise<void>;
  onError?(err: unknown, language: string): void;
}

/**
 * With refillAt 'end' (CRONIUM_POOL_REFILL=end), while others stay ready, a pooled sandbox's replacement starts when
 * the execution that took it has ended, or after this long: starting a sandbox costs a few hundred ms of CPU, which
 * on a small host the execution would otherwise compete with. Taking the last ready one refills at once
 * (warm-pool.ts). The default, 'claim', starts it at the take: waiting made a steady stream of short executions
 * outrun the pool (5 cold starts in 20 back-to-back bash executions with a pool of 2).
 */
const REFILL_DELAY_MS = 1000;

/**
 * How long a pooled sandbox may take to confirm it has the job before the execution goes on without knowing:
 * its launcher is already waiting for the job, so this is only ever reached on a stalled host. After it, the
 * job is never moved to another sandbox (it might be running).
 */
const ACCEPT_WAIT_MS = 5000;

/**
 * What a pooled sandbox is started with, under its pool key. A language's default image alone (the key is the
 * language), or (a learnt key, see warm-pool.ts) another image or read-only mounts: a dependency bundle's
 * members are started with it mounted, for the next execution with it.
 */
export interface PoolShape {
  key: string;
  language: Language;
  image: string;
  mounts: SandboxMount[];
}

const LANGUAGE_KEYS: readonly Language[] = ['bash', 'python', 'node'];

/** The warm pool as the drivers use it: a sandbox for a standard-tier job, with its limits, or none. */
export class SandboxPool<P extends WaitingSandbox> {
  private readonly pool: WarmPool<string, P> | null;
  private readonly shapes: Map<string, PoolShape>;

  constructor(private readonly o: SandboxPoolOptions<P>) {
    this.shapes = new Map(LANGUAGE_KEYS.map((language) => [language, { key: language, language, image: o.defaultImage(language), mounts: [] }]));
    const { limits, sizing } = o;
    this.pool =
      sizing && sizing.max > 0 && limits
        ? new WarmPool<string, P>({
            keys: LANGUAGE_KEYS,
            sizing: { floor: sizing.min, ceiling: sizing.max, memoryBudgetMb: sizing.memoryMb, idleMs: sizing.idleMs, footprintMb },
            refillAt: sizing.refillAt,
            refillDelayMs: REFILL_DELAY_MS,
            create: (key) => {
              const shape = this.shapes.get(key);
              if (!shape) return Promise.reject(new SandboxError('START_FAILED', `no pool shape for ${key}`));
              return o.prepare(shape, limits);
            },
            destroy: (p) => p.remove(),
            onForget: (key) => this.shapes.delete(key),
            onError: (err, key) => o.onError?.(err, this.shapes.get(key)?.language ?? key),
          })
        : null;
  }

  start(): void {
    this.pool?.start();
  }

  stats(): PoolStats | null {
    return this.pool?.stats() ?? null;
  }

  drain(): Promise<void> {
    return this.pool?.drain() ?? Promise.resolve();
  }

  /** A pooled sandbox for this job with the job's limits applied, or null (the caller starts a cold one). */
  async take(job: SandboxJob): Promise<P | null> {
    if (!this.pool || job.isolation !== 'standard' || job.limits.tmpfsMb !== this.o.limits?.tmpfsMb) return null;
    const shape = this.shapeOf(job);
    if (!shape) return null;
    if (!this.shapes.has(shape.key)) this.shapes.set(shape.key, shape);
    const p = this.pool.take(shape.key);
    if (!p) return null;
    const l = job.limits;
    if (l.memoryMb !== p.limits.memoryMb || l.cpus !== p.limits.cpus || l.pids !== p.limits.pids) {
      try {
        await this.o.update(p, l);
        p.limits = { ...l };
      } catch {
        // Some changes cannot be applied to a running sandbox (lowering memory below its usage, say): go cold.
        await p.remove().catch(() => undefined);
        return null;
      }
    }
    return p;
  }

  /**
   * The shape a job needs, under its key; null for a job that is never pooled: one with a writable mount (a
   * build step's scratch directory is its own, once).
   */
  private shapeOf(job: SandboxJob): PoolShape | null {
    const mounts = job.mounts ?? [];
    if (mounts.some((m) => m.writable)) return null;
    const image = job.image ?? this.o.defaultImage(job.language);
    if (image === this.o.defaultImage(job.language) && !mounts.length) return this.shapes.get(job.language)!;
    // The image's name (a checked custom image's is its id) and the bundle's path (content-addressed) say it all.
    const digest = crypto.createHash('sha256').update(JSON.stringify([image, mounts.map((m) => [m.source, m.target])])).digest('hex');
    return { key: `${job.language}+${digest.slice(0, 16)}`, language: job.language, image, mounts: mounts.map((m) => ({ ...m })) };
  }

  /**
   * Hands the job to a sandbox: a pooled one when one fits, else the one `cold` starts. A sandbox that cannot
   * take its job is removed. A pooled sandbox can die while it waits (killed, its runtime restarted) a moment
   * before the pool learns of it; one that ends without taking the job never ran any of it, so the job goes to a
   * fresh sandbox instead of failing. Once a sandbox has the job it is never given to another.
   */
  async run<R extends { done: Promise<unknown>; accepted: Promise<boolean> }>(
    job: SandboxJob,
    cold: () => Promise<P>,
    deliver: (p: P, pooled: boolean) => R,
  ): Promise<R> {
    const pooled = await this.take(job);
    if (pooled) {
      const run = await this.hand(pooled, deliver, true);
      // With refillAt 'claim' the replacement is already on its way, and this only tops the language up.
      const key = this.shapeOf(job)?.key;
      void run.done.catch(() => undefined).then(() => key && this.pool?.refill(key));
      let timer: NodeJS.Timeout | undefined;
      const took = await Promise.race([run.accepted, new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ACCEPT_WAIT_MS)))]);
      clearTimeout(timer);
      if (took) return run;
      await pooled.remove().catch(() => undefined);
      this.o.onError?.(new SandboxError('START_FAILED', 'a pooled sandbox ended before it took its job; a fresh one runs it'), job.language);
    }
    return this.hand(await cold(), deliver, false);
  }

  private async hand<R>(p: P, deliver: (p: P, pooled: boolean) => R, pooled: boolean): Promise<R> {
    try {
      return deliver(p, pooled);
    } catch (err) {
      await p.remove().catch(() => undefined);
      throw new SandboxError('START_FAILED', `could not hand the job to the sandbox: ${(err as Error).message}`);
    }
  }
}
