/**
 * Cursor pagination for the executions table. The API only goes forward (`nextCursor`), so the links carry the
 * cursors of the pages before this one in `trail` (dot-separated; cursors are base64url and never contain a dot,
 * `~` stands for the first page). Everything else in the query (filters) is kept.
 */
export const FIRST = '~';
export const MAX_TRAIL = 40;

export interface PageLinks {
  /** Query string (with '?') of the newer page, or null on the first page. */
  newer: string | null;
  /** Query string of the older page, or null on the last page. */
  older: string | null;
  /** Query string of the first page (filters kept), or null when already there. */
  first: string | null;
  /** 1-based page number as far as the trail knows. */
  page: number;
}

const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

export function readTrail(search: URLSearchParams): string[] {
  return (search.get('trail') ?? '')
    .split('.')
    .filter((c) => c === FIRST || CURSOR.test(c))
    .slice(-MAX_TRAIL);
}

/** The cursor to ask the API for, or undefined for the first page; a malformed one is dropped. */
export function readCursor(search: URLSearchParams): string | undefined {
  const c = search.get('cursor');
  return c && CURSOR.test(c) ? c : undefined;
}

function withParams(search: URLSearchParams, cursor: string | undefined, trail: string[]): string {
  const p = new URLSearchParams(search);
  p.delete('cursor');
  p.delete('trail');
  if (cursor) p.set('cursor', cursor);
  if (cursor && trail.length) p.set('trail', trail.join('.'));
  const s = p.toString();
  return s ? `?${s}` : '?';
}

export function pageLinks(search: URLSearchParams, nextCursor: string | null): PageLinks {
  const cursor = readCursor(search);
  const trail = cursor ? readTrail(search) : [];
  let newer: string | null = null;
  if (cursor) {
    const prev = trail[trail.length - 1];
    const rest = trail.slice(0, -1);
    newer = !prev || prev === FIRST ? withParams(search, undefined, []) : withParams(search, prev, rest);
  }
  const older = nextCursor && CURSOR.test(nextCursor) ? withParams(search, nextCursor, [...trail, cursor ?? FIRST].slice(-MAX_TRAIL)) : null;
  return { newer, older, first: cursor ? withParams(search, undefined, []) : null, page: cursor ? trail.length + 1 : 1 };
}

/** Status filters arrive as repeated `status` parameters or one comma list; unknown values are dropped. */
export function readList<T extends string>(search: URLSearchParams, name: string, allowed: readonly T[]): T[] {
  const values = search.getAll(name).flatMap((v) => v.split(','));
  return [...new Set(values.map((v) => v.trim()).filter((v): v is T => (allowed as readonly string[]).includes(v)))];
}
