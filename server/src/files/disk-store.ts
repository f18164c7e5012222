import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertStoreKey, type FileStore } from './store.js';

/**
 * The file store on the data directory's disk (`<data dir>/files/<key>`): the embedded setup's. A file is written
 * to a temporary name and renamed, so a reader never sees half of one.
 */
export class DiskFileStore implements FileStore {
  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private file(key: string): string {
    return path.join(this.root, assertStoreKey(key));
  }

  async put(key: string, body: AsyncIterable<Buffer | Uint8Array>): Promise<{ size: number; sha256: string }> {
    const dest = this.file(key);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    const tmp = `${dest}.${crypto.randomBytes(6).toString('hex')}.part`;
    const hash = crypto.createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (src: AsyncIterable<Buffer | Uint8Array>) {
          for await (const chunk of src) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        fs.createWriteStream(tmp, { mode: 0o600 }),
      );
      await fs.promises.rename(tmp, dest);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
    const f = this.file(key);
    try {
      const fd = await fs.promises.open(f, 'r');
      return fd.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const dir = this.file(prefix.replace(/\/+$/, ''));
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
