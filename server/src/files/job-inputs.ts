import type { JobInput } from '../sandbox/driver.js';
import type { ExecutionFilesRepository } from './repository.js';
import type { CheckedFile, FileMode } from './job-files.js';
import type { FileStore } from './store.js';

async function* once(b: Buffer) {
  yield b;
}

/** A file whose bytes arrive as they are read (a multipart part), checked and metered by whoever yields it. */
export interface StreamedFile {
  path: string;
  mode: FileMode;
  body: AsyncIterable<Buffer | Uint8Array>;
}

/**
 * An execution's input files and stdin: stored (bytes in the file store, metadata in the database) when the
 * request is accepted, read back as streams when a server runs it.
 */
export class JobInputs {
  constructor(
    private readonly store: FileStore,
    private readonly repo: ExecutionFilesRepository,
  ) {}

  /**
   * Stores a request's files and stdin before its execution is queued: the decoded ones, then the streamed ones
   * one by one as they are read. The rows are written once every file is stored, so an execution never has a
   * row without its bytes; on a failure half way the caller discards what was stored.
   */
  async save(executionId: string, files: CheckedFile[], stdin: Buffer | null, streamed?: AsyncIterable<StreamedFile>): Promise<void> {
    const rows = [];
    const all = async function* () {
      for (const f of files) yield { path: f.path, mode: f.mode, body: once(f.bytes) };
      if (streamed) yield* streamed;
    };
    let i = 0;
    for await (const f of all()) {
      const key = `${executionId}/in/${i}`;
      const put = await this.store.put(key, f.body);
      rows.push({ executionId, kind: 'input' as const, name: f.path, key, mode: f.mode, size: put.size, sha256: put.sha256, position: i });
      i++;
    }
    if (stdin) {
      const key = `${executionId}/stdin`;
      const put = await this.store.put(key, once(stdin));
      rows.push({ executionId, kind: 'stdin' as const, name: '', key, size: put.size, sha256: put.sha256 });
    }
    await this.repo.insert(rows);
  }

  /** Removes what `save` stored (a request refused after its files were stored). */
  async discard(executionId: string): Promise<void> {
    await this.repo.deleteExecution(executionId);
    await this.store.deletePrefix(`${executionId}/`);
  }

  /** The job's files and stdin as the sandbox gets them, each read from the store when it is sent. */
  async load(executionId: string): Promise<{ files: JobInput[]; stdin: JobInput | null; bytes: number }> {
    const open = (key: string) => async () => {
      const s = await this.store.get(key);
      if (!s) throw new Error(`the execution's file ${key} is missing from the file store`);
      return s;
    };
    const files = (await this.repo.list(executionId, 'input')).map((r) => ({ path: r.name, mode: r.mode, size: r.size, open: open(r.key) }));
    const [s] = await this.repo.list(executionId, 'stdin');
    const stdin = s ? { path: '', mode: 0, size: s.size, open: open(s.key) } : null;
    return { files, stdin, bytes: files.reduce((n, f) => n + f.size, 0) };
  }
}
