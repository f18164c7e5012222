import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import {
  createEgressProxy,
  parseProxyAuthorization,
  type EgressAuditEntry,
  type EgressProxy,
  type EgressProxyOptions,
  type ResolvedAddress,
} from '../../src/egress/proxy.js';
import type { Rule } from '../../src/egress/policy.js';

/** Per-test timeout: a regression that leaves a socket hanging fails instead of stalling the run. */
const T = { timeout: 8000 };

const AUTH = `Basic ${Buffer.from('exec-1:secret-token').toString('base64')}`;
const CTX = { executionId: 'exec-1', userId: 'user-1' };

// ---------------------------------------------------------------------------
// Dial guard: the proxy reaches the network through net.connect. Every dial is recorded, and
// anything outside 127/8 fails with EGUARD instead of leaving the machine, so even a broken
// proxy cannot contact a real (metadata, private) address from these tests.
// ---------------------------------------------------------------------------

const dialed: string[] = [];
const realConnect = net.connect;
function guardedConnect(this: unknown, ...args: unknown[]): net.Socket {
  const o = args[0];
  if (o && typeof o === 'object' && 'port' in o) {
    const { host, port } = o as { host?: string; port: number };
    dialed.push(`${host ?? 'localhost'}:${port}`);
    if (!host || !/^127\./.test(host)) {
      const s = new net.Socket();
      process.nextTick(() => s.destroy(Object.assign(new Error(`test guard: dial to ${host}:${port} refused`), { code: 'EGUARD' })));
      return s;
    }
  }
  return (realConnect as (...a: unknown[]) => net.Socket).apply(net, args);
}
(net as { connect: unknown }).connect = guardedConnect;

/** Dials made by the proxy to upstreams (the test's own dials to the proxy are excluded). */
const upstreamDials = (): string[] => dialed.filter((d) => d !== `127.0.0.1:${current?.port}`);

// ---------------------------------------------------------------------------
// Local upstreams (127.0.0.1 only)
// ---------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  localAddress: string;
}

let upstream: http.Server;
let upstreamPort: number;
const upstreamSeen: Seen[] = [];

let echo: net.Server;
let echoPort: number;

/** A port with nothing listening (bound then closed). */
let closedPort: number;

async function listen(server: net.Server, host = '127.0.0.1', port = 0): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

