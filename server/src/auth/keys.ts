import crypto from 'node:crypto';

const KEY_PREFIX = 'csk_';

/** API keys carry 192 bits of randomness, so a fast hash is enough: there is nothing to brute-force. */
export function generateApiKey(): string {
  return KEY_PREFIX + crypto.randomBytes(24).toString('base64url');
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 6);
}

/** A JWT is three base64url parts; used only to tell a caller that sent an execution token to the wrong API. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
