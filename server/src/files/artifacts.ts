import type { Readable } from 'node:stream';
import type { OutputFlow } from '../sandbox/driver.js';
import type { ArtifactSink } from '../sandbox/launcher/artifact-block.js';
import { type ArtifactLimits, collectArtifacts, type CollectedArtifacts } from './artifact-collector.js';
import type { ExecutionFileRow, ExecutionFilesRepository } from './repository.js';
import type { FileStore } from './store.js';

/** One execution's artifacts being collected: the sink its sandbox's output feeds, and the end of it. */
export interface ArtifactCollection {
  sink(flow: OutputFlow): ArtifactSink;
  /** Once the sandbox's output has been read: every file stored and recorded. */
  finish(): Promise<CollectedArtifacts & { expiresAt: Date | null }>;
}

/**
 * Executions' artifacts (issue 26): what a script leaves under /work/out, collected from the launcher's block
 * on stdout into the file store, with a row per file; listed and read back for the API; removed once expired.
 */
export class ExecutionArtifacts {
  constructor(
    private readonly store: FileStore,
    private readonly repo: ExecutionFilesRepository,
    private readonly limits: ArtifactLimits,
    private readonly retentionDays: () => Promise<number>,
  ) {}

  async begin(executionId: string, log: (line: string) => void): Promise<ArtifactCollection> {
    const expiresAt = new Date(Date.now() + (await this.retentionDays()) * 86_400_000);
    let collecting: ReturnType<typeof collectArtifacts> | null = null;
    return {
      sink: (flow) => (collecting = collectArtifacts({ executionId, store: this.store, limits: this.limits, flow, log, expiresAt })).sink,
      finish: async () => {
        const got = collecting ? await collecting.settle() : { rows: [], truncated: false, seen: false };
        await this.repo.insert(got.rows);
        return { ...got, expiresAt: got.rows.length ? expiresAt : null };
      },
    };
  }

  list(executionId: string): Promise<ExecutionFileRow[]> {
    return this.repo.list(executionId, 'artifact');
  }

  /** One artifact's bytes (or a range of them); null when the store no longer has them. */
  read(row: ExecutionFileRow, range?: { start: number; end: number }): Promise<Readable | null> {
    return this.store.get(row.key, range);
  }

  /** What each user's artifacts take (one user's, or everyone's with at least one). */
  async usage(userId?: string): Promise<{ userId: string; artifacts: { bytes: number; files: number } }[]> {
    const rows = await this.repo.artifactBytesByUser(userId);
    if (userId && !rows.length) return [{ userId, artifacts: { bytes: 0, files: 0 } }];
    return rows.map((r) => ({ userId: r.userId, artifacts: { bytes: r.bytes, files: r.files } }));
  }

  /**
   * Removes the artifacts that expired before `now` (an execution's all expire together); returns the executions
   * whose artifacts went. The bytes go first: a row without bytes reads as gone, bytes without a row would be lost.
   */
  async removeExpired(now: Date): Promise<string[]> {
    const ids = await this.repo.expiredExecutions('artifact', now);
    for (const id of ids) {
      await this.store.deletePrefix(`${id}/out/`);
      await this.repo.deleteKind(id, 'artifact');
    }
    return ids;
  }
}
