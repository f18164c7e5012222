import { readCursor, readList } from './pagination';
import { LANGUAGES, STATUSES } from './types';

export const PAGE_SIZE = 25;

/** The API query for the table: filters and cursor from the page's URL; only admins may filter by user. */
export function executionsQuery(search: URLSearchParams, isAdmin: boolean): string {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const statuses = readList(search, 'status', STATUSES);
  if (statuses.length) q.set('status', statuses.join(','));
  const [language] = readList(search, 'language', LANGUAGES);
  if (language) q.set('language', language);
  const userId = search.get('user');
  if (isAdmin && userId && /^[A-Za-z0-9-]{1,64}$/.test(userId)) q.set('userId', userId);
  const cursor = readCursor(search);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

/** The API query for the egress log: the latest 100, optionally only allowed or only denied requests. */
export function logQuery(search: URLSearchParams): string {
  const q = new URLSearchParams({ limit: '100' });
  const d = search.get('decision');
  if (d === 'allowed' || d === 'denied') q.set('decision', d);
  return q.toString();
}
