import crypto from 'node:crypto';
import { and, desc, eq, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { egressLog, egressRules } from '../db/schema.js';
import { type Rule, ruleKey } from './policy.js';
import type { EgressAuditEntry } from './proxy.js';

export type EgressRuleRow = typeof egressRules.$inferSelect;

export function toRule(row: EgressRuleRow): Rule {
  return { id: row.id, pattern: row.pattern, ports: row.ports ?? null, scope: row.scope === 'global' ? 'global' : { userId: row.userId! } };
}

export class EgressRepository {
  private pending: (typeof egressLog.$inferInsert)[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Db) {}

  /** Global rules and the user's own. */
  async rulesVisibleTo(userId: string): Promise<EgressRuleRow[]> {
    return this.db
      .select()
      .from(egressRules)
      .where(or(eq(egressRules.scope, 'global'), eq(egressRules.userId, userId)))
      .orderBy(egressRules.createdAt);
  }

  async allRules(): Promise<EgressRuleRow[]> {
    return this.db.select().from(egressRules).orderBy(egressRules.createdAt);
  }

  async get(id: string): Promise<EgressRuleRow | null> {
    const [row] = await this.db.select().from(egressRules).where(eq(egressRules.id, id));
    return row ?? null;
  }

  /**
   * Adds a rule unless the same rule (scope, owner, pattern, allowed ports: policy.ts ruleKey) exists already, in
   * which case that one is returned. The check and the insert hold a transaction lock, so two servers (or two
   * requests) adding the same rule at once still make one.
   */
  async create(rule: {
    pattern: string;
    ports: number[] | null;
    scope: 'global' | 'user';
    userId: string | null;
    createdBy: string;
  }): Promise<{ created: true; row: EgressRuleRow } | { created: false; existing: EgressRuleRow }> {
    const key = ruleKey(rule);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(727002)`);
      const owner = rule.scope === 'global' ? isNull(egressRules.userId) : eq(egressRules.userId, rule.userId!);
      const same = (
        await tx
          .select()
          .from(egressRules)
          .where(and(eq(egressRules.scope, rule.scope), owner, eq(egressRules.pattern, rule.pattern)))
      ).find((r) => ruleKey({ ...r, ports: r.ports ?? null }) === key);
      if (same) return { created: false as const, existing: same };
      const [row] = await tx
        .insert(egressRules)
        .values({ id: crypto.randomUUID(), ...rule, createdAt: new Date() })
        .returning();
      return { created: true as const, row: row! };
    });
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.db.delete(egressRules).where(eq(egressRules.id, id)).returning({ id: egressRules.id });
    return rows.length > 0;
  }

  /** Audit entries are written in small batches; nothing is dropped, a failed batch is retried. */
  record(entry: EgressAuditEntry): void {
    this.pending.push({
      ts: new Date(),
      executionId: entry.executionId,
      userId: entry.userId,
      method: entry.method,
      host: entry.host.slice(0, 300),
      port: entry.port,
      allowed: entry.allowed,
      reason: entry.reason,
      ruleId: entry.ruleId ?? null,
      address: entry.address ?? null,
      status: entry.status ?? null,
      bytesIn: entry.bytesIn ?? null,
      bytesOut: entry.bytesOut ?? null,
      durationMs: entry.durationMs ?? null,
    });
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), 100);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          await this.db.insert(egressLog).values(batch);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    });
    return this.flushing;
  }

  async log(filter: { userId?: string; executionId?: string; allowed?: boolean; limit: number }) {
    const conds: SQL[] = [];
    if (filter.userId) conds.push(eq(egressLog.userId, filter.userId));
    if (filter.executionId) conds.push(eq(egressLog.executionId, filter.executionId));
    if (filter.allowed !== undefined) conds.push(eq(egressLog.allowed, filter.allowed));
    await this.flush();
    const rows = await this.db
      .select()
      .from(egressLog)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(egressLog.id))
      .limit(filter.limit);
    return rows.map((r) => ({ ...r, ts: r.ts.toISOString() }));
  }
}
