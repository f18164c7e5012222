import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type SessionStorage, createCookieSessionStorage } from '@remix-run/node';
import { webConfig } from './config.server';
import type { Role } from './types';

/**
 * The secret that signs the session cookie: CRONIUM_SESSION_SECRET, or one generated once into
 * `<data dir>/web-session.key` (mode 0600) and reused by every later start.
 */
export function loadSessionSecret(cfg = webConfig()): string {
  if (cfg.sessionSecret) {
    if (cfg.sessionSecret.length < 16) throw new Error('CRONIUM_SESSION_SECRET must be at least 16 characters');
    return cfg.sessionSecret;
  }
  const file = path.join(cfg.dataDir, 'web-session.key');
  const read = () => {
    const s = fs.readFileSync(file, 'utf8').trim();
    if (s.length < 32) throw new Error(`${file} holds no usable session secret; delete it to have a new one made`);
    return s;
  };
  if (fs.existsSync(file)) return read();
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if another process made it first; then that one wins and is read.
    fs.writeFileSync(file, `${crypto.randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return read();
}

/**
 * The API key is sealed (AES-256-GCM, key derived from the session secret) inside the signed cookie, so a cookie
 * that ends up in a log or a screenshot does not show the key itself.
 */
function sealKey(secret: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', secret, 'cronium-web', 'api-key-seal', 32));
}

export function sealApiKey(apiKey: string, secret: string): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', sealKey(secret), iv);
  const body = Buffer.concat([c.update(apiKey, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

export function openApiKey(sealed: unknown, secret: string): string | null {
  if (typeof sealed !== 'string') return null;
  try {
    const buf = Buffer.from(sealed, 'base64url');
    if (buf.length < 29) return null;
    const d = crypto.createDecipheriv('aes-256-gcm', sealKey(secret), buf.subarray(0, 12));
    d.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}

export interface SessionUser {
  id: string;
  name: string;
  role: Role;
}

export interface SessionData {
  k: string;
  user: SessionUser;
}

let storage: { secret: string; storage: SessionStorage<SessionData> } | null = null;

export function sessionStorage(): { secret: string; storage: SessionStorage<SessionData> } {
  if (storage) return storage;
  const cfg = webConfig();
  const secret = loadSessionSecret(cfg);
  storage = {
    secret,
    storage: createCookieSessionStorage<SessionData>({
      cookie: {
        name: 'cronium_session',
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
        secure: cfg.secureCookies,
        maxAge: cfg.sessionMaxAge,
        secrets: [secret],
      },
    }),
  };
  return storage;
}

/** For tests: forget the cached storage so a changed environment is read again. */
export function resetSessionStorage() {
  storage = null;
}
