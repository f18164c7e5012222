import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { executionFiles, executions } from '../db/schema.js';

export type ExecutionFileRow = typeof executionFiles.$inferSelect;
export type NewExecutionFile = typeof executionFiles.$inferInsert;
export type FileKind = ExecutionFileRow['kind'];

/** How many executions' expired files one look removes. */
export const EXPIRED_BATCH = 500;

/** The metadata of executions' files (db/schema.ts executionFiles); the bytes are in the file store. */
export class ExecutionFilesRepository {
  constructor(private readonly db: Db) {}

  async insert(rows: NewExecutionFile[]): Promise<void> {
    if (rows.length) await this.db.insert(executionFiles).values(rows);
  }

  async list(executionId: string, kind: FileKind): Promise<ExecutionFileRow[]> {
    return this.db
      .select()
      .from(executionFiles)
      .where(and(eq(executionFiles.executionId, executionId), eq(executionFiles.kind, kind)))
      .orderBy(asc(executionFiles.position), asc(executionFiles.name));
  }

  /** The executions with files of `kind` that expired before `now`. */
  async expiredExecutions(kind: FileKind, now: Date): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ id: executionFiles.executionId })
      .from(executionFiles)
      .where(and(eq(executionFiles.kind, kind), lt(executionFiles.expiresAt, now)))
      .limit(EXPIRED_BATCH);
    return rows.map((r) => r.id);
  }

  async deleteKind(executionId: string, kind: FileKind): Promise<void> {
    await this.db.delete(executionFiles).where(and(eq(executionFiles.executionId, executionId), eq(executionFiles.kind, kind)));
  }

  /** Bytes of artifacts kept per user (what they use of the server's storage). */
  async artifactBytesByUser(userId?: string): Promise<{ userId: string; bytes: number; files: number }[]> {
    const rows = await this.db
      .select({ userId: executions.userId, bytes: sql<string>`coalesce(sum(${executionFiles.size}), 0)`, files: sql<string>`count(*)` })
      .from(executionFiles)
      .innerJoin(executions, eq(executions.id, executionFiles.executionId))
      .where(userId ? and(eq(executionFiles.kind, 'artifact'), eq(executions.userId, userId)) : eq(executionFiles.kind, 'artifact'))
      .groupBy(executions.userId);
    return rows.map((r) => ({ userId: r.userId, bytes: Number(r.bytes), files: Number(r.files) }));
  }

  async deleteExecution(executionId: string): Promise<void> {
    await this.db.delete(executionFiles).where(eq(executionFiles.executionId, executionId));
  }
}
