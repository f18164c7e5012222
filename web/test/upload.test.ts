/**
 * The Run action with files, called as Remix calls it with a multipart/form-data request as a browser sends it,
 * against a fake API that records the raw bodies it gets: the request goes first as JSON, each file as a part named
 * by its path with its bytes as they were, the bytes flow on while the browser still sends (nothing held whole),
 * and the API's refusals land next to the form's fields.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sealApiKey, sessionStorage } from '../app/lib/session.server';
import { serveAsCroniumApi } from './fake-api';

type Got = { method: string; url: string; contentType: string; raw: Buffer; key: string | null };
let api: http.Server;
let answer: (got: Got) => { status: number; body: unknown };
const got: Got[] = [];
/** Called with each chunk of a request body as the fake API receives it. */
let onChunk: (chunk: Buffer) => void = () => {};
/** When set, the fake API answers this as soon as it has received `afterBytes` of a body, as the real one refuses a file mid-stream. */
let early: { afterBytes: number; status: number; body: unknown } | null = null;
const WEB = 'http://web.test';
const ID = '11111111-2222-3333-4444-555555555555';

before(async () => {
  api = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      onChunk(c);
      if (early && size >= early.afterBytes && !res.headersSent) {
        res.writeHead(early.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(early.body));
      }
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (res.headersSent) return;
      const g = { method: req.method!, url: req.url!, contentType: req.headers['content-type'] ?? '', raw: Buffer.concat(chunks), key: req.headers.authorization?.replace(/^Bearer /, '') ?? null };
      got.push(g);
      const r = answer(g);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await serveAsCroniumApi(api);
});

after(() => api.close());

beforeEach(() => {
  got.length = 0;
  onChunk = () => {};
  early = null;
  answer = () => ({ status: 202, body: { id: ID, status: 'queued' } });
});

async function cookie(): Promise<string> {
  const { storage, secret } = sessionStorage();
  const session = await storage.getSession();
  session.set('k', sealApiKey('key-of-bob', secret));
  session.set('user', { id: 'u-bob', name: 'bob', role: 'user' });
  return (await storage.commitSession(session)).split(';')[0]!;
}

/** The Run action with `form` posted as a browser posts it (multipart, in the form's order). */
async function post(form: FormData | { body: ReadableStream<Uint8Array>; contentType: string }) {
  const headers = new Headers({ cookie: await cookie() });
  let body: FormData | ReadableStream<Uint8Array> = form as FormData;
  if (!(form instanceof FormData)) {
    headers.set('content-type', form.contentType);
    body = form.body;
  }
  const request = new Request(`${WEB}/run`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
  const { action } = await import('../app/routes/run');
  try {
    return { value: (await action({ request, params: {}, context: {} } as never)) as any };
  } catch (thrown) {
    return { thrown: thrown as any };
  }
}

const dataOf = (v: any): any => (v && typeof v === 'object' && 'type' in v && v.type === 'DataWithResponseInit' ? v.data : v);
const statusOf = (v: any): number => (v instanceof Response ? v.status : (v?.init?.status ?? 200));

/** The parts of a multipart body, in order: name, filename and bytes. */
function parts(g: Got): { name: string; filename?: string; contentType?: string; data: Buffer }[] {
  const boundary = /boundary=(.+)$/.exec(g.contentType)![1]!;
  const out: { name: string; filename?: string; contentType?: string; data: Buffer }[] = [];
  const sep = Buffer.from(`--${boundary}`);
  let at = g.raw.indexOf(sep);
  for (;;) {
    const next = g.raw.indexOf(sep, at + sep.length);
    if (next < 0) break;
    const part = g.raw.subarray(at + sep.length + 2, next - 2);
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString();
    out.push({
      name: /name="([^"]*)"/.exec(head)![1]!,
      ...(/filename="([^"]*)"/.test(head) ? { filename: /filename="([^"]*)"/.exec(head)![1]! } : {}),
      ...(/content-type: (.+)/i.test(head) ? { contentType: /content-type: (.+)/i.exec(head)![1]!.trim() } : {}),
      data: part.subarray(headEnd + 4),
    });
    at = next;
  }
  assert.equal(g.raw.subarray(g.raw.length - sep.length - 4).toString(), `${sep}--\r\n`, 'the body ends with the closing boundary');
  return out;
}

function runForm(extra: (f: FormData) => void = () => {}): FormData {
  const f = new FormData();
  f.append('language', 'bash');
  f.append('script', 'cat data/orders.csv');
  f.append('input', '');
  f.append('stdin', 'line one\r\nline two');
  extra(f);
  return f;
}