before(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstreamSeen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        localAddress: req.socket.localAddress ?? '',
      });
      if (req.url === '/slow') return; // never answers
      const body = JSON.stringify({ url: req.url, method: req.method, host: req.headers.host });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        connection: 'x-upstream-hop',
        'x-upstream-hop': 'must not reach the client',
        'proxy-authenticate': 'Basic realm="upstream"',
        'x-upstream': 'yes',
      });
      res.end(body);
    });
  });
  upstreamPort = await listen(upstream);

  echo = net.createServer((socket) => {
    testSockets.add(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echoPort = await listen(echo);

  const tmp = net.createServer();
  closedPort = await listen(tmp);
  tmp.close();
  await once(tmp, 'close');
});

after(async () => {
  (net as { connect: unknown }).connect = realConnect;
  upstream.closeAllConnections();
  upstream.close();
  echo.close();
});

// ---------------------------------------------------------------------------
// Proxy under test
// ---------------------------------------------------------------------------

interface Harness {
  proxy: EgressProxy;
  port: number;
  audits: EgressAuditEntry[];
  resolveCalls: string[];
  rules: Rule[];
}

let current: Harness | undefined;

/** Sockets opened by the tests (clients, echo server side), destroyed after each test. */
const testSockets = new Set<net.Socket>();
/** Extra servers started by a test, closed after it even when it times out. */
const testServers = new Set<net.Server>();

afterEach(async () => {
  for (const s of testSockets) s.destroy();
  testSockets.clear();
  for (const srv of testServers) srv.close();
  testServers.clear();
  // Bounded: a broken close() must fail its own test, not stall the whole run.
  if (current) await Promise.race([current.proxy.close(), new Promise((r) => setTimeout(r, 2000))]);
  current = undefined;
  upstreamSeen.length = 0;
  dialed.length = 0;
});

type Resolver = (host: string, call: number) => ResolvedAddress[];

const staticResolver =
  (table: Record<string, string[]>): Resolver =>
  (host) => {
    const addrs = table[host];
    if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

async function startProxy(
  rules: Rule[],
  options: Partial<EgressProxyOptions> & { resolver?: Resolver } = {},
): Promise<Harness> {
  const audits: EgressAuditEntry[] = [];
  const resolveCalls: string[] = [];
  const resolver = options.resolver ?? staticResolver({ 'allowed.test': ['127.0.0.1'] });
  const proxy = createEgressProxy({
    authenticate: async (header) => (header === AUTH ? CTX : null),
    rulesFor: async (ctx) => {
      assert.deepEqual(ctx, CTX);
      return rules;
    },
    openings: ['127.0.0.1/32:1-65535'],
    deniedCidrs: ['172.17.0.0/16'],
    resolve: async (host) => {
      resolveCalls.push(host);
      return resolver(host, resolveCalls.length);
    },
    audit: (entry) => audits.push(entry),
    connectTimeoutMs: 1000,
    ...options,
  });
  const address = await proxy.listen(0, '127.0.0.1');
  current = { proxy, port: address.port, audits, resolveCalls, rules };
  return current;
}

const rule = (id: string, pattern: string, ports: number[] | null = null): Rule => ({ id, pattern, ports, scope: 'global' });

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request through the proxy (absolute-form request target). */
function proxyRequest(
  proxyPort: number,
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; auth?: string | null } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    const auth = init.auth === undefined ? AUTH : init.auth;
    if (auth) headers['proxy-authorization'] = auth;
    if (!headers.host) {
      try {
        headers.host = new URL(target).host;
      } catch {
        headers.host = 'unknown';
      }
    }
    const req = http.request(
      { host: '127.0.0.1', port: proxyPort, method: init.method ?? 'GET', path: target, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

interface ConnectResult {
  status: number;
  headers: Record<string, string>;
  /** For refusals: the body (read until the proxy closes). */
  body: string;
  socket: net.Socket;
}

/** Sends CONNECT over a raw socket; on 200 the socket is the open tunnel. */
function proxyConnect(proxyPort: number, authority: string, auth: string | null = AUTH): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: proxyPort });
    testSockets.add(socket);
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string> } | undefined;
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        head = { status, headers };
        buf = buf.subarray(end + 4);
        if (status === 200) {
          socket.removeListener('data', onData);
          socket.removeListener('end', onEnd);
          if (buf.length) socket.unshift(buf);
          resolve({ ...head, body: '', socket });
        }
      }
    };
    const onEnd = (): void => {
      if (!head) return reject(new Error(`proxy closed without a response: ${buf.toString()}`));
      resolve({ ...head, body: buf.toString('utf8'), socket });
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', reject);
    socket.write(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`,
    );
  });
}

/** Round-trips a message through an echo tunnel. */
async function echoThrough(socket: net.Socket, message: string): Promise<string> {
  socket.write(message);
  let got = '';
  while (got.length < message.length) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    got += chunk.toString('utf8');
  }
  return got;
}

async function waitFor<T>(fn: () => T | undefined, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('egress proxy: plain HTTP', () => {
  test('allowed GET reaches the checked address with the original Host and no proxy credentials', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/hello?x=1`, {
      headers: { connection: 'x-client-hop', 'x-client-hop': 'secret', 'proxy-connection': 'keep-alive', 'x-app': 'kept' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { url: '/hello?x=1', method: 'GET', host: `allowed.test:${upstreamPort}` });
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.equal(res.headers['x-upstream-hop'], undefined, 'header named by upstream Connection is stripped');
    assert.equal(res.headers['proxy-authenticate'], undefined);

    assert.equal(upstreamSeen.length, 1);
    const seen = upstreamSeen[0]!;
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['proxy-connection'], undefined);
    assert.equal(seen.headers['x-client-hop'], undefined, 'header named by client Connection is stripped');
    assert.equal(seen.headers['x-app'], 'kept');
    assert.equal(seen.headers['x-forwarded-for'], undefined);

    assert.deepEqual(h.resolveCalls, ['allowed.test']);
    const entry = await waitFor(() => h.audits[0], 'audit');
    assert.equal(h.audits.length, 1);
    assert.equal(entry.allowed, true);
    assert.equal(entry.reason, 'allowed');
    assert.equal(entry.ruleId, 'r1');
    assert.equal(entry.address, '127.0.0.1');
    assert.equal(entry.host, 'allowed.test');
    assert.equal(entry.port, upstreamPort);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.executionId, 'exec-1');
    assert.equal(entry.userId, 'user-1');
    assert.equal(entry.status, 200);
    assert.ok((entry.bytesIn ?? 0) > 0 && (entry.bytesOut ?? 0) > 0);
    assert.equal(typeof entry.durationMs, 'number');
  });

  test('a client Host header cannot redirect the request to another virtual host', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`, { headers: { host: 'evil.example' } });
    assert.equal(res.status, 200);
    assert.equal(upstreamSeen[0]!.headers.host, `allowed.test:${upstreamPort}`);
  });

  test('POST bodies are forwarded', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'payload-123',
    });
    assert.equal(res.status, 200);
    assert.equal(upstreamSeen[0]!.body, 'payload-123');
    assert.equal(upstreamSeen[0]!.method, 'POST');
  });

  test('denied host: 403 with reason header, exact body and an audit entry; nothing resolved or sent', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, 'http://denied.test/path');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'no_matching_rule');
    assert.equal(res.body, 'cronium egress: denied.test:80 refused (no_matching_rule)');
    assert.deepEqual(h.resolveCalls, []);
    assert.equal(upstreamSeen.length, 0);
    assert.equal(h.audits.length, 1);
    assert.equal(h.audits[0]!.allowed, false);
    assert.equal(h.audits[0]!.reason, 'no_matching_rule');
    assert.equal(h.audits[0]!.host, 'denied.test');
    assert.equal(h.audits[0]!.port, 80);
  });

  test('allowed host on a port the rule does not list is refused', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test')]);
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`);
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'port_not_allowed');
    assert.equal(upstreamSeen.length, 0);
  });

  test('metadata IP is refused even when a rule names it, in any notation', T, async () => {
    // Port 9 (discard): even a broken implementation would not reach a real metadata service.
    const h = await startProxy([rule('meta', '169.254.169.254', [9])]);
    for (const target of ['http://169.254.169.254:9/latest/meta-data/', 'http://0xa9fea9fe:9/', 'http://2852039166:9/', 'http://[::ffff:169.254.169.254]:9/']) {
      const res = await proxyRequest(h.port, target);
      assert.equal(res.status, 403, target);
      const expected = target.includes('[') ? 'ip_literal_not_allowed' : 'metadata'; // the mapped form is another literal
      assert.equal(res.headers['x-cronium-egress-reason'], expected, target);
    }
    assert.equal(h.audits[0]!.address, '169.254.169.254');
    assert.equal(h.audits[0]!.ruleId, 'meta');
    assert.deepEqual(h.resolveCalls, [], 'IP literals are never resolved');
    assert.deepEqual(upstreamDials(), [], 'nothing was dialled');
  });

  test('an IP rule still needs the address check: loopback opens only through an opening', T, async () => {
    // (Never exercised against 169.254.169.254: a test must not contact a real metadata service.)
    const closed = await startProxy([rule('loop', '127.0.0.1', [upstreamPort])], { openings: [] });
    const refused = await proxyRequest(closed.port, `http://127.0.0.1:${upstreamPort}/`);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['x-cronium-egress-reason'], 'loopback');
    assert.equal(upstreamSeen.length, 0);
    await closed.proxy.close();

    const open = await startProxy([rule('loop', '127.0.0.1', [upstreamPort])], { openings: ['127.0.0.1/32:1-65535'] });
    const ok = await proxyRequest(open.port, `http://0x7f.1:${upstreamPort}/`);
    assert.equal(ok.status, 200);
    assert.equal(upstreamSeen.length, 1);
    assert.equal((await waitFor(() => open.audits[0], 'audit')).ruleId, 'loop');
  });

  test('metadata IP passes the address check only when an opening names it explicitly', T, async () => {
    const h = await startProxy([rule('meta', '169.254.169.254', [80])], { openings: ['127.0.0.1/32:1-65535', '169.254.169.254/32:80'] });
    const res = await proxyRequest(h.port, 'http://169.254.169.254/latest/meta-data/');
    // The dial guard refuses the connection: the proxy tried (502), it did not refuse (403).
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-cronium-egress-reason'], 'upstream_error');
    assert.deepEqual(upstreamDials(), ['169.254.169.254:80']);
    const entry = await waitFor(() => h.audits[0], 'audit');
    assert.equal(entry.allowed, true);
    assert.equal(entry.address, '169.254.169.254');
    assert.equal(entry.error, 'EGUARD');
  });

  test('IP literal without a rule naming it is refused even if an opening covers the address', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, `http://2130706433:${upstreamPort}/`);
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'ip_literal_not_allowed');
    assert.equal(upstreamSeen.length, 0);
  });

  test('407 without or with wrong credentials', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    for (const auth of [null, `Basic ${Buffer.from('exec-1:wrong').toString('base64')}`]) {
      const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`, { auth });
      assert.equal(res.status, 407);
      assert.equal(res.headers['proxy-authenticate'], 'Basic realm="cronium-egress"');
    }
    assert.equal(upstreamSeen.length, 0);
    assert.deepEqual(h.resolveCalls, []);
  });

  test('DNS rebinding: a name resolving to a private address is refused', T, async () => {
    const h = await startProxy([rule('r1', 'rebind.test', [9])], {
      resolver: staticResolver({ 'rebind.test': ['10.0.0.5'] }),
    });
    const res = await proxyRequest(h.port, 'http://rebind.test:9/');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'private');
    assert.equal(res.body, 'cronium egress: rebind.test:9 refused (private)');
    assert.equal(h.audits[0]!.allowed, false);
    assert.equal(h.audits[0]!.address, '10.0.0.5');
    assert.deepEqual(upstreamDials(), []);
    assert.equal(h.audits[0]!.ruleId, 'r1');
  });

  test('the connection goes to the checked address: one resolution, no re-lookup', T, async () => {
    // First answer is the checked one; a second lookup would get 127.0.0.2 (nothing listens there).
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], {
      openings: ['127.0.0.0/8:1-65535'],
      resolver: (_host, call) => [{ address: call === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }],
    });
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/once`);
    assert.equal(res.status, 200);
    assert.equal(upstreamSeen[0]!.url, '/once');
    assert.deepEqual(h.resolveCalls, ['allowed.test']);
    assert.deepEqual(upstreamDials(), [`127.0.0.1:${upstreamPort}`]);
    assert.equal((await waitFor(() => h.audits[0], 'audit')).address, '127.0.0.1');
  });

  test('mixed answers: refused addresses are skipped, the checked one is used', T, async () => {
    const h = await startProxy([rule('r1', 'mixed.test', [upstreamPort])], {
      resolver: staticResolver({ 'mixed.test': ['127.0.0.2', '127.0.0.3', '127.0.0.1'] }), // .2/.3: loopback, refused
    });
    const res = await proxyRequest(h.port, `http://mixed.test:${upstreamPort}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(upstreamDials(), [`127.0.0.1:${upstreamPort}`], 'refused answers are never dialled');
    assert.equal((await waitFor(() => h.audits[0], 'audit')).address, '127.0.0.1');
  });

  test('all answers refused: the first refusal is reported', T, async () => {
    const h = await startProxy([rule('r1', 'bad.test', [9])], {
      resolver: staticResolver({ 'bad.test': ['169.254.169.254', '127.0.0.2'] }),
    });
    const res = await proxyRequest(h.port, 'http://bad.test:9/');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'metadata');
    assert.equal(h.audits[0]!.address, '169.254.169.254');
  });

  test('resolver failure is a 502 dns_error', T, async () => {
    const h = await startProxy([rule('r1', 'nowhere.test')], { resolver: staticResolver({}) });
    const res = await proxyRequest(h.port, 'http://nowhere.test/');
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-cronium-egress-reason'], 'dns_error');
    assert.equal(h.audits[0]!.allowed, false);
  });

  test('upstream connection failure is a 502', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [closedPort])]);
    const res = await proxyRequest(h.port, `http://allowed.test:${closedPort}/`);
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-cronium-egress-reason'], 'upstream_error');
    const entry = await waitFor(() => h.audits[0], 'audit');
    assert.equal(entry.reason, 'upstream_error');
    assert.equal(entry.error, 'ECONNREFUSED');
  });

  test('slow upstream hits the idle timeout: 504', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], { upstreamIdleTimeoutMs: 200 });
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/slow`);
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-cronium-egress-reason'], 'upstream_timeout');
    assert.equal((await waitFor(() => h.audits[0], 'audit')).reason, 'upstream_timeout');
  });

  test('blocked port is refused even when a rule lists it', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [25])]);
    const res = await proxyRequest(h.port, 'http://allowed.test:25/');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'blocked_port');
    assert.deepEqual(h.resolveCalls, []);
  });

  test('non-proxy requests are rejected', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test')]);
    const relative = await proxyRequest(h.port, '/hello');
    assert.equal(relative.status, 400);
    assert.equal(relative.headers['x-cronium-egress-reason'], 'not_absolute_form');
    const https = await proxyRequest(h.port, 'https://allowed.test/');
    assert.equal(https.status, 400);
    assert.equal(https.headers['x-cronium-egress-reason'], 'unsupported_scheme');
  });

  test('IDN hosts are checked and resolved in their ASCII form', T, async () => {
    const h = await startProxy([rule('idn', 'bücher.example', [upstreamPort])], {
      resolver: staticResolver({ 'xn--bcher-kva.example': ['127.0.0.1'] }),
    });
    const res = await proxyRequest(h.port, `http://xn--bcher-kva.example:${upstreamPort}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(h.resolveCalls, ['xn--bcher-kva.example']);
  });
});

