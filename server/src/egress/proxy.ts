/**
 * The egress proxy: the only way out of a sandbox container.
 *
 * An HTTP forward proxy (Node `http` server) that handles
 *   - absolute-form plain HTTP requests (`GET http://host/path`), forwarded with `http-proxy`;
 *   - `CONNECT host:port` tunnels (HTTPS and anything else over TCP), piped with `net`.
 *
 * For every request or tunnel: authenticate (Proxy-Authorization: Basic executionId:token) ->
 * normalise the host -> policy `decide` -> resolve (once) -> classify every resolved address ->
 * connect to exactly one address that passed -> audit.
 *
 * Addresses: checkAddress (policy.ts) refuses private, loopback, metadata... addresses unless an admin's opening
 * (CRONIUM_EGRESS_ALLOW_CIDRS: a range and its ports) covers the address and port AND a global rule allows the
 * destination; the Cronium server's own ports on this machine are refused whatever the openings say.
 *
 * Slow clients: headers are due within headersTimeoutMs of the first byte (408 and close), a request body may
 * pause at most bodyIdleTimeoutMs between bytes (408 and close), an idle keep-alive connection closes after
 * keepAliveTimeoutMs. There is no limit on a whole body: an upload through the proxy may take as long as the
 * upstream takes to read it, as long as bytes flow. Every refusal is audited, also the ones before the proxy
 * knows whose request it is (no or invalid credentials, bytes that are not HTTP, a slow client).
 *
 * Multiple addresses: a destination is refused only when *every* resolved address is refused
 * (reason: the first refused address's reason, or a more specific one: see `rank`). The proxy connects only to addresses that
 * passed, in resolver order, falling back to the next passed address when a TCP connect fails
 * (before any byte is exchanged). Refused addresses are never contacted, so a mixed answer
 * (public + private, the classic DNS rebinding trick) cannot reach the private one, and no
 * second DNS lookup ever happens: sockets are opened with `net.connect({ host: <checked IP> })`
 * and a `lookup` that throws, and http-proxy gets that pre-connected socket through a one-shot
 * agent, so the Host header carries the original name while the TCP peer is the checked IP.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import dns from 'node:dns';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { parseCidr, parseIpLiteral } from './ip.js';
import { checkAddress, decide, DEFAULT_BLOCKED_PORTS, type Opening, parseOpenings, printable, type Rule } from './policy.js';

export interface EgressContext {
  executionId: string;
  userId: string;
}

/** Credentials that were given but refused (407). */
export interface EgressAuthRefusal {
  /** Shown in X-Cronium-Egress-Reason and recorded. */
  refused: 'auth_invalid' | 'execution_not_running';
  /** The execution (and its user) the credentials belong to, when their signature proves it. */
  executionId?: string;
  userId?: string;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface EgressAuditEntry {
  /** Null when the proxy refused the request before it knew whose it was (no or invalid credentials, not HTTP). */
  executionId: string | null;
  userId: string | null;
  /** HTTP method, or `CONNECT` for tunnels. */
  method: string;
  /** Normalised host when valid, else a printable excerpt of what the client sent. */
  host: string;
  port: number;
  /**
   * True when the policy and the address checks let the request through (a connection to
   * `address` was attempted); an upstream failure afterwards keeps `allowed: true` with
   * reason `upstream_error` / `upstream_timeout`.
   */
  allowed: boolean;
  reason: string;
  ruleId?: string;
  /** The IP actually connected to (allowed), or the refused address (address check). */
  address?: string;
  /** Status returned to the client (plain HTTP, denials). */
  status?: number;
  /** Bytes read from the upstream socket (including HTTP headers for plain HTTP). */
  bytesIn?: number;
  /** Bytes written to the upstream socket (including HTTP headers for plain HTTP). */
  bytesOut?: number;
  durationMs?: number;
  /** Low-level error code/message for upstream failures or idle timeouts. */
  error?: string;
}

export interface EgressLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EgressProxyOptions {
  /** Receives the raw Proxy-Authorization header; null (no usable credentials) or a refusal means 407. */
  authenticate(proxyAuthorization: string | undefined): Promise<EgressContext | EgressAuthRefusal | null>;
  /** The rules that apply to this execution (global + the user's own). */
  rulesFor(ctx: EgressContext): Promise<Rule[]>;
  /** Ports always refused; default 25, 465, 587. */
  blockedPorts?: readonly number[];
  /**
   * Explicit admin openings (`127.0.0.1/32:18999`, `10.0.0.0/8:5432-5433`): a refused address inside one, on one
   * of its ports, passes for destinations a global rule allows (see checkAddress). Invalid entries throw.
   */
  openings?: readonly string[];
  /** The Cronium server's own ports (public API, runtime API, dashboard), refused on this machine; the proxy adds its own. */
  serverPorts?: () => readonly number[];
  /** This machine's addresses; default: every interface's (os.networkInterfaces). */
  localAddresses?: () => readonly string[];
  /** Extra refused CIDRs (Docker bridge, sandbox networks...). */
  deniedCidrs?: readonly string[];
  /** Name resolution, called exactly once per request/tunnel; default dns.lookup({ all: true }). */
  resolve?(host: string): Promise<ResolvedAddress[]>;
  /** Called once per request/tunnel, when it ends (allowed) or is refused. Must not throw. */
  audit?(entry: EgressAuditEntry): void;
  logger?: EgressLogger;
  /** Idle timeout of CONNECT tunnels (no byte either way); default 5 minutes. */
  tunnelIdleTimeoutMs?: number;
  /** TCP connect timeout per upstream address; default 10 s. */
  connectTimeoutMs?: number;
  /** Idle timeout of the upstream socket of a plain HTTP request (slow response); default 2 min. */
  upstreamIdleTimeoutMs?: number;
  /** Max request header bytes; default Node's (16 KiB). */
  maxHeaderSize?: number;
  /** From a request's first byte (or the connection's start) to the end of its headers; default 10 s. */
  headersTimeoutMs?: number;
  /** Longest pause between two bytes of a request body; default 60 s. */
  bodyIdleTimeoutMs?: number;
  /** An open connection between two requests; default 5 s. */
  keepAliveTimeoutMs?: number;
}

export interface EgressProxy {
  readonly server: http.Server;
  /** Starts listening; port 0 picks a free port (see the returned address). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, destroys open tunnels and in-flight requests. */
  close(): Promise<void>;
  address(): AddressInfo | null;
}

export const PROXY_AUTH_REALM = 'cronium-egress';
export const REASON_HEADER = 'X-Cronium-Egress-Reason';

const DEFAULT_TUNNEL_IDLE_MS = 5 * 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_UPSTREAM_IDLE_MS = 2 * 60_000;
const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
const DEFAULT_BODY_IDLE_MS = 60_000;
const DEFAULT_KEEP_ALIVE_MS = 5_000;
const DENIAL_LINGER_MS = 5_000;

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy credentials: never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
]);
/** Never removed because a Connection header names them: the message framing depends on them. */
const FRAMING = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * Decodes `Proxy-Authorization: Basic base64(executionId:token)`. A helper for `authenticate`
 * implementations; returns null when the header is absent or malformed.
 */
