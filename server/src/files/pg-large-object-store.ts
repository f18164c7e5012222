import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { assertStoreKey, type FileStore } from './store.js';

/** Bytes per statement both ways: large enough that 100 MiB is ~100 round trips, small enough to bound memory. */
const CHUNK = 1024 * 1024;

/** PostgreSQL's undefined_object: lo_get / lo_put of a large object that is no longer there. */
const UNDEFINED_OBJECT = '42704';

export class FileStoreError extends Error {
  constructor(
    readonly code: 'FILE_GONE_WHILE_READ' | 'FILE_GONE_WHILE_WRITTEN',
    message: string,
  ) {
    super(message);
    this.name = 'FileStoreError';
  }
}

const likePrefix = (p: string) => `${p.replace(/[\\%_]/g, '\\$&')}/%`;
const isUndefinedObject = (err: unknown) => (err as { code?: string }).code === UNDEFINED_OBJECT;

/**
 * The file store in PostgreSQL large objects, for servers that share one database (CRONIUM_ARTIFACT_STORE=postgres):
 * a file stored by one server is read by another. The table file_objects maps each key to its object.
 *
 * No statement outlives a chunk and no connection is held while waiting for the caller (a slow upload or a slow
 * download), so files in flight never starve the pool the queue runs on. A file is written under a temporary key
 * and switched to its key in one short transaction, which also unlinks the object it replaces: a reader finds the
 * old file or the new one, whole. A reader that is streaming a file replaced or deleted under it gets an error
 * (FILE_GONE_WHILE_READ), never a mix or a silently short file.
 */
export class PgLargeObjectFileStore implements FileStore {
  constructor(private readonly pool: Pool) {}

  async put(key: string, body: AsyncIterable<Buffer | Uint8Array>): Promise<{ size: number; sha256: string }> {
    assertStoreKey(key);
    const tmp = `${key}.${crypto.randomBytes(6).toString('hex')}.part`;
    // The object and the row naming it are made together: there is never an object without a row.
    const made = await this.pool.query<{ oid: string }>(`insert into file_objects (key, oid, size, sha256) values ($1, lo_create(0), 0, '') returning oid`, [tmp]);
    const oid = Number(made.rows[0]!.oid);
    const hash = crypto.createHash('sha256');
    let size = 0;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let written = 0;
      const flush = async (all: boolean) => {
        while (pendingBytes >= CHUNK || (all && pendingBytes > 0)) {
          const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          const n = Math.min(CHUNK, joined.length);
          const piece = joined.subarray(0, n);
          try {
            await this.pool.query('select lo_put($1::oid, $2::bigint, $3::bytea)', [oid, written, piece]);
          } catch (err) {
            if (isUndefinedObject(err)) throw new FileStoreError('FILE_GONE_WHILE_WRITTEN', `the file ${key} was deleted while it was being stored`);
            throw err;
          }
          written += n;
          const rest = joined.subarray(n);
          pending = rest.length ? [rest] : [];
          pendingBytes = rest.length;
        }
      };
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        hash.update(buf);
        size += buf.length;
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes >= CHUNK) await flush(false);
      }
      await flush(true);
      const sha256 = hash.digest('hex');
      await this.swap(key, tmp, size, sha256);
      return { size, sha256 };
    } catch (err) {
      await this.pool.query('with d as (delete from file_objects where key = $1 returning oid) select lo_unlink(oid) from d', [tmp]).catch(() => undefined);
      throw err;
    }
  }

  /** Puts the written object under its key and unlinks the one it replaces, in one transaction. */
  private async swap(key: string, tmp: string, size: number, sha256: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      // Two puts of one key take turns here, so each sees the object the other left and none is orphaned.
      await client.query('select pg_advisory_xact_lock(727002, hashtext($1))', [key]);
      const mine = await client.query<{ oid: string }>('delete from file_objects where key = $1 returning oid', [tmp]);
      if (!mine.rows[0]) throw new FileStoreError('FILE_GONE_WHILE_WRITTEN', `the file ${key} was deleted while it was being stored`);
      const old = await client.query<{ oid: string }>('select oid from file_objects where key = $1 for update', [key]);
      await client.query(
        `insert into file_objects (key, oid, size, sha256) values ($1, $2, $3, $4)
         on conflict (key) do update set oid = excluded.oid, size = excluded.size, sha256 = excluded.sha256, created_at = now()`,
        [key, mine.rows[0].oid, size, sha256],
      );
      if (old.rows[0]) await client.query('select lo_unlink($1::oid)', [old.rows[0].oid]);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
    assertStoreKey(key);
    const found = await this.pool.query<{ oid: string; size: string }>('select oid, size from file_objects where key = $1', [key]);
    const row = found.rows[0];
    if (!row) return null;
    const oid = Number(row.oid);
    const last = Number(row.size) - 1;
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? last, last);
    const pool = this.pool;
    // Pulled chunk by chunk as the consumer reads: one chunk in memory, no connection held between them.
    async function* chunks() {
      for (let at = start; at <= end; ) {
        const n = Math.min(CHUNK, end - at + 1);
        let data: Buffer;
        try {
          // In hex on the wire (node-postgres reads every field of a row as text; its binary mode decodes bytes
          // as UTF-8): twice the bytes, decoded natively, one chunk at a time.
          const r = await pool.query<{ data: Buffer }>('select lo_get($1::oid, $2::bigint, $3::int) as data', [oid, at, n]);
          data = r.rows[0]!.data;
        } catch (err) {
          if (isUndefinedObject(err)) throw new FileStoreError('FILE_GONE_WHILE_READ', `the file ${key} was replaced or deleted while it was being read`);
          throw err;
        }
        if (data.length !== n) throw new FileStoreError('FILE_GONE_WHILE_READ', `the file ${key} ended early while it was being read`);
        at += n;
        yield data;
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: CHUNK });
  }

  async deletePrefix(prefix: string): Promise<void> {
    // As on disk: `<id>/` (or `<id>`) is that whole path and what is under it, never `<id>x/`.
    const p = assertStoreKey(prefix.replace(/\/+$/, ''));
    await this.pool.query(`with d as (delete from file_objects where key = $1 or key like $2 returning oid) select lo_unlink(oid) from d`, [p, likePrefix(p)]);
  }
}
