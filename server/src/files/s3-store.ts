import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import aws4 from 'aws4';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { assertStoreKey, type FileStore } from './store.js';

/** Where the store is and who it is (CRONIUM_ARTIFACT_STORE=s3://<bucket>[/<prefix>] and CRONIUM_S3_*; config.ts). */
export interface S3StoreConfig {
  /** http(s)://host[:port], path-style: the bucket is the first segment of the path, so any S3-compatible server works. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Prepended to every key ('' or 'a/b/'), so several deployments can share a bucket. */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Bytes per multipart part. S3 wants at least 5 MiB for every part but the last; 8 MiB is the memory a put holds
 * per part (one being filled while the one before is sent), and 100 MiB is 13 requests.
 */
export const PART_BYTES = 8 * 1024 * 1024;

export class S3StoreError extends Error {
  constructor(
    readonly code: 'S3_REQUEST_FAILED' | 'S3_BAD_RESPONSE' | 'S3_UNREACHABLE' | 'S3_NO_BUCKET',
    message: string,
    readonly status?: number,
    readonly s3Code?: string,
  ) {
    super(message);
    this.name = 'S3StoreError';
  }
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

const RETRY_STATUS = new Set([500, 502, 503, 504]);
const RETRY_NETWORK = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
const RETRIES = 4;
const RETRY_BASE_MS = 50;

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unxml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => XML_ENTITIES[e]!);
const xmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => `&${Object.entries(XML_ENTITIES).find(([, v]) => v === c)![0]};`);
// The responses read here are small, flat and well known (an upload id, keys, a token): a few patterns, no XML library.
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? unxml(m[1]!) : undefined;
};
const tags = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => unxml(m[1]!));
// Keys are [A-Za-z0-9._-/] (assertStoreKey), so they go into a path as they are; a query value may be any token.
const q = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The file store in an S3-compatible object store (CRONIUM_ARTIFACT_STORE=s3://…), for servers that share one
 * bucket. Requests are signed with AWS Signature V4 (the aws4 package) and sent with undici; path-style addressing.
 *
 * A put is a multipart upload, one part buffered at a time, so memory is bounded whatever the size; the object
 * appears only when the upload completes, whole (S3's own atomicity: a reader finds the old object or the new one),
 * and a put that fails aborts its upload, leaving nothing. A file smaller than one part is a single PutObject. A get
 * is one GET (with a Range header for a range), streamed as it arrives: a reader of an object replaced under it reads
 * the one it opened, whole, as S3 serves it.
 */
export class S3FileStore implements FileStore {
  private readonly base: URL;

  /** pageSize: keys per listing page and per DeleteObjects (S3's most is 1000; the tests page with fewer). */
  constructor(
    private readonly config: S3StoreConfig,
    private readonly pageSize = 1000,
  ) {
    this.base = new URL(config.endpoint);
  }

  /**
   * That the bucket is there and the keys may list it (ListObjectsV2 of one key under the prefix): checked at start,
   * so a wrong endpoint, bucket or key stops the server with its reason instead of failing executions later.
   */
  async check(): Promise<void> {
    try {
      await (await this.send('GET', `/${this.config.bucket}?list-type=2&max-keys=1&prefix=${q(this.config.prefix)}`)).body.dump();
    } catch (err) {
      if (err instanceof S3StoreError && err.s3Code === 'NoSuchBucket') {
        throw new S3StoreError('S3_NO_BUCKET', `CRONIUM_ARTIFACT_STORE: the bucket ${this.config.bucket} does not exist at ${this.base.origin} (create it first)`, err.status, err.s3Code);
      }
      throw new S3StoreError((err as S3StoreError).code ?? 'S3_UNREACHABLE', `CRONIUM_ARTIFACT_STORE: the bucket ${this.config.bucket} at ${this.base.origin} cannot be used: ${(err as Error).message}`);
    }
  }

  private objectPath(key: string): string {
    return `/${this.config.bucket}/${this.config.prefix}${key}`;
  }

  /** One signed request; the body of a failed one is read for S3's error code and the request rejected with it. */
  private async send(method: Method, path: string, opts: { body?: Buffer; headers?: Record<string, string>; ok?: number[] } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body) {
      headers['Content-Length'] = String(opts.body.length);
      // aws4 would make a body form data, which a server may then parse as such (moto does, keeping nothing).
      headers['Content-Type'] ??= 'application/octet-stream';
    }
    let res: Dispatcher.ResponseData;
    for (let attempt = 1; ; attempt++) {
      // Signed anew each time: the signature carries the time.
      const signed = aws4.sign(
        { host: this.base.host, path, method, headers: { ...headers }, body: opts.body, service: 's3', region: this.config.region },
        { accessKeyId: this.config.accessKeyId, secretAccessKey: this.config.secretAccessKey, sessionToken: this.config.sessionToken },
      );
      try {
        res = await request(new URL(path, this.base), { method, headers: signed.headers as Record<string, string>, body: opts.body });
      } catch (err) {
        // A kept-alive connection the server closed, a reset: sent again like a 503; past the retries, said as S3's.
        const code = (err as { code?: string }).code ?? '';
        if (attempt < RETRIES && RETRY_NETWORK.has(code)) {
          await sleep(RETRY_BASE_MS * 4 ** (attempt - 1) * (0.5 + Math.random()));
          continue;
        }
        throw new S3StoreError('S3_UNREACHABLE', `S3 ${method} ${this.base.origin}${path.split('?')[0]}: ${(err as Error).message}${code ? ` (${code})` : ''}`);
      }
      // S3 asks for a retry of 500 and 503 (InternalError, SlowDown), as its SDKs do; every body here is a buffer,
      // so sending it again is safe, and nothing of a response is passed on before its status is known.
      if (!RETRY_STATUS.has(res.statusCode) || attempt === RETRIES) break;
      await res.body.dump();
      await sleep(RETRY_BASE_MS * 4 ** (attempt - 1) * (0.5 + Math.random()));
    }
    if (res.statusCode < 300 || opts.ok?.includes(res.statusCode)) return res;
    const text = await res.body.text().catch(() => '');
    const s3Code = tag(text, 'Code');
    throw new S3StoreError('S3_REQUEST_FAILED', `S3 ${method} ${path.split('?')[0]}: ${res.statusCode}${s3Code ? ` ${s3Code}` : ''}${tag(text, 'Message') ? `: ${tag(text, 'Message')}` : ''}`, res.statusCode, s3Code);
  }

  private async sendText(method: Method, path: string, opts: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<string> {
    return (await this.send(method, path, opts)).body.text();
  }

  async put(key: string, body: AsyncIterable<Buffer | Uint8Array>): Promise<{ size: number; sha256: string }> {
    const path = this.objectPath(assertStoreKey(key));
    const hash = crypto.createHash('sha256');
    let size = 0;
    // Two part buffers, used in turn: one filling while the other is sent. A fresh buffer per part would leave
    // freed 8 MiB blocks to the collector, and RSS would grow by many parts before they are returned.
    // Until a file reaches one part its chunks are only kept (most files are small: no 16 MiB for 10 bytes of stdin).
    let buffers: Buffer[] | undefined;
    let head: Buffer[] = [];
    let part: Buffer = Buffer.alloc(0);
    let filled = 0;
    let uploadId: string | undefined;
    const etags: string[] = [];
    // At most one part on the wire while the next one fills: two parts of memory, and the source never waits on S3
    // for longer than one part takes.
    let sending: Promise<void> = Promise.resolve();
    const sendPart = (buf: Buffer) => {
      const n = etags.length + 1;
      etags.push('');
      const id = uploadId!;
      const prev = sending;
      sending = (async () => {
        await prev;
        const res = await this.send('PUT', `${path}?partNumber=${n}&uploadId=${q(id)}`, { body: buf });
        await res.body.dump();
        const etag = res.headers.etag;
        if (typeof etag !== 'string') throw new S3StoreError('S3_BAD_RESPONSE', `S3 gave no ETag for part ${n} of ${key}`);
        etags[n - 1] = etag;
      })();
      // Seen by the next await of `sending`; kept from being an unhandled rejection meanwhile.
      sending.catch(() => undefined);
    };
    try {
      for await (const chunk of body) {
        let c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        hash.update(c);
        size += c.length;
        if (!buffers) {
          if (filled + c.length < PART_BYTES) {
            head.push(c);
            filled += c.length;
            continue;
          }
          buffers = [Buffer.allocUnsafe(PART_BYTES), Buffer.allocUnsafe(PART_BYTES)];
          part = buffers[0]!;
          for (let at = 0, i = 0; i < head.length; at += head[i]!.length, i++) head[i]!.copy(part, at);
          head = [];
        }
        while (c.length) {
          const n = Math.min(c.length, PART_BYTES - filled);
          c.copy(part, filled, 0, n);
          filled += n;
          c = c.subarray(n);
          if (filled === PART_BYTES) {
            if (!uploadId) {
              const xml = await this.sendText('POST', `${path}?uploads`);
              uploadId = tag(xml, 'UploadId');
              if (!uploadId) throw new S3StoreError('S3_BAD_RESPONSE', `S3 gave no UploadId for ${key}`);
            }
            // Wait for the part before the one being sent, so no more than two are held.
            await sending;
            sendPart(part);
            part = buffers![etags.length % 2]!;
            filled = 0;
          }
        }
      }
      if (!uploadId) {
        // Smaller than one part (most inputs, stdin, small artifacts): one request instead of three.
        const res = await this.send('PUT', path, { body: buffers ? part.subarray(0, filled) : Buffer.concat(head, filled) });
        await res.body.dump();
      } else {
        if (filled > 0) {
          await sending;
          sendPart(part.subarray(0, filled));
        }
        await sending;
        const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
        // S3 may answer 200 and put the error in the body (a failure found after the headers went out).
        const done = await this.sendText('POST', `${path}?uploadId=${q(uploadId)}`, { body: Buffer.from(xml), headers: { 'Content-Type': 'application/xml' } });
        if (/<Error>/.test(done)) throw new S3StoreError('S3_REQUEST_FAILED', `S3 could not complete the upload of ${key}: ${tag(done, 'Code') ?? 'error'}`, 200, tag(done, 'Code'));
        uploadId = undefined;
      }
      return { size, sha256: hash.digest('hex') };
    } catch (err) {
      if (uploadId) {
        const id = uploadId;
        await sending.catch(() => undefined);
        // An upload left open keeps its parts (and their cost) until aborted: abort it, whatever went wrong.
        await this.send('DELETE', `${path}?uploadId=${q(id)}`, { ok: [404] })
          .then((r) => r.body.dump())
          .catch(() => undefined);
      }
      throw err;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
    const path = this.objectPath(assertStoreKey(key));
    const res = await this.send('GET', path, { headers: range ? { Range: `bytes=${range.start}-${range.end}` } : {}, ok: [404, 416] });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode === 416) {
      // A range that starts past the end (of an empty file, say): nothing, as the other stores give.
      await res.body.dump();
      return Readable.from([]);
    }
    // undici's body is a Readable that pauses the socket while its consumer does: bounded memory on the way out.
    return res.body;
  }

  async deletePrefix(prefix: string): Promise<void> {
    // As on disk: `<id>/` (or `<id>`) is that whole path and what is under it, never `<id>x/`.
    const p = assertStoreKey(prefix.replace(/\/+$/, ''));
    const full = `${this.config.prefix}${p}`;
    // Uploads in flight under it first: their puts fail instead of making the execution's files reappear.
    for (const u of await this.uploadsUnder(`${full}/`)) {
      await this.send('DELETE', `/${this.config.bucket}/${u.key}?uploadId=${q(u.uploadId)}`, { ok: [404] }).then((r) => r.body.dump());
    }
    let token: string | undefined;
    const first = [full];
    do {
      const xml = await this.sendText('GET', `/${this.config.bucket}?list-type=2&max-keys=${this.pageSize}&prefix=${q(`${full}/`)}${token ? `&continuation-token=${q(token)}` : ''}`);
      const keys = [...first.splice(0), ...tags(xml, 'Key')];
      if (keys.length) await this.deleteObjects(keys);
      token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
    } while (token);
  }

  /** DeleteObjects takes up to 1000 keys; a listing page is at most pageSize (plus the bare key on the first page). */
  private async deleteObjects(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += this.pageSize) {
      const batch = keys.slice(i, i + this.pageSize);
      const body = Buffer.from(`<Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join('')}</Delete>`);
      // S3 requires a checksum on DeleteObjects.
      const xml = await this.sendText('POST', `/${this.config.bucket}?delete`, {
        body,
        headers: { 'Content-Type': 'application/xml', 'Content-MD5': crypto.createHash('md5').update(body).digest('base64') },
      });
      if (/<Error>/.test(xml)) throw new S3StoreError('S3_REQUEST_FAILED', `S3 did not delete every object: ${tag(xml, 'Code') ?? 'error'} for ${tag(xml, 'Key') ?? '?'}`, 200, tag(xml, 'Code'));
    }
  }

  /** The multipart uploads not yet completed or aborted under a key prefix (the whole store's when none is given). */
  async uploadsUnder(prefix = ''): Promise<{ key: string; uploadId: string }[]> {
    const out: { key: string; uploadId: string }[] = [];
    let marker = '';
    for (;;) {
      const xml = await this.sendText('GET', `/${this.config.bucket}?uploads&prefix=${q(prefix || this.config.prefix)}${marker}`);
      for (const m of xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) out.push({ key: tag(m[1]!, 'Key')!, uploadId: tag(m[1]!, 'UploadId')! });
      if (tag(xml, 'IsTruncated') !== 'true') return out;
      marker = `&key-marker=${q(tag(xml, 'NextKeyMarker') ?? '')}&upload-id-marker=${q(tag(xml, 'NextUploadIdMarker') ?? '')}`;
    }
  }
}