describe('egress proxy: CONNECT tunnels', () => {
  test('allowed CONNECT tunnels raw TCP to the checked address and is audited on close', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])]);
    const t = await proxyConnect(h.port, `allowed.test:${echoPort}`);
    assert.equal(t.status, 200);
    assert.equal(await echoThrough(t.socket, 'hello through the tunnel'), 'hello through the tunnel');
    assert.equal(await echoThrough(t.socket, 'second'), 'second');
    assert.deepEqual(h.resolveCalls, ['allowed.test']);
    assert.equal(h.audits.length, 0, 'audited when the tunnel ends');
    t.socket.end();
    const entry = await waitFor(() => h.audits[0], 'tunnel audit');
    assert.equal(entry.method, 'CONNECT');
    assert.equal(entry.allowed, true);
    assert.equal(entry.reason, 'allowed');
    assert.equal(entry.address, '127.0.0.1');
    assert.equal(entry.port, echoPort);
    assert.equal(entry.bytesOut, 'hello through the tunnel'.length + 'second'.length);
    assert.equal(entry.bytesIn, 'hello through the tunnel'.length + 'second'.length);
  });

  test('denied CONNECT: 403 with reason and audit, no resolution', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])]);
    const t = await proxyConnect(h.port, 'denied.test:443');
    assert.equal(t.status, 403);
    assert.equal(t.headers['x-cronium-egress-reason'], 'no_matching_rule');
    assert.equal(t.body, 'cronium egress: denied.test:443 refused (no_matching_rule)');
    assert.deepEqual(h.resolveCalls, []);
    assert.equal(h.audits.length, 1);
    assert.equal(h.audits[0]!.allowed, false);
    assert.equal(h.audits[0]!.method, 'CONNECT');
  });

  test('407 for CONNECT without credentials', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])]);
    const t = await proxyConnect(h.port, `allowed.test:${echoPort}`, null);
    assert.equal(t.status, 407);
    assert.equal(t.headers['proxy-authenticate'], 'Basic realm="cronium-egress"');
    assert.deepEqual(h.resolveCalls, []);
  });

  test('blocked port 25 is refused even when a rule lists it', T, async () => {
    const h = await startProxy([rule('smtp', 'allowed.test', [25, 587])]);
    for (const port of [25, 587]) {
      const t = await proxyConnect(h.port, `allowed.test:${port}`);
      assert.equal(t.status, 403);
      assert.equal(t.headers['x-cronium-egress-reason'], 'blocked_port');
    }
    assert.deepEqual(h.resolveCalls, []);
  });

  test('metadata IP in any notation is refused even when a rule names it', T, async () => {
    const h = await startProxy([rule('meta', '169.254.169.254', [9])]);
    for (const authority of ['169.254.169.254:9', '2852039166:9', '0xa9.0xfe.0xa9.0xfe:9', '0251.0376.0251.0376:9']) {
      const t = await proxyConnect(h.port, authority);
      assert.equal(t.status, 403, authority);
      assert.equal(t.headers['x-cronium-egress-reason'], 'metadata', authority);
    }
    // NAT64 / 6to4 / mapped forms are other literals: no rule names them.
    for (const authority of ['[64:ff9b::a9fe:a9fe]:9', '[2002:a9fe:a9fe::]:9', '[::ffff:169.254.169.254]:9']) {
      const t = await proxyConnect(h.port, authority);
      assert.equal(t.status, 403, authority);
      assert.equal(t.headers['x-cronium-egress-reason'], 'ip_literal_not_allowed', authority);
    }
    assert.deepEqual(upstreamDials(), []);
  });

  test('NAT64 form of the metadata address is refused even when a rule names it', T, async () => {
    const h = await startProxy([rule('nat64', '64:ff9b::a9fe:a9fe', [9])]);
    const t = await proxyConnect(h.port, '[64:ff9b::a9fe:a9fe]:9');
    assert.equal(t.status, 403);
    assert.equal(t.headers['x-cronium-egress-reason'], 'metadata');
  });

  test('DNS rebinding to a private / mapped address is refused', T, async () => {
    const h = await startProxy([rule('r1', '*.rebind.test', [9])], {
      resolver: staticResolver({ 'a.rebind.test': ['192.168.1.10'], 'b.rebind.test': ['::ffff:169.254.169.254'], 'c.rebind.test': ['172.17.0.2'] }),
    });
    const cases: Array<[string, string]> = [['a', 'private'], ['b', 'metadata'], ['c', 'private']];
    for (const [name, reason] of cases) {
      const t = await proxyConnect(h.port, `${name}.rebind.test:9`);
      assert.equal(t.status, 403, name);
      assert.equal(t.headers['x-cronium-egress-reason'], reason, name);
    }
    assert.deepEqual(upstreamDials(), []);
  });

  test('extra denied CIDRs refuse otherwise public answers', T, async () => {
    const h = await startProxy([rule('r1', 'docker.test', [9])], {
      deniedCidrs: ['203.0.114.0/24'],
      resolver: staticResolver({ 'docker.test': ['203.0.114.7'] }),
    });
    const t = await proxyConnect(h.port, 'docker.test:9');
    assert.equal(t.status, 403);
    assert.equal(t.headers['x-cronium-egress-reason'], 'denied_cidr');
  });

  test('the tunnel goes to the checked address, resolver called once', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])], {
      openings: ['127.0.0.0/8:1-65535'],
      resolver: (_host, call) => [{ address: call === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }],
    });
    const t = await proxyConnect(h.port, `allowed.test:${echoPort}`);
    assert.equal(t.status, 200);
    assert.equal(await echoThrough(t.socket, 'ping'), 'ping');
    assert.deepEqual(h.resolveCalls, ['allowed.test']);
    assert.deepEqual(upstreamDials(), [`127.0.0.1:${echoPort}`]);
    t.socket.destroy();
  });

  test('a refused address in the answer is never contacted', T, async (t) => {
    // Same port on 127.0.0.2 (refused: only 127.0.0.1/32 is opened) and on 127.0.0.1.
    const hits: string[] = [];
    const decoy = net.createServer((s) => {
      hits.push('decoy');
      s.destroy();
    });
    const real = net.createServer((s) => {
      testSockets.add(s);
      hits.push('real');
      s.on('error', () => undefined);
      s.pipe(s);
    });
    testServers.add(decoy);
    testServers.add(real);
    let port: number;
    try {
      port = await listen(decoy, '127.0.0.2');
    } catch {
      t.skip('127.0.0.2 is not available here');
      return;
    }
    await listen(real, '127.0.0.1', port);
    const h = await startProxy([rule('r1', 'two.test', [port])], {
      resolver: staticResolver({ 'two.test': ['127.0.0.2', '127.0.0.1'] }),
    });
    const tun = await proxyConnect(h.port, `two.test:${port}`);
    assert.equal(tun.status, 200);
    assert.equal(await echoThrough(tun.socket, 'x'), 'x');
    assert.deepEqual(hits, ['real'], 'the decoy (refused address) was never contacted');
    assert.deepEqual(upstreamDials(), [`127.0.0.1:${port}`]);
  });

  test('upstream refusing the connection is a 502', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [closedPort])]);
    const t = await proxyConnect(h.port, `allowed.test:${closedPort}`);
    assert.equal(t.status, 502);
    assert.equal(t.headers['x-cronium-egress-reason'], 'upstream_error');
  });

  test('invalid targets', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test')]);
    const bad = await proxyConnect(h.port, 'no-port');
    assert.equal(bad.status, 400);
    const numeric = await proxyConnect(h.port, '1.2.3.4.5:443');
    assert.equal(numeric.status, 403);
    assert.equal(numeric.headers['x-cronium-egress-reason'], 'invalid_host');
    const zone = await proxyConnect(h.port, '[fe80::1%25eth0]:443');
    assert.equal(zone.status, 403);
    assert.equal(zone.headers['x-cronium-egress-reason'], 'invalid_host');
  });

  test('idle tunnels are closed after the idle timeout', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])], { tunnelIdleTimeoutMs: 150 });
    const t = await proxyConnect(h.port, `allowed.test:${echoPort}`);
    assert.equal(t.status, 200);
    assert.equal(await echoThrough(t.socket, 'x'), 'x');
    t.socket.resume();
    await once(t.socket, 'close');
    const entry = await waitFor(() => h.audits[0], 'audit');
    assert.equal(entry.error, 'idle_timeout');
  });

  test('close() destroys open tunnels', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [echoPort])]);
    const t = await proxyConnect(h.port, `allowed.test:${echoPort}`);
    assert.equal(t.status, 200);
    t.socket.resume();
    const closed = once(t.socket, 'close');
    await h.proxy.close();
    await closed;
    current = undefined;
  });
});

