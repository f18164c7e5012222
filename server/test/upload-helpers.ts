import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** Multipart uploads and the server's memory, for the tests that send big files (issue 26). */

export const MiB = 1024 * 1024;

export type Body = string | Buffer | { size: number; chunks: () => AsyncIterable<Buffer> };
export interface Part {
  name: string;
  /** Makes it a file part (curl -F 'name=@file'); without, a plain field. */
  filename?: string;
  type?: string;
  body: Body;
}

const sizeOf = (b: Body) => (typeof b === 'string' ? Buffer.byteLength(b) : Buffer.isBuffer(b) ? b.length : b.size);
async function* chunksOf(b: Body): AsyncIterable<Buffer> {
  if (typeof b === 'string') yield Buffer.from(b);
  else if (Buffer.isBuffer(b)) yield b;
  else yield* b.chunks();
}

/** `size` random bytes, 1 MiB at a time (never held whole), with their SHA-256 once sent. */
export function randomBody(size: number): { body: Body; sha256: () => string } {
  const hash = crypto.createHash('sha256');
  let digest = '';
  return {
    body: {
      size,
      async *chunks() {
        for (let left = size; left > 0; left -= MiB) {
          const c = crypto.randomBytes(Math.min(MiB, left));
          hash.update(c);
          yield c;
        }
        digest = hash.digest('hex');
      },
    },
    sha256: () => digest,
  };
}

export const json = (v: unknown): Part => ({ name: 'request', body: JSON.stringify(v) });
export const file = (name: string, body: Body): Part => ({ name, filename: path.basename(name) || 'f', body });

/**
 * Sends a multipart body with a Content-Length, as curl does, writing with backpressure and reading the answer
 * while it writes: a refusal may come before the body is all sent. `abortAfter` cuts the connection after that
 * many bytes of the body.
 */
export async function sendForm(url: string, key: string, parts: Part[], o: { abortAfter?: number } = {}): Promise<{ status: number; body: any }> {
  const boundary = `----cronium${crypto.randomBytes(8).toString('hex')}`;
  const head = (p: Part) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\n` +
        (p.type ? `Content-Type: ${p.type}\r\n` : p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '') +
        '\r\n',
      'utf8',
    );
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length = parts.reduce((n, p) => n + head(p).length + sizeOf(p.body) + 2, 0) + tail.length;
  const u = new URL('/api/v1/executions', url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': length } },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => (o.abortAfter !== undefined ? resolve({ status: 0, body: null }) : reject(err)));
    const write = (b: Buffer) => (req.write(b) ? Promise.resolve() : new Promise<void>((r) => req.once('drain', () => r())));
    void (async () => {
      let sent = 0;
      for (const p of parts) {
        for (const b of [head(p), null, Buffer.from('\r\n')]) {
          for await (const c of b ? [b] : chunksOf(p.body)) {
            if (answered || req.destroyed) return;
            await write(c);
            sent += c.length;
            if (o.abortAfter !== undefined && sent >= o.abortAfter) return req.destroy();
          }
        }
      }
      if (!answered) req.end(tail);
    })().catch(reject);
  });
}

/** The server's resident memory in bytes, from /proc. */
export const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;


/** The largest RSS of process `pid` seen while `fn` runs, sampled every 20 ms. */
export async function peakRssDuring<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; peak: number; samples: number }> {
  let peak = rssOf(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
    samples++;
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, rssOf(pid));
    return { result, peak, samples };
  } finally {
    clearInterval(timer);
  }
}

/** The idle RSS of process `pid`: the median of 20 samples 50 ms apart, after 2 s of rest. */
export async function idleRss(pid: number): Promise<{ median: number; min: number; max: number }> {
  await new Promise((r) => setTimeout(r, 2000));
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    samples.push(rssOf(pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, min: samples[0]!, max: samples.at(-1)! };
}