describe('run action with files', () => {
  it('sends the request first, then each file named by its path (typed, else its own name), bytes unchanged', async () => {
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
    const r = await post(
      runForm((f) => {
        f.append('filePath', ' data/orders.csv ');
        f.append('filePath', '');
        f.append('files', new File(['id,amount\n1,10\n'], 'orders.csv', { type: 'text/csv' }));
        f.append('files', new File([binary], 'blob.bin'));
      }),
    );
    assert.equal((r.thrown as Response).status, 302);
    assert.equal((r.thrown as Response).headers.get('location'), `/executions/${ID}`);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.url, '/api/v1/executions');
    assert.equal(got[0]!.key, 'key-of-bob');
    const [request, csv, blob, ...rest] = parts(got[0]!);
    assert.equal(request!.name, 'request');
    assert.equal(request!.contentType, 'application/json');
    assert.deepEqual(JSON.parse(request!.data.toString()), { language: 'bash', script: 'cat data/orders.csv', stdin: 'line one\nline two' });
    assert.equal(csv!.name, 'data/orders.csv');
    assert.equal(csv!.data.toString(), 'id,amount\n1,10\n');
    assert.equal(blob!.name, 'blob.bin', 'no path typed: its own name');
    assert.ok(blob!.data.equals(binary));
    assert.deepEqual(rest, []);
  });

  it('without a file (an empty file input) sends JSON, with stdin', async () => {
    const r = await post(runForm((f) => f.append('files', new File([], ''))));
    assert.equal((r.thrown as Response).status, 302);
    assert.match(got[0]!.contentType, /^application\/json/);
    assert.deepEqual(JSON.parse(got[0]!.raw.toString()), { language: 'bash', script: 'cat data/orders.csv', stdin: 'line one\nline two' });
  });

  it('passes the bytes on while the browser still sends them: the API has the first half before the second is sent', async () => {
    const boundary = 'test-boundary-1234';
    const enc = new TextEncoder();
    const half = Buffer.alloc(512 * 1024, 'a');
    let apiHas = 0;
    let firstHalfArrived!: () => void;
    const arrived = new Promise<void>((r) => (firstHalfArrived = r));
    onChunk = (c) => {
      apiHas += c.length;
      if (apiHas >= half.length) firstHalfArrived();
    };
    const field = (name: string, value: string) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc.encode(field('language', 'bash') + field('script', 'wc -c big.txt')));
        c.enqueue(enc.encode(`--${boundary}\r\ncontent-disposition: form-data; name="files"; filename="big.txt"\r\ncontent-type: text/plain\r\n\r\n`));
        c.enqueue(half);
        // The rest only once the API holds the first half: a dashboard that buffered the upload would wait forever.
        const timeout = setTimeout(() => c.error(new Error('the API did not get the first half while the upload was open')), 10_000);
        await arrived;
        clearTimeout(timeout);
        c.enqueue(half);
        c.enqueue(enc.encode(`\r\n--${boundary}--\r\n`));
        c.close();
      },
    });
    const r = await post({ body, contentType: `multipart/form-data; boundary=${boundary}` });
    assert.equal((r.thrown as Response)?.status, 302, JSON.stringify(dataOf(r.value)));
    const [, big] = parts(got[0]!);
    assert.equal(big!.data.length, 2 * half.length);
  });

  it('puts the API’s refusal of a file next to Files, naming the file', async () => {
    answer = () => ({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: '../x.csv: must not contain ".."', field: '../x.csv' } } });
    const r = await post(
      runForm((f) => {
        f.append('filePath', '../x.csv');
        f.append('files', new File(['1'], 'x.csv'));
      }),
    );
    assert.equal(statusOf(r.value), 400);
    const d = dataOf(r.value);
    assert.deepEqual(d.fieldErrors, { files: '../x.csv: must not contain ".."' });
    assert.equal(d.values.stdin, 'line one\r\nline two', 'what was typed comes back');
  });

  it('returns the API’s refusal made while a large file streams, without waiting for the API to read the rest', async () => {
    early = { afterBytes: 1024 * 1024, status: 413, body: { error: { code: 'TOO_LARGE', message: 'big.bin: larger than the limit of 1048576 bytes per file', field: 'big.bin' } } };
    const r = await post(runForm((f) => f.append('files', new File([Buffer.alloc(24 * 1024 * 1024, 7)], 'big.bin'))));
    assert.equal(statusOf(r.value), 413);
    assert.deepEqual(dataOf(r.value).fieldErrors, { files: 'big.bin: larger than the limit of 1048576 bytes per file' });
  });

  it('puts a refusal of stdin next to Standard input', async () => {
    answer = () => ({ status: 413, body: { error: { code: 'TOO_LARGE', message: 'stdin: larger than the limit of 10 bytes', field: 'stdin' } } });
    const r = await post(runForm());
    assert.equal(statusOf(r.value), 413);
    assert.deepEqual(dataOf(r.value).fieldErrors, { stdin: 'larger than the limit of 10 bytes' });
  });

  it('does not call the API when the form is invalid, and reads the whole upload anyway', async () => {
    const r = await post(
      runForm((f) => {
        f.set('script', '  ');
        f.append('files', new File([Buffer.alloc(300_000)], 'x.bin'));
      }),
    );
    assert.equal(statusOf(r.value), 400);
    assert.deepEqual(Object.keys(dataOf(r.value).fieldErrors), ['script']);
    assert.equal(got.length, 0);
  });

  it('refuses a field that comes after a file (its request is already sent) instead of dropping it', async () => {
    const r = await post(
      runForm((f) => {
        f.append('files', new File(['1'], 'a.txt'));
        f.append('timeout', '5');
      }),
    );
    assert.equal(statusOf(r.value), 400);
    assert.match(dataOf(r.value).formError, /^timeout: a form field after the files/);
    // The upload to the API was broken off: whatever reached it has no closing boundary, so it stores nothing.
    for (const g of got) assert.doesNotMatch(g.raw.toString('latin1'), /--\r\n$/, 'no complete upload reached the API');
  });
});