export function parseProxyAuthorization(header: string | undefined): { executionId: string; token: string } | null {
  if (!header) return null;
  const m = /^\s*basic\s+([a-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const executionId = decoded.slice(0, colon);
  const token = decoded.slice(colon + 1);
  if (!token) return null;
  return { executionId, token };
}

async function defaultResolve(host: string): Promise<ResolvedAddress[]> {
  const results = await dns.promises.lookup(host, { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family }));
}

/** `lookup` for net.connect: we only ever connect to checked IPs, so a name lookup is a bug. */
const noLookup: net.LookupFunction = (hostname, _options, callback) => {
  const err = Object.assign(new Error(`egress proxy refused a DNS lookup for ${hostname}`), { code: 'ENOLOOKUP' });
  (callback as (e: Error) => void)(err);
};

/** Hands http-proxy one pre-connected socket (to the checked address) instead of dialling. */
class PinnedAgent extends http.Agent {
  #socket: net.Socket | null;
  constructor(socket: net.Socket) {
    super({ keepAlive: false, maxSockets: 1 });
    this.#socket = socket;
  }
  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) return socket;
    const err = new Error('pinned upstream socket already used');
    if (callback) {
      callback(err, undefined as unknown as Duplex);
      return undefined;
    }
    throw err;
  }
}

class UpstreamConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Parses a CONNECT authority-form target (`host:port`, `[v6]:port`). */
function parseAuthority(target: string | undefined): { host: string; port: number } | null {
  if (!target || target.length > 1024) return null;
  let host: string;
  let portText: string;
  if (target.startsWith('[')) {
    const end = target.indexOf(']');
    if (end < 0 || target[end + 1] !== ':') return null;
    host = target.slice(0, end + 1);
    portText = target.slice(end + 2);
  } else {
    const colon = target.lastIndexOf(':');
    if (colon <= 0) return null;
    host = target.slice(0, colon);
    portText = target.slice(colon + 1);
    if (host.includes(':')) return null;
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/** Every address of this machine's interfaces. */
function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Which refusal of several addresses is reported: one an opening or the server's own ports explain says more than
 * a generic class, whatever order the resolver gave (`localhost` may be 127.0.0.1 and ::1).
 */
const SPECIFIC = ['port_not_opened', 'global_rule_required', 'cronium_server'];
const rank = (reason: string): number => SPECIFIC.indexOf(reason);

type Evaluation =
  | { ok: true; host: string; ruleId?: string; addresses: { address: string; ruleId?: string }[] }
  | { ok: false; status: number; reason: string; host: string; ruleId?: string; address?: string; error?: string };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A refusal's reason goes in the status line too: Python's urllib and requests show only that for a tunnel. */
function statusText(status: number, reason: string): string {
  return status === 403 ? `Forbidden by egress: ${reason}` : (STATUS_TEXT[status] ?? 'Error');
}

function refusalBody(status: number, hostPort: string, reason: string): string {
  if (status === 403) return `cronium egress: ${hostPort} refused (${reason})`;
  if (status === 407) return 'cronium egress: proxy authentication required';
  if (status === 408) return 'cronium egress: the request was not received in time';
  if (status === 502 || status === 504) return `cronium egress: ${hostPort} unreachable (${reason})`;
  return `cronium egress: ${hostPort ? `${hostPort} ` : ''}request rejected (${reason})`;
}

interface HttpState {
  ctx: EgressContext;
  host: string;
  port: number;
  ruleId?: string;
  address: string;
  upstream: net.Socket;
  started: number;
  timedOut: boolean;
  error?: string;
  dropResponseTe: boolean;
}

export function createEgressProxy(opts: EgressProxyOptions): EgressProxy {
  const blockedPorts = opts.blockedPorts ?? DEFAULT_BLOCKED_PORTS;
  const parsedOpenings = parseOpenings(opts.openings ?? []);
  if (!parsedOpenings.ok) throw new TypeError(`egress proxy: ${parsedOpenings.problems.join('; ')}`);
  const openings: readonly Opening[] = parsedOpenings.openings;
  const deniedCidrs = [...(opts.deniedCidrs ?? [])];
  for (const c of deniedCidrs) {
    if (!parseCidr(c)) throw new TypeError(`egress proxy: invalid CIDR ${JSON.stringify(c)}`);
  }
  const localAddresses = opts.localAddresses ?? interfaceAddresses;
  const serverPorts = (): number[] => {
    const own = server.listening ? [(server.address() as AddressInfo).port] : [];
    return [...own, ...(opts.serverPorts?.() ?? [])].filter((p) => p > 0);
  };
  const resolve = opts.resolve ?? defaultResolve;
  const tunnelIdleMs = opts.tunnelIdleTimeoutMs ?? DEFAULT_TUNNEL_IDLE_MS;
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const upstreamIdleMs = opts.upstreamIdleTimeoutMs ?? DEFAULT_UPSTREAM_IDLE_MS;
  const logger = opts.logger;

  /** Every socket we own outside the HTTP server's bookkeeping: destroyed by close(). */
  const owned = new Set<Duplex>();
  const track = (s: Duplex): void => {
    owned.add(s);
    s.once('close', () => owned.delete(s));
  };
  let closing = false;

  const audit = (entry: EgressAuditEntry): void => {
    try {
      opts.audit?.(entry);
    } catch (err) {
      logger?.error({ err }, 'egress audit callback failed');
    }
  };

  const headersTimeoutMs = opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const bodyIdleMs = opts.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_MS;
  const server = http.createServer({
    ...(opts.maxHeaderSize !== undefined ? { maxHeaderSize: opts.maxHeaderSize } : {}),
    headersTimeout: headersTimeoutMs,
    // No deadline for a whole request: the body's pace is the upstream's; bodyIdleMs bounds a stalled client.
    requestTimeout: 0,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
    // Node checks the headers deadline only this often (30 s by default): keep it within a quarter of it.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
  });
  /** The execution a keep-alive connection authenticated as, for refusals of its later, unparsable bytes. */
  const socketOwners = new WeakMap<Duplex, EgressContext>();

  const proxy = httpProxy.createProxyServer({});
  const states = new WeakMap<http.IncomingMessage, HttpState>();

  // -------------------------------------------------------------------------
  // Shared steps
  // -------------------------------------------------------------------------

  type Authenticated = { ok: true; ctx: EgressContext } | { ok: false; status: 407 | 503; reason: string; executionId: string | null; userId: string | null };

  async function authenticate(header: string | undefined): Promise<Authenticated> {
    let r: EgressContext | EgressAuthRefusal | null;
    try {
      r = await opts.authenticate(header);
    } catch (err) {
      logger?.error({ err }, 'egress authenticate failed');
      return { ok: false, status: 503, reason: 'auth_unavailable', executionId: null, userId: null };
    }
    if (r && !('refused' in r)) return { ok: true, ctx: r };
    return { ok: false, status: 407, reason: r?.refused ?? 'auth_required', executionId: r?.executionId ?? null, userId: r?.userId ?? null };
  }

  /** Audits a refusal that happened before a destination was looked at (credentials, the request itself). */
  const auditEarly = (
    who: { executionId: string | null; userId: string | null },
    method: string,
    status: number,
    reason: string,
    started: number,
    extra: Partial<EgressAuditEntry> = {},
  ): void => {
    audit({ executionId: who.executionId, userId: who.userId, method, host: '', port: 0, allowed: false, reason, status, durationMs: Date.now() - started, ...extra });
  };

  /** decide -> resolve once -> classify every address. */
  async function evaluate(ctx: EgressContext, rawHost: string, port: number): Promise<Evaluation> {
    let rules: Rule[];
    try {
      rules = await opts.rulesFor(ctx);
    } catch (err) {
      logger?.error({ err, executionId: ctx.executionId }, 'egress rulesFor failed');
      return { ok: false, status: 503, reason: 'policy_unavailable', host: printable(rawHost) };
    }
    const d = decide({ host: rawHost, port, rules, blockedPorts, userId: ctx.userId });
    const host = d.host ?? printable(rawHost);
    if (!d.allowed) return { ok: false, status: 403, reason: d.reason, host };
    const ruleId = d.ruleId;

    let candidates: string[];
    const literal = parseIpLiteral(host);
    if (literal) {
      candidates = [literal.address];
    } else {
      try {
        candidates = (await resolve(host)).map((a) => a.address);
      } catch (err) {
        const code = (err as { code?: string }).code ?? String(err);
        return { ok: false, status: 502, reason: 'dns_error', host, ruleId, error: code };
      }
      if (candidates.length === 0) return { ok: false, status: 502, reason: 'dns_error', host, ruleId, error: 'no addresses' };
    }

    const passed: { address: string; ruleId?: string }[] = [];
    let firstRefusal: { address: string; reason: string } | undefined;
    const ports = serverPorts();
    const local = ports.includes(port) ? localAddresses() : [];
    for (const raw of candidates) {
      const canonical = parseIpLiteral(String(raw))?.address;
      const verdict = canonical
        ? checkAddress({ address: canonical, port, globalRule: d.globalRuleId !== undefined, openings, deniedCidrs, serverPorts: ports, localAddresses: local })
        : { allowed: false as const, reason: 'invalid_address' as const };
      if (verdict.allowed && canonical) {
        // Through an opening, the global rule is the one that let it through.
        if (!passed.some((p) => p.address === canonical)) passed.push({ address: canonical, ruleId: verdict.opened ? d.globalRuleId : ruleId });
      } else if (!verdict.allowed && (!firstRefusal || rank(verdict.reason) > rank(firstRefusal.reason))) {
        firstRefusal = { address: canonical ?? printable(String(raw)), reason: verdict.reason };
      }
    }
    if (passed.length === 0) {
      return { ok: false, status: 403, reason: firstRefusal?.reason ?? 'invalid_address', host, ruleId, address: firstRefusal?.address };
    }
    return { ok: true, host, ruleId, addresses: passed };
  }

  function connectOne(address: string, port: number): Promise<net.Socket> {
    return new Promise((resolvePromise, reject) => {
      const socket = net.connect({ host: address, port, lookup: noLookup });
      track(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new UpstreamConnectError(`connect to ${formatHostPort(address, port)} timed out`, 'ETIMEDOUT'));
      }, connectTimeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolvePromise(socket);
      });
    });
  }

  /** Tries the checked addresses in order; returns the first socket that connects. */
  async function connectChecked(
    addresses: { address: string; ruleId?: string }[],
    port: number,
  ): Promise<{ socket: net.Socket; address: string; ruleId?: string }> {
    let last: unknown;
    for (const { address, ruleId } of addresses) {
      if (closing) break;
      try {
        return { socket: await connectOne(address, port), address, ruleId };
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new UpstreamConnectError('proxy is closing', 'ECLOSING');
  }

  const errorCode = (err: unknown): string => {
    const e = err as { code?: unknown; message?: unknown };
    return typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message : String(err);
  };

  // -------------------------------------------------------------------------
  // Plain HTTP (absolute-form)
  // -------------------------------------------------------------------------

  function sendHttp(
    res: http.ServerResponse,
    status: number,
    reason: string,
    hostPort: string,
    extra: Record<string, string> = {},
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = refusalBody(status, hostPort, reason);
    res.writeHead(status, statusText(status, reason), {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      [REASON_HEADER]: reason,
      ...extra,
    });
    res.end(body);
  }

  /**
   * What plain HTTP and CONNECT share: the policy decision and the checked dial, each refusal audited and
   * answered through the caller's own reply. Null when the request was answered already.
   */
  async function open(
    ctx: EgressContext,
    method: string,
    rawHost: string,
    port: number,
    started: number,
    refuse: (status: number, reason: string, host: string, port: number, extra?: Partial<EgressAuditEntry>) => void,
    badGateway: (target: string) => void,
  ): Promise<{ ev: Extract<Evaluation, { ok: true }>; upstream: net.Socket; address: string; ruleId?: string } | null> {
    const ev = await evaluate(ctx, rawHost, port);
    if (!ev.ok) {
      refuse(ev.status, ev.reason, ev.host, port, {
        ...(ev.ruleId ? { ruleId: ev.ruleId } : {}),
        ...(ev.address ? { address: ev.address } : {}),
        ...(ev.error ? { error: ev.error } : {}),
      });
      return null;
    }
    try {
      const { socket, address, ruleId } = await connectChecked(ev.addresses, port);
      return { ev, upstream: socket, address, ruleId };
    } catch (err) {
      audit({
        executionId: ctx.executionId, userId: ctx.userId, method, host: ev.host, port, allowed: true,
        reason: 'upstream_error', ruleId: ev.addresses[0]?.ruleId ?? ev.ruleId, address: ev.addresses[0]?.address, status: 502,
        durationMs: Date.now() - started, error: errorCode(err),
      });
      badGateway(formatHostPort(ev.host, port));
      return null;
    }
  }

  /**
   * A body that stops arriving: 408 (or a close, once an answer has started) after bodyIdleMs without a byte.
   * The timer runs only while the body is incomplete; waiting for the upstream's answer is the upstream's timeout.
   */
  function watchBody(req: http.IncomingMessage, res: http.ServerResponse, onTimeout: () => void): void {
    if (req.complete) return;
    const socket = req.socket;
    const stop = (): void => {
      socket.setTimeout(0);
      req.removeListener('timeout', fire);
    };
    const fire = (): void => {
      stop();
      onTimeout();
      if (!res.headersSent) sendHttp(res, 408, 'body_timeout', '', { connection: 'close' });
      socket.destroySoon();
      setTimeout(() => socket.destroy(), DENIAL_LINGER_MS).unref();
    };
    // On the request, not the socket: the server destroys a timed-out socket nobody handles before we could answer.
    req.setTimeout(bodyIdleMs);
    req.on('timeout', fire);
    req.once('end', stop);
    req.once('close', stop);
  }

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const method = req.method ?? 'GET';
    let who: { executionId: string | null; userId: string | null } = socketOwners.get(req.socket) ?? { executionId: null, userId: null };
    let target = { host: '', port: 0 };
    watchBody(req, res, () => auditEarly(who, method, 408, 'body_timeout', started, { host: target.host, port: target.port }));
    if (closing) {
      auditEarly(who, method, 503, 'shutting_down', started);
      return sendHttp(res, 503, 'shutting_down', '', { connection: 'close' });
    }

    const auth = await authenticate(req.headers['proxy-authorization']);
    if (!auth.ok) {
      auditEarly(auth, method, auth.status, auth.reason, started);
      if (auth.status === 503) return sendHttp(res, 503, auth.reason, '');
      return sendHttp(res, 407, auth.reason, '', { 'proxy-authenticate': `Basic realm="${PROXY_AUTH_REALM}"` });
    }
    const { ctx } = auth;
    who = ctx;
    socketOwners.set(req.socket, ctx);

    const rawUrl = req.url ?? '';
    const refuse = (status: number, reason: string, host: string, port: number, extra: Partial<EgressAuditEntry> = {}): void => {
      audit({ executionId: ctx.executionId, userId: ctx.userId, method, host, port, allowed: false, reason, status, durationMs: Date.now() - started, ...extra });
      sendHttp(res, status, reason, host ? formatHostPort(host, port) : '');
    };

    if (!/^http:\/\//i.test(rawUrl)) {
      const reason = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) ? 'unsupported_scheme' : 'not_absolute_form';
      return refuse(400, reason, printable(rawUrl), 0);
    }
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return refuse(400, 'invalid_url', printable(rawUrl), 0);
    }
    const port = url.port === '' ? 80 : Number(url.port);
    target = { host: printable(url.hostname), port };
    const opened = await open(ctx, method, url.hostname, port, started, refuse, (t) => sendHttp(res, 502, 'upstream_error', t));
    if (!opened) return;
    const { ev, upstream, address, ruleId } = opened;
    if (res.destroyed || req.destroyed) {
      upstream.destroy();
      audit({ executionId: ctx.executionId, userId: ctx.userId, method, host: ev.host, port, allowed: true, reason: 'allowed', ruleId, address, durationMs: Date.now() - started, error: 'client_gone' });
      return;
    }

    const state: HttpState = {
      ctx, host: ev.host, port, ruleId, address, upstream, started, timedOut: false,
      dropResponseTe: req.httpVersion === '1.0',
    };
    states.set(req, state);
    upstream.setTimeout(upstreamIdleMs, () => {
      state.timedOut = true;
      upstream.destroy();
    });

    let finished = false;
    res.once('close', () => {
      if (finished) return;
      finished = true;
      if (!upstream.destroyed) upstream.destroy();
      const failed = state.timedOut || state.error !== undefined;
      audit({
        executionId: ctx.executionId, userId: ctx.userId, method, host: state.host, port, allowed: true,
        reason: state.timedOut ? 'upstream_timeout' : failed ? 'upstream_error' : 'allowed',
        ...(state.ruleId ? { ruleId: state.ruleId } : {}),
        address, status: res.statusCode, bytesIn: upstream.bytesRead, bytesOut: upstream.bytesWritten,
        durationMs: Date.now() - started,
        ...(state.timedOut ? { error: 'ETIMEDOUT' } : state.error ? { error: state.error } : {}),
      });
    });

    // Request headers: drop hop-by-hop ones, proxy credentials and whatever Connection names;
    // the Host header is rebuilt from the request target (the name that was checked).
    const connectionTokens = String(req.headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t && !FRAMING.has(t));
    for (const name of [...HOP_BY_HOP, ...connectionTokens]) delete req.headers[name];
    req.headers.host = url.host;
    req.url = `${url.pathname}${url.search}`;

    proxy.web(
      req,
      res,
      {
        target: { protocol: 'http:', host: address, port },
        agent: new PinnedAgent(upstream),
        selfHandleResponse: true,
        xfwd: false,
        prependPath: false,
        followRedirects: false,
      },
      (err) => {
        state.error = errorCode(err);
        if (!upstream.destroyed) upstream.destroy();
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const reason = state.timedOut ? 'upstream_timeout' : 'upstream_error';
        sendHttp(res, state.timedOut ? 504 : 502, reason, formatHostPort(state.host, port));
      },
    );
  }

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const state = states.get(req);
    if (!state || res.headersSent || res.destroyed) {
      proxyRes.destroy();
      return;
    }
    const connectionTokens = new Set(
      String(proxyRes.headers.connection ?? '')
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t && !FRAMING.has(t)),
    );
    const headers: string[] = [];
    const raw = proxyRes.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) continue;
      if (lower === 'transfer-encoding' && state.dropResponseTe) continue;
      headers.push(name, raw[i + 1]!);
    }
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
    proxyRes.on('error', () => res.destroy());
    proxyRes.on('aborted', () => res.destroy());
    proxyRes.pipe(res);
  });
  // Errors are handled by the per-request callback; these keep stray events from throwing.
  proxy.on('error', (err) => logger?.warn({ err }, 'egress http-proxy error'));
  proxy.on('econnreset', () => undefined);

  server.on('request', (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      logger?.error({ err }, 'egress request handler failed');
      if (!res.headersSent) sendHttp(res, 502, 'internal_error', '');
      else res.destroy();
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    track(socket);
    auditEarly(socketOwners.get(req.socket) ?? { executionId: null, userId: null }, req.method ?? 'GET', 501, 'upgrade_not_supported', Date.now());
    writeRaw(socket, 501, 'upgrade_not_supported', '', {});
  });

  // Bytes Node's HTTP parser refused, and headers that did not arrive in time: answered and audited, never silent.
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (socket.destroyed || err.code === 'ECONNRESET') return;
    const [status, reason] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'headers_timeout']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'headers_too_large']
          : [400, 'invalid_http'];
    // A connection that sent nothing and closed (a port probe) is no request: nothing to answer or audit.
    if (err.code === 'HPE_INVALID_EOF_STATE' && (socket as net.Socket).bytesRead === 0) {
      socket.destroy();
      return;
    }
    auditEarly(socketOwners.get(socket) ?? { executionId: null, userId: null }, '-', status, reason, Date.now(), { error: err.code ?? err.message });
    if (socket.writable) {
      track(socket);
      writeRaw(socket, status, reason, '', {});
    } else socket.destroy();
  });

  // -------------------------------------------------------------------------
  // CONNECT tunnels
  // -------------------------------------------------------------------------

  function writeRaw(socket: Duplex, status: number, reason: string, hostPort: string, extra: Record<string, string>): void {
    if (socket.destroyed) return;
    const body = refusalBody(status, hostPort, reason);
    const headers = {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      [REASON_HEADER]: reason,
      ...extra,
      Connection: 'close',
    };
    const head = [`HTTP/1.1 ${status} ${statusText(status, reason)}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), DENIAL_LINGER_MS).unref();
  }

  async function handleConnect(req: http.IncomingMessage, client: net.Socket, head: Buffer): Promise<void> {
    const started = Date.now();
    const method = 'CONNECT';
    if (closing) {
      auditEarly({ executionId: null, userId: null }, method, 503, 'shutting_down', started);
      return writeRaw(client, 503, 'shutting_down', '', {});
    }

    const auth = await authenticate(req.headers['proxy-authorization']);
    if (!auth.ok) {
      const t = parseAuthority(req.url);
      auditEarly(auth, method, auth.status, auth.reason, started, t ? { host: printable(t.host), port: t.port } : {});
      if (auth.status === 503) return writeRaw(client, 503, auth.reason, '', {});
      return writeRaw(client, 407, auth.reason, '', { 'Proxy-Authenticate': `Basic realm="${PROXY_AUTH_REALM}"` });
    }
    const { ctx } = auth;

    const refuse = (status: number, reason: string, host: string, port: number, extra: Partial<EgressAuditEntry> = {}): void => {
      audit({ executionId: ctx.executionId, userId: ctx.userId, method, host, port, allowed: false, reason, status, durationMs: Date.now() - started, ...extra });
      writeRaw(client, status, reason, host ? formatHostPort(host, port) : '', {});
    };

    const target = parseAuthority(req.url);
    if (!target) return refuse(400, 'invalid_request', printable(req.url ?? ''), 0);
    const { port } = target;
    const opened = await open(ctx, method, target.host, port, started, refuse, (t) => writeRaw(client, 502, 'upstream_error', t, {}));
    if (!opened) return;
    const { ev, upstream, address, ruleId } = opened;

    let error: string | undefined;
    let audited = false;
    const finish = (): void => {
      if (audited || !client.destroyed || !upstream.destroyed) return;
      audited = true;
      audit({
        executionId: ctx.executionId, userId: ctx.userId, method, host: ev.host, port, allowed: true,
        reason: 'allowed', ...(ruleId ? { ruleId } : {}), address, status: 200,
        bytesIn: upstream.bytesRead, bytesOut: upstream.bytesWritten, durationMs: Date.now() - started,
        ...(error ? { error } : {}),
      });
    };
    const abort = (why: string): void => {
      error ??= why;
      client.destroy();
      upstream.destroy();
    };

    if (client.destroyed) {
      error = 'client_gone';
      upstream.destroy();
      upstream.once('close', finish);
      return;
    }

    client.on('error', (err) => abort(errorCode(err)));
    upstream.on('error', (err) => abort(errorCode(err)));
    const idle = (): void => abort('idle_timeout');
    client.setTimeout(tunnelIdleMs, idle);
    upstream.setTimeout(tunnelIdleMs, idle);

    // Upstream gone: flush what it sent to the client, then close the client too.
    upstream.once('close', () => {
      if (!client.destroyed) {
        if (client.writableFinished) client.destroy();
        else {
          client.once('finish', () => client.destroy());
          client.end();
        }
      }
      finish();
    });
    // Client gone: nobody left to read the upstream, drop it.
    client.once('close', () => {
      upstream.destroy();
      finish();
    });

    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  }

  server.on('connect', (req: http.IncomingMessage, duplex: Duplex, head: Buffer) => {
    const socket = duplex as net.Socket; // the server's TCP socket, detached from the HTTP parser
    track(socket);
    socket.on('error', () => undefined); // errors before the tunnel is up: the socket just closes
    handleConnect(req, socket, head).catch((err: unknown) => {
      logger?.error({ err }, 'egress CONNECT handler failed');
      socket.destroy();
    });
  });

  // -------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------

  return {
    server,
    listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
      return new Promise((resolvePromise, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.removeListener('error', onError);
          resolvePromise(server.address() as AddressInfo);
        });
      });
    },
    async close(): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolvePromise) => {
        if (!server.listening) {
          resolvePromise();
          return;
        }
        server.close(() => resolvePromise());
      });
      server.closeAllConnections();
      for (const s of owned) s.destroy();
      owned.clear();
      await closed;
    },
    address(): AddressInfo | null {
      const a = server.address();
      return a && typeof a === 'object' ? a : null;
    },
  };
}
