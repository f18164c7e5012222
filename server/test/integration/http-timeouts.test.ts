import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { requireDocker, startTestServer, type TestServer } from '../helpers.js';

// Short on purpose: the defaults are seconds, and before the fix Node's own (60 s, checked every 30 s) applied.
const HEADERS_MS = 500;
const REQUEST_MS = 1000;
const IDLE_MS = 1500;
const KEEP_ALIVE_MS = 500;
/** Node checks the deadlines on an interval and adds a second to the keep-alive timeout it advertises. */
const SLACK_MS = 2000;
/** How long a probe waits for an answer before it reports none (before the fix: 60-90 s). */
const GIVE_UP_MS = 8000;

interface Probe {
  /** The raw bytes the server sent back. */
  answer: string;
  status: number | null;
  closed: boolean;
  ms: number;
}

/**
 * Opens a raw connection, writes `chunks` (a number is a pause in ms), and waits for the server to close it or
 * for GIVE_UP_MS. `endAfter` ends the wait at the first bytes that match it.
 */
function probe(url: string, chunks: (string | number)[], endAfter?: RegExp): Promise<Probe> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    let done = false;
    const socket = net.connect(Number(port), hostname);
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      socket.destroy();
      // The last answer counts: a server may refuse a request at its headers and still wait for its body.
      const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)];
      resolve({ answer, status: statuses.length ? Number(statuses.at(-1)![1]) : null, closed, ms: Date.now() - started });
    };
    const giveUp = setTimeout(() => finish(false), GIVE_UP_MS);
    socket.on('data', (d) => {
      answer += d.toString('latin1');
      if (endAfter?.test(answer)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (done ? undefined : (clearTimeout(giveUp), reject(err))));
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        if (typeof c === 'number') await new Promise((r) => setTimeout(r, c));
        else socket.write(c);
      }
    });
  });
}

const assertTimedOut = (p: Probe, withinMs: number, what: string) => {
  assert.ok(p.closed, `${what}: the connection is still open after ${p.ms} ms (answer: ${JSON.stringify(p.answer)})`);
  assert.ok(p.ms < withinMs + SLACK_MS, `${what}: closed only after ${p.ms} ms (timeout ${withinMs} ms)`);
  // 408 when the server could still say why; a close alone is also an answer.
  if (p.status !== null) {
    assert.equal(p.status, 408, `${what}: ${p.answer}`);
    const body = JSON.parse(p.answer.slice(p.answer.lastIndexOf('\r\n\r\n') + 4));
    assert.equal(body.error.code, 'REQUEST_TIMEOUT');
    assert.match(body.error.message, new RegExp(`${HEADERS_MS} ms.*${REQUEST_MS} ms`));
  }
};

describe('slow clients: header, body and idle timeouts (public API and runtime API)', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer({
      CRONIUM_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      CRONIUM_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
      CRONIUM_HTTP_IDLE_TIMEOUT_MS: String(IDLE_MS),
      CRONIUM_HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
    });
  });
  after(async () => s?.stop());

  const servers = () => [
    { name: 'public API', url: s.url, method: 'POST', path: '/api/v1/executions' },
    { name: 'runtime API', url: s.server.runtimeUrl, method: 'PUT', path: '/runtime/v1/output' },
  ];

  it('incomplete headers: 408 within the headers timeout', async () => {
    for (const { name, url, path } of servers()) {
      const p = await probe(url, [`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer `]);
      assertTimedOut(p, HEADERS_MS, `${name}, incomplete headers`);
      assert.equal(p.status, 408, `${name}: ${p.answer}`);
    }
  });

  it('headers sent a byte at a time: 408 within the headers timeout', async () => {
    const slow = [...'GET /health HTTP/1.1\r\nHost: x\r\n'].flatMap((c) => [c, 100]);
    const p = await probe(s.url, slow);
    assertTimedOut(p, HEADERS_MS, 'trickled headers');
  });

  it('incomplete body: 408 or close within the request timeout', async () => {
    for (const { name, url, method, path } of servers()) {
      const p = await probe(url, [
        `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"value": 1`,
      ]);
      assertTimedOut(p, REQUEST_MS, `${name}, incomplete body`);
    }
  });

  it('a body sent a byte at a time (never idle): 408 within the request timeout', async () => {
    const body = JSON.stringify({ language: 'bash', script: 'echo never' + ' '.repeat(200) });
    const p = await probe(s.url, [
      `POST /api/v1/executions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      ...[...body].flatMap((c) => [c, 100]),
    ]);
    assertTimedOut(p, REQUEST_MS, 'trickled body');
    assert.equal(p.status, 408, p.answer);
    const list = await s.api('GET', '/api/v1/executions');
    assert.equal(list.body.items.length, 0, 'the timed-out request created an execution');
  });

  it('an idle kept-alive connection is closed after the keep-alive timeout, and requests on time are answered', async () => {
    const p = await probe(s.url, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 200, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.equal(p.answer.match(/HTTP\/1\.1 200/g)?.length, 2, p.answer);
    assert.ok(p.closed, `still open after ${p.ms} ms`);
    assert.ok(p.ms < 200 + KEEP_ALIVE_MS + SLACK_MS, `closed only after ${p.ms} ms`);
  });

  it('a live log stream (SSE) stays open past every timeout while the script is silent', async () => {
    const silentMs = IDLE_MS + REQUEST_MS + 1500;
    const created = await s.api('POST', '/api/v1/executions', {
      language: 'bash',
      script: `echo before; sleep ${silentMs / 1000}; echo after`,
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const p = await probe(
      s.url,
      [`GET /api/v1/executions/${created.body.id}/logs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminKey}\r\nAccept: text/event-stream\r\n\r\n`],
      /event: end\ndata: [^\n]*\n\n/,
    ).catch((err) => assert.fail(err));
    // GIVE_UP_MS exceeds the script's run; the stream ends on its own with the end event.
    assert.match(p.answer, /"text":"before"/);
    assert.match(p.answer, /"text":"after"/, `the stream was cut after ${p.ms} ms: ${p.answer}`);
    assert.match(p.answer, /event: end\ndata: \{"status":"succeeded"/);
    assert.ok(p.ms > silentMs, `the stream lasted ${p.ms} ms, less than the script's silence`);
  });

  it('wait: true (a long answer) is not cut while the server waits for the execution', async () => {
    const silentMs = IDLE_MS + REQUEST_MS + 1500;
    const res = await s.api('POST', '/api/v1/executions', { language: 'bash', script: `sleep ${silentMs / 1000}; echo done`, wait: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'succeeded');
  });
});
