import { callApi } from './api.server';
import { safeRedirect, str } from './forms';
import { sealApiKey, sessionStorage } from './session.server';
import type { Me } from './types';

/** Checks the key with GET /api/v1/me, then keeps it (sealed) in the HTTP-only, signed session cookie. */
export async function signIn(form: FormData, cookieHeader: string | null) {
  const key = str(form, 'apiKey');
  const redirectTo = safeRedirect(form.get('redirectTo'));
  if (!key) return { ok: false as const, status: 400, error: 'Enter your API key.' };
  if (/\s/.test(key) || key.length > 512) return { ok: false as const, status: 400, error: 'That does not look like an API key.' };
  const me = await callApi<Me>(key, 'GET', '/api/v1/me');
  if (!me.ok) {
    if (me.status === 401) return { ok: false as const, status: 400, error: 'That API key is not valid, or it was revoked.' };
    return { ok: false as const, status: me.status, error: me.error.message };
  }
  const { storage, secret } = sessionStorage();
  const session = await storage.getSession(cookieHeader);
  session.set('k', sealApiKey(key, secret));
  session.set('user', { id: me.data.id, name: me.data.name, role: me.data.role });
  return { ok: true as const, redirectTo, cookie: await storage.commitSession(session) };
}
