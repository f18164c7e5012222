import { Masker } from './masking.js';
import type { ExecutionRow } from './repository.js';

/** Where an execution's masker comes from: the runner that runs it here, or its grants in the database. */
export interface MaskerSources {
  /** The maskers of the executions running on this server (their runners'), by execution id. */
  live: { of(executionId: string): Masker | undefined; all(): Iterable<Masker> };
  secrets: { reveal(userId: string, names: string[]): Promise<Map<string, string>> };
}

export interface ExecutionMaskers {
  /**
   * The masker of a running execution that presented `token`. Its runner's when it runs on this server; otherwise
   * (a sandbox whose runtime URL or proxy leads to another server) one made the way the runner makes its own: its
   * granted secrets and its token.
   */
  of(row: ExecutionRow, token: string): Promise<Masker>;
  /** All executions running on this server, for a record no execution could be named for. */
  running(): Masker;
}

export function executionMaskers({ live, secrets }: MaskerSources): ExecutionMaskers {
  return {
    async of(row, token) {
      const local = live.of(row.id);
      if (local?.active) return local;
      const granted = row.secrets.length ? await secrets.reveal(row.userId, row.secrets) : new Map<string, string>();
      return new Masker([...granted.values(), token]);
    },
    running() {
      return Masker.union(live.all());
    },
  };
}