describe('egress proxy: openings are for global rules, the server\'s own ports for nobody', () => {
  const userRule = (id: string, pattern: string, ports: number[]): Rule => ({ id, pattern, ports, scope: { userId: 'user-1' } });

  test('an opened address and port: reached with a global rule only', T, async () => {
    const h = await startProxy([rule('admin', 'allowed.test', [upstreamPort])], { openings: [`127.0.0.1/32:${upstreamPort}`] });
    assert.equal((await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/g`)).status, 200);
    assert.equal((await waitFor(() => h.audits[0], 'audit')).ruleId, 'admin');
    await h.proxy.close();

    for (const own of [userRule('mine', 'allowed.test', [upstreamPort]), userRule('mine-ip', '127.0.0.1', [upstreamPort])]) {
      const u = await startProxy([own], { openings: [`127.0.0.1/32:${upstreamPort}`] });
      const target = own.pattern === '127.0.0.1' ? `http://127.0.0.1:${upstreamPort}/u` : `http://allowed.test:${upstreamPort}/u`;
      const res = await proxyRequest(u.port, target);
      assert.equal(res.status, 403, own.id);
      assert.equal(res.headers['x-cronium-egress-reason'], 'global_rule_required');
      const t = await proxyConnect(u.port, target.slice(7, target.lastIndexOf('/')));
      assert.equal(t.status, 403);
      assert.equal(t.headers['x-cronium-egress-reason'], 'global_rule_required');
      assert.equal(u.audits[0]!.ruleId, own.id, 'the rule that matched the name is recorded');
      await u.proxy.close();
    }
    assert.deepEqual(upstreamSeen.map((x) => x.url), ['/g'], 'a user rule never reached the opened address');
    assert.deepEqual(dialed.filter((d) => d.endsWith(`:${upstreamPort}`)), [`127.0.0.1:${upstreamPort}`]);
  });

  test('a user rule and a global rule for the same host: the global one is credited for the opened address', T, async () => {
    const h = await startProxy([userRule('mine', 'allowed.test', [upstreamPort]), rule('admin', 'allowed.test', [upstreamPort])], {
      openings: [`127.0.0.1/32:${upstreamPort}`],
    });
    assert.equal((await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`)).status, 200);
    assert.equal((await waitFor(() => h.audits[0], 'audit')).ruleId, 'admin');
  });

  test('an opened address on a port the opening does not name is refused, even with a global rule', T, async () => {
    const h = await startProxy([rule('admin', 'allowed.test', [upstreamPort, echoPort])], { openings: [`127.0.0.1/32:${echoPort}`] });
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`);
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'port_not_opened');
    const ok = await proxyConnect(h.port, `allowed.test:${echoPort}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(upstreamDials(), [`127.0.0.1:${echoPort}`]);
  });

  test('the server\'s own ports are refused whatever the openings and rules say', T, async () => {
    const h = await startProxy([rule('api', 'allowed.test', [upstreamPort])], {
      openings: ['0.0.0.0/0:1-65535', '[::/0]:1-65535'],
      serverPorts: () => [upstreamPort],
    });
    h.rules.push(rule('self', 'allowed.test', [h.port]));
    const api = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`);
    assert.equal(api.status, 403);
    assert.equal(api.headers['x-cronium-egress-reason'], 'cronium_server');
    // The proxy's own port needs no configuration.
    const self = await proxyConnect(h.port, `allowed.test:${h.port}`);
    assert.equal(self.status, 403);
    assert.equal(self.headers['x-cronium-egress-reason'], 'cronium_server');
    assert.deepEqual(upstreamDials(), []);
    assert.equal(upstreamSeen.length, 0);
  });

  test('an address of this machine\'s interfaces counts as this machine', T, async () => {
    const h = await startProxy([rule('admin', 'lan.test', [upstreamPort])], {
      openings: ['10.0.0.0/8:1-65535'],
      serverPorts: () => [upstreamPort],
      localAddresses: () => ['10.9.8.7'],
      resolver: staticResolver({ 'lan.test': ['10.9.8.7'] }),
    });
    const res = await proxyRequest(h.port, `http://lan.test:${upstreamPort}/`);
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-cronium-egress-reason'], 'cronium_server');
    assert.deepEqual(upstreamDials(), []);
  });

  test('a portless opening is a configuration error', () => {
    assert.throws(() => createEgressProxy({ authenticate: async () => null, rulesFor: async () => [], openings: ['127.0.0.1/32'] }), /names no port/);
  });
});

describe('egress proxy: every refusal is audited', () => {
  test('407 without credentials: audited without an execution', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`, { auth: null });
    assert.equal(res.status, 407);
    assert.equal(res.headers['x-cronium-egress-reason'], 'auth_required');
    const c = await proxyConnect(h.port, `allowed.test:${echoPort}`, null);
    assert.equal(c.status, 407);
    assert.deepEqual(
      h.audits.map((a) => [a.method, a.executionId, a.userId, a.allowed, a.reason, a.status, a.host, a.port]),
      [['GET', null, null, false, 'auth_required', 407, '', 0], ['CONNECT', null, null, false, 'auth_required', 407, 'allowed.test', echoPort]],
    );
  });

  test('407 with credentials of an execution that no longer runs: audited against that execution', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], {
      authenticate: async () => ({ refused: 'execution_not_running', executionId: 'exec-old', userId: 'user-1' }),
    });
    const res = await proxyRequest(h.port, `http://allowed.test:${upstreamPort}/`);
    assert.equal(res.status, 407);
    assert.equal(res.headers['x-cronium-egress-reason'], 'execution_not_running');
    assert.deepEqual([h.audits[0]!.executionId, h.audits[0]!.userId, h.audits[0]!.reason], ['exec-old', 'user-1', 'execution_not_running']);
    assert.equal(upstreamSeen.length, 0);
  });

  test('503 when authentication fails: audited', T, async () => {
    const h = await startProxy([], { authenticate: async () => { throw new Error('database down'); } });
    assert.equal((await proxyRequest(h.port, 'http://allowed.test/')).status, 503);
    assert.equal(h.audits[0]!.reason, 'auth_unavailable');
  });

  test('bytes that are not HTTP, and oversized headers: answered and audited', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], { maxHeaderSize: 1024 });
    const junk = await raw(h.port, ['\x16\x03\x01 not http\r\n\r\n']);
    assert.match(junk.text, /^HTTP\/1\.1 400 /);
    const big = await raw(h.port, [`GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`]);
    assert.match(big.text, /^HTTP\/1\.1 431 /);
    assert.deepEqual(h.audits.map((a) => [a.executionId, a.reason, a.status]), [[null, 'invalid_http', 400], [null, 'headers_too_large', 431]]);
  });

  test('bad bytes after an authenticated request on the same connection: audited against its execution', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])]);
    const first = `GET http://allowed.test:${upstreamPort}/one HTTP/1.1\r\nHost: allowed.test\r\nProxy-Authorization: ${AUTH}\r\n\r\n`;
    const r = await raw(h.port, [first, 'NOT HTTP AT ALL\r\n\r\n'], { gapMs: 200 });
    assert.match(r.text, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 400 /);
    const refusal = await waitFor(() => h.audits.find((a) => !a.allowed), 'refusal audit');
    assert.deepEqual([refusal.executionId, refusal.userId, refusal.reason], ['exec-1', 'user-1', 'invalid_http']);
  });
});

