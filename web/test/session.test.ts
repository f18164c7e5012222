import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { formatBytes, formatDuration, formatPercent } from '../app/lib/format';
import { mergeLogs, parseLogEvent } from '../app/lib/logs';
import { loadSessionSecret, openApiKey, sealApiKey } from '../app/lib/session.server';

const cfg = (dataDir: string, sessionSecret: string | null = null) => ({ apiUrl: '', dataDir, sessionSecret, secureCookies: false, sessionMaxAge: 60 });

describe('session secret', () => {
  const made: string[] = [];
  const tempDir = () => {
    made.push(fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-web-')));
    return made.at(-1)!;
  };
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  it('is generated once into <data dir>/web-session.key with mode 0600 and reused', () => {
    const dir = path.join(tempDir(), 'nested');
    const a = loadSessionSecret(cfg(dir));
    const file = path.join(dir, 'web-session.key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(loadSessionSecret(cfg(dir)), a, 'the same secret on the next start');
  });
  it('comes from CRONIUM_SESSION_SECRET when set (and must not be trivially short)', () => {
    const dir = tempDir();
    assert.equal(loadSessionSecret(cfg(dir, 'a-long-enough-secret')), 'a-long-enough-secret');
    assert.equal(fs.existsSync(path.join(dir, 'web-session.key')), false);
    assert.throws(() => loadSessionSecret(cfg(dir, 'short')), /at least 16/);
  });
  it('refuses a key file that holds no usable secret', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'web-session.key'), '\n', { mode: 0o600 });
    assert.throws(() => loadSessionSecret(cfg(dir)), /no usable session secret/);
  });
});

describe('sealed API key', () => {
  it('round-trips, differs each time and never contains the key', () => {
    const key = 'csk_abcdefghijklmnop';
    const a = sealApiKey(key, 'secret-one-secret-one');
    const b = sealApiKey(key, 'secret-one-secret-one');
    assert.notEqual(a, b);
    assert.ok(!a.includes(key) && !Buffer.from(a, 'base64url').toString('latin1').includes(key));
    assert.equal(openApiKey(a, 'secret-one-secret-one'), key);
  });
  it('does not open with another secret, when tampered with, or when missing', () => {
    const a = sealApiKey('csk_x', 'secret-one-secret-one');
    assert.equal(openApiKey(a, 'secret-two-secret-two'), null);
    const buf = Buffer.from(a, 'base64url');
    buf[buf.length - 1]! ^= 1;
    assert.equal(openApiKey(buf.toString('base64url'), 'secret-one-secret-one'), null);
    assert.equal(openApiKey(undefined, 'secret-one-secret-one'), null);
    assert.equal(openApiKey('short', 'secret-one-secret-one'), null);
  });
});

describe('live log helpers', () => {
  const e = (seq: number, text = `line ${seq}`) => ({ seq, ts: '2026-01-01T00:00:00.000Z', stream: 'stdout' as const, text });
  it('merges loader and stream entries by seq, in order, without duplicates', () => {
    assert.deepEqual(
      mergeLogs([e(1), e(2)], [e(2, 'dup'), e(4), e(3)]).map((x) => [x.seq, x.text]),
      [
        [1, 'line 1'],
        [2, 'line 2'],
        [3, 'line 3'],
        [4, 'line 4'],
      ],
    );
  });
  it('parses SSE log payloads and ignores anything else', () => {
    assert.deepEqual(parseLogEvent('{"seq":3,"ts":"t","stream":"stderr","text":"boom"}'), { seq: 3, ts: 't', stream: 'stderr', text: 'boom' });
    assert.equal(parseLogEvent('{"status":"running"}'), null);
    assert.equal(parseLogEvent('not json'), null);
  });
});

describe('formatting', () => {
  it('durations, bytes and rates', () => {
    assert.equal(formatDuration(null), '—');
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(6910), '6.91 s');
    assert.equal(formatDuration(42_000), '42.0 s');
    assert.equal(formatDuration(185_000), '3 m 05 s');
    assert.equal(formatDuration(3_720_000), '1 h 02 m');
    assert.equal(formatBytes(11 * 1024 * 1024), '11 MiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatPercent(0.5), '50.0%');
    assert.equal(formatPercent(1), '100%');
    assert.equal(formatPercent(null), '—');
  });
});
