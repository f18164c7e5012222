import { data, redirect } from '@remix-run/node';
import { type ApiResult, callApi } from './api.server';
import { type SessionUser, openApiKey, sessionStorage } from './session.server';
import type { Me } from './types';

export type ApiCaller = <T>(method: string, path: string, body?: unknown) => Promise<ApiResult<T>>;

export interface Authed {
  user: SessionUser;
  apiKey: string;
  /** Calls the API with the signed-in user's key; a 401 (key revoked) signs the user out. */
  api: ApiCaller;
}

export async function getSession(request: Request) {
  return sessionStorage().storage.getSession(request.headers.get('Cookie'));
}

/** The login page with a way back to where the user was going. */
export function loginUrl(request: Request): string {
  const url = new URL(request.url);
  const back = url.pathname + url.search;
  return back && back !== '/' ? `/login?redirectTo=${encodeURIComponent(back)}` : '/login';
}

async function signOutTo(request: Request, to: string): Promise<never> {
  const session = await getSession(request);
  throw redirect(to, { headers: { 'Set-Cookie': await sessionStorage().storage.destroySession(session) } });
}

/** The signed-in user's session and key, or null. */
export async function currentSession(request: Request): Promise<{ user: SessionUser; apiKey: string } | null> {
  const { secret } = sessionStorage();
  const session = await getSession(request);
  const user = session.get('user');
  const apiKey = openApiKey(session.get('k'), secret);
  if (!user || !apiKey) return null;
  return { user, apiKey };
}

/** For loaders and actions: the signed-in user, or a redirect to the login page. */
export async function requireUser(request: Request): Promise<Authed> {
  const s = await currentSession(request);
  if (!s) throw redirect(loginUrl(request));
  const api: ApiCaller = async (method, path, body) => {
    const r = await callApi<any>(s.apiKey, method, path, body, { signal: request.signal });
    if (!r.ok && r.status === 401) await signOutTo(request, loginUrl(request));
    return r;
  };
  return { ...s, api };
}

/**
 * For admin pages: asks the API who the key belongs to (not the cookie), so a user who is not an admin gets a
 * 403 page whatever URL they type.
 */
export async function requireAdmin(request: Request): Promise<Authed & { me: Me }> {
  const a = await requireUser(request);
  const me = unwrap(await a.api<Me>('GET', '/api/v1/me'));
  if (me.role !== 'admin') throw forbidden();
  return { ...a, user: { id: me.id, name: me.name, role: me.role }, me };
}

export function forbidden(message = 'This page is for administrators. Ask an admin if you need access.') {
  return data({ message, code: 'FORBIDDEN' }, { status: 403 });
}

/** A loader's API call that must succeed: failures become the error page with the API's status and message. */
export function unwrap<T>(r: ApiResult<T>): T {
  if (r.ok) return r.data;
  throw data({ message: r.error.message, code: r.error.code }, { status: r.status >= 400 ? r.status : 502 });
}
