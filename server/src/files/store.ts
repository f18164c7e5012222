import type { Readable } from 'node:stream';

/**
 * Where the bytes of an execution's files live: its input files and stdin, and later its artifacts. Streamed in
 * chunks both ways, so memory stays bounded whatever the size; metadata (name, size, hash, expiry) is in the
 * database (files/repository.ts), never here. Keys are made by the server (`<execution id>/in/<n>`), never by a
 * request. One implementation per place: the data directory's disk (disk-store.ts) by default, PostgreSQL large objects
 * (pg-large-object-store.ts) or an S3-compatible bucket (s3-store.ts) for servers sharing one database.
 */
export interface FileStore {
  /** Stores the stream under `key` (replacing what was there) and reports what it stored, measured from the bytes. */
  put(key: string, body: AsyncIterable<Buffer | Uint8Array>): Promise<{ size: number; sha256: string }>;
  /** The stored bytes, or `[start, end]` of them (inclusive); null when there is nothing under `key`. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable | null>;
  /** Removes everything whose key starts with `prefix` (a whole execution: `<id>/`). */
  deletePrefix(prefix: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9._-]+)*$/;

/** Keys are the server's own: one that is not is a bug, not something to escape, whichever store it reaches. */
export function assertStoreKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`not a file store key: ${key}`);
  return key;
}
