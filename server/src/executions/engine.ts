import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ExecutionStatus } from '../db/schema.js';
import type { SettingsService } from '../settings/service.js';
import { FINAL_STATUSES } from './events.js';
import { type ExecutionMaskers, executionMaskers } from './maskers.js';
import type { ExecutionRow } from './repository.js';
import { ExecutionRunner, type RunnerDeps, type SandboxEndpoints } from './runner.js';

/** The runners' dependencies but where sandboxes call back: that is known only once the callbacks listen (`start`). */
export interface EngineDeps extends Omit<RunnerDeps, 'endpoints'> {
  settings: SettingsService;
  log: FastifyBaseLogger;
  pollMs?: number;
}

/**
 * Claims queued executions from the database while this server has capacity and runs them. The database is the
 * queue: a server that restarts loses nothing that was accepted, and several servers share the work.
 */
export class ExecutionEngine {
  private readonly running = new Map<string, ExecutionRunner>();
  private ticking = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private cancelTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private readonly waiters = new Map<string, Set<() => void>>();
  private waitPoll: NodeJS.Timeout | null = null;
  private polling = false;
  private runnerDeps: RunnerDeps | null = null;
  /** The masker of each execution, for what the runtime API and the egress proxy record of it. */
  readonly maskers: ExecutionMaskers;

  constructor(private readonly deps: EngineDeps) {
    this.maskers = executionMaskers({
      live: {
        of: (id) => this.running.get(id)?.secretMasker(),
        all: () => [...this.running.values()].map((r) => r.secretMasker()),
      },
      secrets: deps.secrets,
    });
  }

  get runningCount(): number {
    return this.running.size;
  }

  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** Starts claiming work; sandboxes call back at `endpoints`. */
  start(endpoints: SandboxEndpoints): void {
    this.runnerDeps = { ...this.deps, endpoints };
    this.stopped = false;
    const poll = this.deps.pollMs ?? 500;
    this.timer = setInterval(() => this.wake(), poll);
    this.cancelTimer = setInterval(() => void this.applyRemoteCancels(), 1000);
    this.wake();
  }

  /** Stops claiming work; running executions are killed and reported as interrupted. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.cancelTimer) clearInterval(this.cancelTimer);
    const runners = [...this.running.values()];
    await Promise.all(runners.map((r) => r.stop('shutdown')));
    const deadline = Date.now() + 10_000;
    while (this.running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Asks for a scheduling pass soon; passes never overlap. */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch((err: unknown) => this.deps.log.error({ err }, 'scheduling pass failed'))
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async tick(): Promise<void> {
    const deps = this.runnerDeps;
    if (!deps) return;
    const s = await this.deps.settings.get();
    while (!this.stopped && this.running.size < s.maxConcurrency) {
      const row = await this.deps.executions.claimNext(this.deps.nodeId, s.maxConcurrencyPerUser, crypto.randomUUID());
      if (!row) return;
      this.launch(row, deps);
    }
  }

  private launch(row: ExecutionRow, deps: RunnerDeps): void {
    const runner = new ExecutionRunner(deps, row);
    this.running.set(row.id, runner);
    this.deps.events.emitStatus(row.id, 'running');
    void runner
      .execute()
      .catch((err: unknown) => this.deps.log.error({ err, executionId: row.id }, 'runner crashed'))
      .finally(() => {
        this.running.delete(row.id);
        this.wake();
      });
  }

  /** Cancels a queued or running execution, wherever it runs. Returns false when it had already ended. */
  async cancel(id: string): Promise<boolean> {
    if (await this.deps.executions.cancelQueued(id)) {
      this.deps.events.emitStatus(id, 'cancelled');
      return true;
    }
    if (!(await this.deps.executions.requestCancel(id))) return false;
    await this.running.get(id)?.stop('cancel');
    return true;
  }

  /** Executions running here but cancelled through another server. */
  private async applyRemoteCancels(): Promise<void> {
    try {
      const ids = await this.deps.executions.cancelRequestedAmong(this.runningIds);
      await Promise.all(ids.map((id) => this.running.get(id)?.stop('cancel')));
    } catch (err) {
      this.deps.log.warn({ err }, 'could not check for cancellations');
    }
  }

  /** Resolves with the final status, following both local events and (for other servers) the database. */
  waitForEnd(id: string, events: { onStatus(id: string, fn: (s: ExecutionStatus) => void): () => void }, signal?: AbortSignal) {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        off();
        this.unwatch(id, finish);
        resolve();
      };
      const off = events.onStatus(id, (status) => {
        if (FINAL_STATUSES.has(status)) finish();
      });
      this.watch(id, finish);
      signal?.addEventListener('abort', finish, { once: true });
      void this.deps.executions.get(id).then((row) => {
        if (!row || FINAL_STATUSES.has(row.status)) finish();
      });
    });
  }

  /**
   * An execution another server finishes is seen only in the database. One query a second covers every waiting
   * request: 200 requests waiting with `wait: true` would otherwise be 200 queries a second.
   */
  private watch(id: string, fn: () => void): void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(fn);
    if (!this.waitPoll) {
      this.waitPoll = setInterval(() => void this.pollWaiters(), 1000);
      this.waitPoll.unref();
    }
  }

  private unwatch(id: string, fn: () => void): void {
    const set = this.waiters.get(id);
    set?.delete(fn);
    if (set && set.size === 0) this.waiters.delete(id);
    if (this.waiters.size === 0 && this.waitPoll) {
      clearInterval(this.waitPoll);
      this.waitPoll = null;
    }
  }

  private async pollWaiters(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const ids = [...this.waiters.keys()];
      if (!ids.length) return;
      const rows = await this.deps.executions.statuses(ids).catch(() => null);
      if (!rows) return;
      const status = new Map(rows.map((r) => [r.id, r.status]));
      for (const id of ids) {
        const s = status.get(id);
        if (s === undefined || FINAL_STATUSES.has(s)) for (const fn of [...(this.waiters.get(id) ?? [])]) fn();
      }
    } finally {
      this.polling = false;
    }
  }
}
