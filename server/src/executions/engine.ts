import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ExecutionStatus } from '../db/schema.js';
import type { SettingsService } from '../settings/service.js';
import { FINAL_STATUSES } from './events.js';
import type { ExecutionRow } from './repository.js';
import { ExecutionRunner, type RunnerDeps } from './runner.js';

export interface EngineDeps extends RunnerDeps {
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

  constructor(private readonly deps: EngineDeps) {}

  get runningCount(): number {
    return this.running.size;
  }

  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  runnerFor(id: string): ExecutionRunner | undefined {
    return this.running.get(id);
  }

  start(): void {
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
    const s = await this.deps.settings.get();
    while (!this.stopped && this.running.size < s.maxConcurrency) {
      const row = await this.deps.executions.claimNext(this.deps.nodeId, s.maxConcurrencyPerUser, crypto.randomUUID());
      if (!row) return;
      this.launch(row);
    }
  }

  private launch(row: ExecutionRow): void {
    const runner = new ExecutionRunner(this.deps, row);
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
        clearInterval(poll);
        resolve();
      };
      const off = events.onStatus(id, (status) => {
        if (FINAL_STATUSES.has(status)) finish();
      });
      const poll = setInterval(async () => {
        const row = await this.deps.executions.get(id).catch(() => null);
        if (!row || FINAL_STATUSES.has(row.status)) finish();
      }, 1000);
      signal?.addEventListener('abort', finish, { once: true });
      void this.deps.executions.get(id).then((row) => {
        if (!row || FINAL_STATUSES.has(row.status)) finish();
      });
    });
  }
}
