import type { Authed } from './auth.server';
import type { User } from './types';

/** userId → name for tables: admins see every user's name, a user only their own. */
export async function userNames(a: Authed): Promise<Record<string, string>> {
  if (a.user.role !== 'admin') return { [a.user.id]: a.user.name };
  const r = await a.api<{ items: User[] }>('GET', '/api/v1/users');
  if (!r.ok) return { [a.user.id]: a.user.name };
  return Object.fromEntries(r.data.items.map((u) => [u.id, u.name]));
}
