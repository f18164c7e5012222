import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { executionFiles } from '../db/schema.js';

export type ExecutionFileRow = typeof executionFiles.$inferSelect;
export type NewExecutionFile = typeof executionFiles.$inferInsert;
export type FileKind = ExecutionFileRow['kind'];

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

  async deleteExecution(executionId: string): Promise<void> {
    await this.db.delete(executionFiles).where(eq(executionFiles.executionId, executionId));
  }
}
