import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** AES-256-GCM with a random 96-bit IV per value; stored as base64(iv | tag | ciphertext), prefixed with a version. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  }

  seal(plain: string, aad: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return 'v1:' + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
  }

  open(sealed: string, aad: string): string {
    if (!sealed.startsWith('v1:')) throw new Error('unknown secret format');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}

/** Accepts 32 bytes as 64 hex characters or as base64; anything else is a configuration error. */
export function parseKey(value: string, name: string): Buffer {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  const b = Buffer.from(v, 'base64');
  if (b.length === 32) return b;
  throw new Error(`${name} must be 32 bytes, given as 64 hex characters or base64 (generate one with: openssl rand -hex 32)`);
}

/** Reads a key file from the data directory, creating it (mode 0600) on first use. */
export function loadOrCreateKeyFile(dataDir: string, file: string, bytes = 32): Buffer {
  const p = path.join(dataDir, file);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return Buffer.from(fs.readFileSync(p, 'utf8').trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = crypto.randomBytes(bytes);
  try {
    fs.writeFileSync(p, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(fs.readFileSync(p, 'utf8').trim(), 'hex');
    throw err;
  }
}
