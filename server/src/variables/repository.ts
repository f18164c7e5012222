import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { variables } from '../db/schema.js';

export interface Variable {
  key: string;
  value: unknown;
  updatedAt: Date;
  updatedByExecution: string | null;
}

export class VariablesRepository {
  constructor(private readonly db: Db) {}

  async list(userId: string): Promise<Variable[]> {
    return this.db
      .select({ key: variables.key, value: variables.value, updatedAt: variables.updatedAt, updatedByExecution: variables.updatedByExecution })
      .from(variables)
      .where(eq(variables.userId, userId))
      .orderBy(asc(variables.key));
  }

  async get(userId: string, key: string): Promise<Variable | null> {
    const [row] = await this.db
      .select({ key: variables.key, value: variables.value, updatedAt: variables.updatedAt, updatedByExecution: variables.updatedByExecution })
      .from(variables)
      .where(and(eq(variables.userId, userId), eq(variables.key, key)));
    return row ?? null;
  }

  async put(userId: string, key: string, value: unknown, executionId?: string): Promise<void> {
    const now = new Date();
    // JSON null is stored as the JSON literal, not as SQL NULL.
    const v = value === null || value === undefined ? sql`'null'::jsonb` : value;
    await this.db
      .insert(variables)
      .values({ userId, key, value: v, updatedAt: now, updatedByExecution: executionId ?? null })
      .onConflictDoUpdate({
        target: [variables.userId, variables.key],
        set: { value: v, updatedAt: now, updatedByExecution: executionId ?? null },
      });
  }

  async delete(userId: string, key: string): Promise<boolean> {
    const rows = await this.db
      .delete(variables)
      .where(and(eq(variables.userId, userId), eq(variables.key, key)))
      .returning({ key: variables.key });
    return rows.length > 0;
  }
}
