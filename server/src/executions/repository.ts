import { and, asc, count, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import type { Language } from '../api/enums.js';
import { executionLogs, executions, type ExecutionStatus, runtimeCalls } from '../db/schema.js';
import { type Admission, admit, type QueueLimits } from './admission.js';
import type { LogEntry } from './events.js';
import { claimOrder, type UserQueue } from './fair-share.js';
import type { QueueCounts } from './queue-standing.js';

/** Both drivers answer raw queries with `{ rows }`. */
const rowsOf = (r: unknown) => (r as { rows: unknown[] }).rows;

export type ExecutionRow = typeof executions.$inferSelect;
export type NewExecution = typeof executions.$inferInsert;
export type NewRuntimeCall = typeof runtimeCalls.$inferInsert;

export interface ListFilter {
  userId?: string;
  status?: ExecutionStatus[];
  language?: Language;
  limit: number;
  cursor?: { createdAt: Date; id: string };
}

export class ExecutionsRepository {
  constructor(private readonly db: Db) {}

  /** The status of each of these executions that exists. */
  async statuses(ids: string[]): Promise<{ id: string; status: ExecutionStatus }[]> {
    if (!ids.length) return [];
    return this.db.select({ id: executions.id, status: executions.status }).from(executions).where(inArray(executions.id, ids));
  }

  async get(id: string): Promise<ExecutionRow | null> {
    const [row] = await this.db.select().from(executions).where(eq(executions.id, id));
    return row ?? null;
  }

  async list(f: ListFilter): Promise<ExecutionRow[]> {
    const conds = [];
    if (f.userId) conds.push(eq(executions.userId, f.userId));
    if (f.status?.length) conds.push(inArray(executions.status, f.status));
    if (f.language) conds.push(eq(executions.language, f.language));
    if (f.cursor) {
      conds.push(
        or(
          lt(executions.createdAt, f.cursor.createdAt),
          and(eq(executions.createdAt, f.cursor.createdAt), lt(executions.id, f.cursor.id)),
        ),
      );
    }
    return this.db
      .select()
      .from(executions)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(executions.createdAt), desc(executions.id))
      .limit(f.limit);
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.select({ status: executions.status, n: count() }).from(executions).groupBy(executions.status);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Queues an execution unless the queue, or the submitter's share of it, is full. The lock on the user's row
   * makes one user's submissions count one after another, whichever server takes them, so the per-user limit is
   * exact; the whole queue's count is not serialised across users and may overshoot by the submissions in flight.
   */
  async insertQueued(row: NewExecution, limits: QueueLimits): Promise<{ ok: true; row: ExecutionRow } | Exclude<Admission, { ok: true }>> {
    return this.db.transaction(async (tx) => {
      // Disabling or deleting a user updates this row before it cancels the user's queue, so a submission that
      // authenticated just before waits here for that and is refused, rather than slipping in after the sweep.
      const [user] = rowsOf(
        await tx.execute(sql`select disabled_at, deleted_at from users where id = ${row.userId} for update`),
      ) as { disabled_at: unknown; deleted_at: unknown }[];
      if (!user || user.disabled_at || user.deleted_at) return { ok: false as const, code: 'USER_DISABLED' as const };
      const [n] = await tx
        .select({ all: count(), user: sql<number>`count(*) filter (where ${executions.userId} = ${row.userId})` })
        .from(executions)
        .where(eq(executions.status, 'queued'));
      const verdict = admit({ all: Number(n?.all ?? 0), user: Number(n?.user ?? 0) }, limits);
      if (!verdict.ok) return verdict;
      const [out] = await tx.insert(executions).values(row).returning();
      return { ok: true as const, row: out! };
    });
  }

  /**
   * Takes the next queued execution, fairly across users (fair-share.ts decides whose turn it is). A claim that
   * lost a race for a user's last slot to another server tries again with fresh counts.
   */
  async claimNext(nodeId: string, perUserLimit: number, tokenId: string): Promise<ExecutionRow | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.tryClaim(nodeId, perUserLimit, tokenId);
      if (r !== 'raced') return r;
    }
    return null;
  }

  /**
   * One claim. SKIP LOCKED lets several servers claim side by side without taking the same row (a user whose
   * oldest rows another server is claiming is passed over for the next user); the lock on the user row makes the
   * per-user count exact across servers. At most one user row is locked per claim, so claims never deadlock.
   */
  private async tryClaim(nodeId: string, perUserLimit: number, tokenId: string): Promise<ExecutionRow | null | 'raced'> {
    return this.db.transaction(async (tx) => {
      const queues = (
        rowsOf(
          await tx.execute(sql`
            select user_id, count(*) filter (where status = 'running')::int as running,
                   count(*) filter (where status = 'queued')::int as queued,
                   min(created_at) filter (where status = 'queued') as oldest
            from executions where status in ('queued', 'running')
            group by user_id having count(*) filter (where status = 'queued') > 0`),
        ) as { user_id: string; running: number; queued: number; oldest: Date | string }[]
      ).map((r): UserQueue => ({ userId: r.user_id, running: Number(r.running), queued: Number(r.queued), oldestQueuedAt: new Date(r.oldest) }));
      for (const userId of claimOrder(queues, perUserLimit)) {
        const [cand] = await tx
          .select({ id: executions.id })
          .from(executions)
          .where(and(eq(executions.status, 'queued'), eq(executions.userId, userId)))
          .orderBy(asc(executions.createdAt), asc(executions.id))
          .limit(1)
          .for('update', { skipLocked: true });
        if (!cand) continue;
        await tx.execute(sql`select id from users where id = ${userId} for update`);
        const [running] = await tx
          .select({ n: count() })
          .from(executions)
          .where(and(eq(executions.userId, userId), eq(executions.status, 'running')));
        if (Number(running?.n ?? 0) >= perUserLimit) return 'raced' as const;
        const [row] = await tx
          .update(executions)
          .set({ status: 'running', nodeId, startedAt: new Date(), attempt: sql`${executions.attempt} + 1`, tokenId })
          .where(and(eq(executions.id, cand.id), eq(executions.status, 'queued')))
          .returning();
        return row ?? ('raced' as const);
      }
      return null;
    });
  }

  /** The counts `queueStanding` needs for one queued execution. */
  async queueCounts(row: Pick<ExecutionRow, 'id' | 'userId' | 'createdAt'>): Promise<QueueCounts> {
    const [c] = await this.db
      .select({
        userRunning: sql<number>`count(*) filter (where ${executions.userId} = ${row.userId} and ${executions.status} = 'running')`,
        userAhead: sql<number>`count(*) filter (where ${executions.userId} = ${row.userId} and ${executions.status} = 'queued'
          and (${executions.createdAt} < ${row.createdAt} or (${executions.createdAt} = ${row.createdAt} and ${executions.id} < ${row.id})))`,
        queuedTotal: sql<number>`count(*) filter (where ${executions.status} = 'queued')`,
      })
      .from(executions)
      .where(inArray(executions.status, ['queued', 'running']));
    return { userRunning: Number(c?.userRunning ?? 0), userAhead: Number(c?.userAhead ?? 0), queuedTotal: Number(c?.queuedTotal ?? 0) };
  }

  async update(id: string, set: Partial<NewExecution>): Promise<void> {
    await this.db.update(executions).set(set).where(eq(executions.id, id));
  }

  /** What the script set as its output; a JSON null is stored as such (SQL NULL would read as "no output"). */
  async setOutput(id: string, value: unknown): Promise<void> {
    await this.db
      .update(executions)
      .set({ output: value === null ? sql`'null'::jsonb` : value, hasOutput: true })
      .where(eq(executions.id, id));
  }

  /** Notes on the execution a variable it set (the variable itself is saved by the variables repository). */
  async recordVariableSet(id: string, key: string, value: unknown): Promise<void> {
    await this.db
      .update(executions)
      .set({ variablesSet: sql`${executions.variablesSet} || jsonb_build_object(${key}::text, ${JSON.stringify(value)}::jsonb)` })
      .where(eq(executions.id, id));
  }

  async recordVariableDeleted(id: string, key: string): Promise<void> {
    await this.db
      .update(executions)
      .set({ variablesSet: sql`${executions.variablesSet} - ${key}::text` })
      .where(eq(executions.id, id));
  }

  /** Notes a secret the execution read, once however often it reads it. */
  async recordSecretRead(id: string, name: string): Promise<void> {
    await this.db
      .update(executions)
      .set({
        secretsRead: sql`case when ${executions.secretsRead} ? ${name}::text then ${executions.secretsRead} else ${executions.secretsRead} || jsonb_build_array(${name}::text) end`,
      })
      .where(eq(executions.id, id));
  }

  async recordRuntimeCall(call: NewRuntimeCall): Promise<void> {
    await this.db.insert(runtimeCalls).values(call);
  }

  /** Finishes a running execution unless something else (a cancel, a sweep) already did. */
  async finish(id: string, nodeId: string, set: Partial<NewExecution> & { status: ExecutionStatus }): Promise<boolean> {
    const rows = await this.db
      .update(executions)
      .set(set)
      .where(and(eq(executions.id, id), eq(executions.status, 'running'), eq(executions.nodeId, nodeId)))
      .returning({ id: executions.id });
    return rows.length > 0;
  }

  async cancelQueued(id: string): Promise<boolean> {
    const now = new Date();
    const rows = await this.db
      .update(executions)
      .set({ status: 'cancelled', finishedAt: now, cancelRequested: true, error: 'cancelled before it started' })
      .where(and(eq(executions.id, id), eq(executions.status, 'queued')))
      .returning({ id: executions.id });
    return rows.length > 0;
  }

  async requestCancel(id: string): Promise<boolean> {
    const rows = await this.db
      .update(executions)
      .set({ cancelRequested: true })
      .where(and(eq(executions.id, id), eq(executions.status, 'running')))
      .returning({ id: executions.id });
    return rows.length > 0;
  }

  async cancelRequestedAmong(ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    const rows = await this.db
      .select({ id: executions.id })
      .from(executions)
      .where(and(inArray(executions.id, ids), eq(executions.cancelRequested, true)));
    return rows.map((r) => r.id);
  }

  /** Marks as failed-by-infrastructure every running execution of the given nodes; returns their ids. */
  async failRunningOf(nodeIds: string[], reason: string): Promise<string[]> {
    if (!nodeIds.length) return [];
    const rows = await this.db
      .update(executions)
      .set({ status: 'error', error: reason, finishedAt: new Date() })
      .where(and(eq(executions.status, 'running'), inArray(executions.nodeId, nodeIds)))
      .returning({ id: executions.id });
    return rows.map((r) => r.id);
  }

  async appendLogs(executionId: string, entries: LogEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.db.insert(executionLogs).values(
      entries.map((e) => ({ executionId, seq: e.seq, ts: new Date(e.ts), stream: e.stream, text: e.text, continued: e.continued, escaped: e.escaped })),
    );
  }

  async logs(executionId: string, afterSeq = -1, limit = 10_000): Promise<LogEntry[]> {
    const rows = await this.db
      .select()
      .from(executionLogs)
      .where(and(eq(executionLogs.executionId, executionId), sql`${executionLogs.seq} > ${afterSeq}`))
      .orderBy(asc(executionLogs.seq))
      .limit(limit);
    return rows.map((r) => ({ seq: r.seq, ts: r.ts.toISOString(), stream: r.stream, text: r.text, continued: r.continued, escaped: r.escaped }));
  }

  async runtimeCalls(executionId: string) {
    const rows = await this.db
      .select({ ts: runtimeCalls.ts, method: runtimeCalls.method, path: runtimeCalls.path, status: runtimeCalls.status, detail: runtimeCalls.detail })
      .from(runtimeCalls)
      .where(eq(runtimeCalls.executionId, executionId))
      .orderBy(asc(runtimeCalls.id));
    return rows.map((r) => ({ ...r, ts: r.ts.toISOString() }));
  }

  /** Numbers for the overview: the last `hours` hours, bucketed per hour, scoped to a user unless admin-wide. */
  async stats(hours: number, userId?: string) {
    const since = new Date(Date.now() - hours * 3600_000);
    const scope = userId ? sql`and user_id = ${userId}` : sql``;
    const buckets = await this.db.execute(sql`
      select date_trunc('hour', created_at) as hour, status, count(*)::int as n
      from executions where created_at >= ${since} ${scope}
      group by 1, 2 order by 1`);
    const pct = await this.db.execute(sql`
      select percentile_cont(0.5) within group (order by duration_ms) as p50,
             percentile_cont(0.95) within group (order by duration_ms) as p95
      from executions where created_at >= ${since} and duration_ms is not null ${scope}`);
    const now = await this.db.execute(sql`
      select status, count(*)::int as n from executions where status in ('queued', 'running') ${scope} group by status`);
    return {
      buckets: (rowsOf(buckets) as { hour: Date | string; status: ExecutionStatus; n: number }[]).map((r) => ({
        hour: new Date(r.hour).toISOString(),
        status: r.status,
        n: Number(r.n),
      })),
      p50: (rowsOf(pct)[0] as { p50: number | null } | undefined)?.p50 ?? null,
      p95: (rowsOf(pct)[0] as { p95: number | null } | undefined)?.p95 ?? null,
      now: Object.fromEntries((rowsOf(now) as { status: string; n: number }[]).map((r) => [r.status, Number(r.n)])),
    };
  }

  async durations(): Promise<{ status: string; durationMs: number }[]> {
    const rows = await this.db
      .select({ status: executions.status, durationMs: executions.durationMs })
      .from(executions)
      .where(sql`${executions.durationMs} is not null`)
      .orderBy(desc(executions.finishedAt))
      .limit(1000);
    return rows.map((r) => ({ status: r.status, durationMs: r.durationMs ?? 0 }));
  }
}