/** Writes each chunk (gapMs apart) on a raw socket; resolves with what came back and when the proxy closed. */
function raw(port: number, chunks: string[], o: { gapMs?: number; end?: boolean } = {}): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    testSockets.add(socket);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
    socket.once('connect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (i > 0 && o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
        if (!socket.destroyed) socket.write(c);
      }
      if (o.end) socket.end();
    });
  });
}

describe('egress proxy: slow clients', () => {
  // The task asks for a close within the timeout: measured against the configured timeouts, with a margin
  // for Node's connections check (a quarter of the headers timeout) and a loaded machine.
  const TIMEOUT = 300;
  const MARGIN = 1500;
  const timeouts = { headersTimeoutMs: TIMEOUT, bodyIdleTimeoutMs: TIMEOUT, keepAliveTimeoutMs: TIMEOUT };

  test('incomplete headers: 408 and a close within the headers timeout, audited', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], timeouts);
    const r = await raw(h.port, [`GET http://allowed.test:${upstreamPort}/ HTTP/1.1\r\nHost: allowed.test\r\n`]);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(r.closedAfterMs >= TIMEOUT - 50 && r.closedAfterMs < TIMEOUT + MARGIN, `closed after ${r.closedAfterMs} ms`);
    assert.deepEqual(h.audits.map((a) => [a.reason, a.status]), [['headers_timeout', 408]]);
    assert.equal(upstreamSeen.length, 0);
  });

  test('a connection that sends nothing is closed within the headers timeout', T, async () => {
    const h = await startProxy([], timeouts);
    const r = await raw(h.port, []);
    assert.ok(r.closedAfterMs < TIMEOUT + MARGIN, `closed after ${r.closedAfterMs} ms`);
  });

  test('incomplete body: 408 and a close within the body idle timeout, audited against the execution', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], timeouts);
    const head = `POST http://allowed.test:${upstreamPort}/upload HTTP/1.1\r\nHost: allowed.test\r\nProxy-Authorization: ${AUTH}\r\nContent-Length: 100\r\n\r\n`;
    const r = await raw(h.port, [head, 'only ten b']);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(r.closedAfterMs < TIMEOUT + MARGIN, `closed after ${r.closedAfterMs} ms`);
    const refusal = await waitFor(() => h.audits.find((a) => a.reason === 'body_timeout'), 'body timeout audit');
    assert.deepEqual([refusal.executionId, refusal.allowed, refusal.status, refusal.host, refusal.port], ['exec-1', false, 408, 'allowed.test', upstreamPort]);
  });

  test('a body that keeps arriving, slower than the timeout in total, is not cut', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], timeouts);
    const parts = ['ab', 'cd', 'ef', 'gh', 'ij', 'kl'];
    const head = `POST http://allowed.test:${upstreamPort}/trickle HTTP/1.1\r\nHost: allowed.test\r\nProxy-Authorization: ${AUTH}\r\nContent-Length: ${parts.join('').length}\r\nConnection: close\r\n\r\n`;
    const r = await raw(h.port, [head, ...parts], { gapMs: TIMEOUT / 3 });
    assert.match(r.text, /^HTTP\/1\.1 200 /, r.text);
    assert.equal(upstreamSeen[0]?.body, parts.join(''));
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', T, async () => {
    const h = await startProxy([rule('r1', 'allowed.test', [upstreamPort])], timeouts);
    const r = await raw(h.port, [`GET http://allowed.test:${upstreamPort}/ka HTTP/1.1\r\nHost: allowed.test\r\nProxy-Authorization: ${AUTH}\r\n\r\n`]);
    assert.match(r.text, /^HTTP\/1\.1 200 /);
    assert.ok(r.closedAfterMs < TIMEOUT + MARGIN, `closed after ${r.closedAfterMs} ms`);
  });
});

describe('parseProxyAuthorization', () => {
  test('decodes Basic executionId:token', () => {
    assert.deepEqual(parseProxyAuthorization(AUTH), { executionId: 'exec-1', token: 'secret-token' });
    assert.deepEqual(parseProxyAuthorization(`basic ${Buffer.from('e:t:with:colons').toString('base64')}`), {
      executionId: 'e',
      token: 't:with:colons',
    });
  });
  test('rejects malformed headers', () => {
    for (const h of [undefined, '', 'Bearer abc', 'Basic', `Basic ${Buffer.from('no-colon').toString('base64')}`, `Basic ${Buffer.from(':t').toString('base64')}`, `Basic ${Buffer.from('e:').toString('base64')}`]) {
      assert.equal(parseProxyAuthorization(h), null, String(h));
    }
  });
});
