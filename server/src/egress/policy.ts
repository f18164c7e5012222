/**
 * Egress policy: host normalisation, rule patterns and the allow/deny decision.
 * Pure functions; the proxy (proxy.ts) adds DNS resolution and address classification.
 */
import { domainToASCII } from 'node:url';
import {
  type AddressRefusalReason,
  type Cidr,
  cidrContains,
  classifyAddress,
  formatCidr,
  looksNumeric,
  parseCidr,
  parseIpLiteral,
  type IpLiteral,
} from './ip.js';

export type RuleScope = 'global' | { userId: string };

export interface Rule {
  id: string;
  /** `api.github.com`, `*.example.com`, an IP literal or a CIDR range (see {@link validatePattern}). */
  pattern: string;
  /** Allowed destination ports; null means {@link DEFAULT_RULE_PORTS}. */
  ports: number[] | null;
  scope: RuleScope;
}

export const DEFAULT_RULE_PORTS: readonly number[] = Object.freeze([80, 443]);
/** The longest pattern a rule may have: a host name is at most 253 characters, `*.` and a name 255. */
export const MAX_PATTERN_LENGTH = 300;
/** The widest CIDR rule: a rule covers a network, never a sizeable part of the address space. */
export const MIN_RULE_PREFIX: Readonly<Record<4 | 6, number>> = Object.freeze({ 4: 8, 6: 32 });
export const DEFAULT_BLOCKED_PORTS: readonly number[] = Object.freeze([25, 465, 587]);

export interface PolicyError<C extends 'INVALID_HOST' | 'INVALID_PATTERN' | 'INVALID_PORTS'> {
  code: C;
  message: string;
}

export type NormalizeHostResult =
  | { ok: true; host: string; ip: IpLiteral | null }
  | { ok: false; error: PolicyError<'INVALID_HOST'> };

export type PatternKind = 'host' | 'wildcard' | 'ip' | 'cidr';

export type ValidatePatternResult =
  | { ok: true; pattern: string; kind: PatternKind }
  | { ok: false; error: PolicyError<'INVALID_PATTERN'> };

export type DecisionReason =
  | 'allowed'
  | 'invalid_host'
  | 'invalid_port'
  | 'blocked_port'
  | 'port_not_allowed'
  | 'ip_literal_not_allowed'
  | 'no_matching_rule';

export interface Decision {
  allowed: boolean;
  reason: DecisionReason;
  /** The rule that allowed the destination. */
  ruleId?: string;
  /** The normalised host (canonical IP text for IP literals), when the host was valid. */
  host?: string;
  /**
   * A global rule that allows the destination too (it may be `ruleId` itself): only such a rule may use an
   * opening of CRONIUM_EGRESS_ALLOW_CIDRS (see {@link checkAddress}).
   */
  globalRuleId?: string;
}

export interface DecideInput {
  host: string;
  port: number;
  rules: readonly Rule[];
  /** Ports refused whatever the rules say; defaults to {@link DEFAULT_BLOCKED_PORTS}. */
  blockedPorts?: readonly number[];
  /** When given, rules scoped to another user are ignored (defence in depth). */
  userId?: string;
}

const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9_-]+$/;
/** ASCII characters other than letters, digits, `.`, `-`, `_`. Non-ASCII goes through IDNA. */
const FORBIDDEN_ASCII = /[^a-z0-9._\-\u{80}-\u{10FFFF}]/u;

function hostError(message: string): NormalizeHostResult {
  return { ok: false, error: { code: 'INVALID_HOST', message } };
}

/**
 * Normalises a destination host: lower-case, strip ONE trailing dot, IDN to ASCII (punycode,
 * UTS #46 mapping via `domainToASCII`), IP literals in any notation to their canonical text
 * (IPv6 without brackets). Rejects empty hosts, zone ids, numeric-looking hosts that are not
 * valid addresses (`1.2.3.4.5`, `256.0.0.1`), characters outside host-name syntax, empty or
 * over-long labels.
 */
export function normalizeHost(host: string): NormalizeHostResult {
  if (typeof host !== 'string' || host.length === 0) return hostError('host is empty');
  if (host.length > 1024) return hostError('host is too long');
  let h = host.toLowerCase();

  if (h.includes(':') || h.includes('[') || h.includes(']')) {
    const ip = parseIpLiteral(h);
    if (ip && ip.family === 6) return { ok: true, host: ip.address, ip };
    return hostError(`"${printable(host)}" is not a valid IPv6 address (zone ids are not allowed)`);
  }
  if (FORBIDDEN_ASCII.test(h)) return hostError(`"${printable(host)}" contains characters not allowed in a host name`);

  // domainToASCII runs the WHATWG host parser: IDNA for Unicode (and fullwidth dots/digits),
  // punycode validation for xn-- labels, IPv4 canonicalisation; '' means invalid.
  const ascii = domainToASCII(h);
  if (ascii === '') {
    const numeric = looksNumeric(h.endsWith('.') ? h.slice(0, -1) : h);
    return hostError(
      numeric
        ? `"${printable(host)}" looks like an IP address but is not a valid one`
        : `"${printable(host)}" is not a valid host name`,
    );
  }
  h = ascii;
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '') return hostError('host is empty');

  const ip = parseIpLiteral(h);
  if (ip) return { ok: true, host: ip.address, ip };
  if (looksNumeric(h)) return hostError(`"${printable(host)}" looks like an IP address but is not a valid one`);

  if (h.length > MAX_HOST_LENGTH) return hostError('host name is longer than 253 characters');
  for (const label of h.split('.')) {
    if (label === '') return hostError(`"${printable(host)}" has an empty label`);
    if (label.length > MAX_LABEL_LENGTH) return hostError('a host name label is longer than 63 characters');
    if (!LABEL.test(label)) return hostError(`"${printable(host)}" is not a valid host name`);
  }
  return { ok: true, host: h, ip: null };
}

function patternError(message: string): ValidatePatternResult {
  return { ok: false, error: { code: 'INVALID_PATTERN', message } };
}

/**
 * Validates and normalises a rule pattern: a host (`api.github.com`), a wildcard
 * (`*.example.com`: `*.` only as the whole first label, at least two labels after it), an IP
 * literal or a CIDR range (`203.0.113.0/24`, `[2001:db8::]/48`; both stored canonical, a range with
 * host bits set as its network, a full-length prefix as the bare address). Leading/trailing whitespace
 * is ignored.
 */
export function validatePattern(pattern: string): ValidatePatternResult {
  if (typeof pattern !== 'string') return patternError('pattern must be a string');
  const p = pattern.trim();
  if (p === '') return patternError('pattern is empty');
  if (p.length > MAX_PATTERN_LENGTH) return patternError(`pattern is too long: at most ${MAX_PATTERN_LENGTH} characters`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    return patternError('give a host name, not a URL: drop the scheme (for example "https://")');
  }
  if (p.includes('@')) return patternError('a pattern is a host name only: credentials are not allowed');
  if (/^[^:[\]]+:\d*$/.test(p) || /^\[[^\]]*\](\/\d*)?:\d*$/.test(p)) {
    return patternError('put the port in the rule\'s ports list, not in the pattern');
  }
  if (p.includes('/')) return validateRange(p);

  if (p.includes('*')) {
    if (!p.startsWith('*.') || p.indexOf('*', 1) !== -1) {
      return patternError('wildcards are only allowed as the first label, like *.example.com');
    }
    const rest = normalizeHost(p.slice(2));
    if (!rest.ok) return patternError(rest.error.message);
    if (rest.ip) return patternError('a wildcard cannot be combined with an IP address');
    if (rest.host.split('.').length < 2) {
      return patternError('a wildcard needs at least two labels after "*.", like *.example.com');
    }
    return { ok: true, pattern: `*.${rest.host}`, kind: 'wildcard' };
  }

  const n = normalizeHost(p);
  if (!n.ok) return patternError(n.error.message);
  return { ok: true, pattern: n.host, kind: n.ip ? 'ip' : 'host' };
}

/**
 * Validates a rule's ports list: null (the default [80, 443]) or a non-empty list of integers
 * in 1..65535. Returns the de-duplicated, sorted list.
 */
export function validatePorts(
  ports: readonly number[] | null,
): { ok: true; ports: number[] | null } | { ok: false; error: PolicyError<'INVALID_PORTS'> } {
  if (ports === null) return { ok: true, ports: null };
  if (!Array.isArray(ports) || ports.length === 0) {
    return { ok: false, error: { code: 'INVALID_PORTS', message: 'ports must be null (80 and 443) or a non-empty list' } };
  }
  for (const port of ports) {
    if (!isValidPort(port)) {
      return { ok: false, error: { code: 'INVALID_PORTS', message: `${String(port)} is not a port (1-65535)` } };
    }
  }
  return { ok: true, ports: [...new Set(ports)].sort((a, b) => a - b) };
}

function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/**
 * Whether a rule pattern covers a host. `*.example.com` matches `a.example.com` and
 * `a.b.example.com`, never `example.com` nor `badexample.com`; host and IP patterns match
 * exactly after normalisation (IP literals compared in canonical form, so `2130706433` equals a
 * `127.0.0.1` pattern, while `::ffff:127.0.0.1` does not); a CIDR pattern matches the IP literals of
 * its family inside it (never a host name, whatever it resolves to). Invalid patterns or hosts never match.
 */
export function matches(pattern: string, host: string): boolean {
  const p = validatePattern(pattern);
  const h = normalizeHost(host);
  if (!p.ok || !h.ok) return false;
  return matchNormalized(p, h);
}

/** A CIDR rule pattern: `10.1.0.0/16`, `2001:db8::/32`, `[2001:db8::]/32`, `[2001:db8::/32]`. */
function validateRange(p: string): ValidatePatternResult {
  const whole = /^\[([^\]]+\/[^\]]*)\]$/.exec(p);
  const text = whole ? whole[1]! : p.replace(/^\[([^\]]+)\](?=\/)/, '$1');
  const slash = text.indexOf('/');
  if (!parseIpLiteral(text.slice(0, slash))) {
    return patternError('a pattern is a host name, an IP address or a CIDR range like 203.0.113.0/24: paths are not allowed');
  }
  const c = parseCidr(text);
  if (!c) return patternError(`"${printable(p)}" is not a valid CIDR range: an address, "/" and a prefix length`);
  const bits = c.family === 4 ? 32 : 128;
  if (c.prefix < MIN_RULE_PREFIX[c.family]) {
    return patternError(`a CIDR rule may cover at most a /${MIN_RULE_PREFIX[c.family]} (IPv${c.family}): name a narrower range`);
  }
  const canonical = formatCidr(c);
  if (c.prefix === bits) return { ok: true, pattern: canonical.slice(0, canonical.lastIndexOf('/')), kind: 'ip' };
  return { ok: true, pattern: canonical, kind: 'cidr' };
}

function matchNormalized(
  p: Extract<ValidatePatternResult, { ok: true }>,
  h: Extract<NormalizeHostResult, { ok: true }>,
): boolean {
  if (p.kind === 'wildcard') {
    const suffix = p.pattern.slice(1); // ".example.com"
    return h.ip === null && h.host.length > suffix.length && h.host.endsWith(suffix);
  }
  if (p.kind === 'ip') return h.ip !== null && h.ip.address === p.pattern;
  if (p.kind === 'cidr') {
    // Same family only, like IP patterns: `::ffff:10.0.0.1` is not in a 10.0.0.0/8 rule.
    const c = parseCidr(p.pattern);
    return h.ip !== null && c !== null && c.family === h.ip.family && cidrContains(c, h.ip.address);
  }
  return h.ip === null && h.host === p.pattern;
}

function scopeApplies(scope: RuleScope, userId: string | undefined): boolean {
  if (userId === undefined || scope === 'global') return true;
  return typeof scope === 'object' && scope !== null && scope.userId === userId;
}

/**
 * The egress decision for one destination, deny by default:
 * 1. invalid host -> `invalid_host`; port outside 1..65535 -> `invalid_port`;
 * 2. a blocked port (default 25, 465, 587) -> `blocked_port`, whatever the rules say;
 * 3. an IP literal (any notation) is refused (`ip_literal_not_allowed`) unless an IP rule names
 *    exactly that address or a CIDR rule covers it;
 * 4. a host needs a matching rule (`no_matching_rule`) that lists the port (`port_not_allowed`).
 * Among matching rules, exact host and IP rules are preferred over CIDR rules, and those over
 * wildcards, for `ruleId`; `globalRuleId` names the first global one that allows the destination.
 * Rules with invalid patterns are ignored. This decides on names only: the proxy must still check
 * the resolved addresses ({@link checkAddress}).
 */
export function decide(input: DecideInput): Decision {
  const { port, rules, userId } = input;
  const blockedPorts = input.blockedPorts ?? DEFAULT_BLOCKED_PORTS;
  const h = normalizeHost(input.host);
  if (!h.ok) return { allowed: false, reason: 'invalid_host' };
  const host = h.host;
  if (!isValidPort(port)) return { allowed: false, reason: 'invalid_port', host };
  if (blockedPorts.includes(port)) return { allowed: false, reason: 'blocked_port', host };

  const exact: Rule[] = [];
  const range: Rule[] = [];
  const wildcard: Rule[] = [];
  for (const rule of rules) {
    if (!rule || !scopeApplies(rule.scope, userId)) continue;
    const p = validatePattern(rule.pattern);
    if (!p.ok || !matchNormalized(p, h)) continue;
    (p.kind === 'wildcard' ? wildcard : p.kind === 'cidr' ? range : exact).push(rule);
  }
  const candidates = [...exact, ...range, ...wildcard];
  if (candidates.length === 0) {
    return { allowed: false, reason: h.ip ? 'ip_literal_not_allowed' : 'no_matching_rule', host };
  }
  const granting = candidates.filter((r) => (r.ports ?? DEFAULT_RULE_PORTS).includes(port));
  if (granting.length === 0) return { allowed: false, reason: 'port_not_allowed', host };
  const global = granting.find((r) => r.scope === 'global');
  return { allowed: true, reason: 'allowed', ruleId: granting[0]!.id, host, ...(global ? { globalRuleId: global.id } : {}) };
}

/** Printable, bounded excerpt of untrusted input for messages and logs. */
export function printable(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f"\\]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}

// ---------------------------------------------------------------------------
// Openings (CRONIUM_EGRESS_ALLOW_CIDRS) and the address check
// ---------------------------------------------------------------------------

/**
 * An admin's opening of otherwise refused addresses: a CIDR range and the ports it opens (`127.0.0.1/32:18999`,
 * `10.0.0.0/8:5432-5433`, `[fd00::/8]:443`). A range of addresses alone opens nothing: every opening names its
 * ports, so that opening one service never opens every port of the machine it runs on.
 */
export interface Opening {
  /** The entry as configured (trimmed), for messages. */
  text: string;
  cidr: Cidr;
  /** First and last opened port, inclusive. */
  from: number;
  to: number;
}

/** Parses one opening; the message names what is wrong with it and how to write it. */
export function parseOpening(entry: string): { ok: true; opening: Opening } | { ok: false; message: string } {
  const text = typeof entry === 'string' ? entry.trim() : '';
  const bad = (why: string) => ({ ok: false as const, message: `"${printable(text)}" ${why}` });
  let range: string;
  let ports: string | undefined;
  const v6 = /^\[([^\]]+)\](\/\d*)?(?::(.*))?$/.exec(text);
  if (v6) {
    range = v6[1]! + (v6[2] ?? '');
    ports = v6[3];
  } else {
    if (text.split(':').length > 2) return bad('is not an opening: write an IPv6 range in brackets, like [fd00::/8]:443');
    const colon = text.indexOf(':');
    range = colon < 0 ? text : text.slice(0, colon);
    ports = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const cidr = parseCidr(range);
  if (!cidr) return bad('is not an opening: a CIDR range and its ports, like 10.0.0.0/8:5432 or 127.0.0.1/32:8000-8099');
  if (ports === undefined || ports === '') {
    return bad(`names no port: an opening opens the ports it names, like ${text}:5432 or ${text}:8000-8099`);
  }
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || from < 1 || to > 65535 || from > to) return bad('has invalid ports: one port or a range (1-65535), like :5432 or :8000-8099');
  return { ok: true, opening: { text, cidr, from, to } };
}

/** Parses every opening of a list; the problems name each bad entry. */
export function parseOpenings(list: readonly string[]): { ok: true; openings: Opening[] } | { ok: false; problems: string[] } {
  const openings: Opening[] = [];
  const problems: string[] = [];
  for (const entry of list) {
    const r = parseOpening(entry);
    if (r.ok) openings.push(r.opening);
    else problems.push(r.message);
  }
  return problems.length ? { ok: false, problems } : { ok: true, openings };
}

/** Why the address check refuses an address: the built-in classes and what openings and the server add. */
export type AddressReason =
  | AddressRefusalReason
  /** A port of the Cronium server itself (public API, runtime API, proxy, dashboard) on this machine. */
  | 'cronium_server'
  /** An opening covers the address, but not this port. */
  | 'port_not_opened'
  /** An opening covers the address and port, but only global rules (admins') may use an opening. */
  | 'global_rule_required';

export type AddressVerdict = { allowed: true; opened: boolean } | { allowed: false; reason: AddressReason };

export interface AddressCheckInput {
  /** A resolved (or literal) destination address, any notation. */
  address: string;
  port: number;
  /** Whether a global rule allows the destination ({@link Decision.globalRuleId}). */
  globalRule: boolean;
  openings?: readonly Opening[];
  /** Refused CIDRs no opening can open (the sandbox network: other sandboxes and the gateway). */
  deniedCidrs?: readonly string[];
  /** The Cronium server's own ports: never reachable on this machine, whatever the openings and rules. */
  serverPorts?: readonly number[];
  /** This machine's interface addresses (loopback and unspecified addresses count always). */
  localAddresses?: readonly string[];
}

const THIS_MACHINE = ['127.0.0.0/8', '0.0.0.0/8', '::1/128', '::/128'];

/** Whether a connection to `address` ends on this machine. */
export function isThisMachine(address: string, localAddresses: readonly string[] = []): boolean {
  return THIS_MACHINE.some((c) => cidrContains(c, address)) || localAddresses.some((a) => cidrContains(a, address));
}

/**
 * The address check, after the names were decided (deny by default):
 * 1. a port of the Cronium server on an address of this machine -> `cronium_server`, whatever the openings say;
 * 2. a public unicast address outside `deniedCidrs` passes;
 * 3. a refused address inside `deniedCidrs` stays refused (no opening opens the sandbox network);
 * 4. another refused address (loopback, private, metadata... see classifyAddress) passes only through an opening
 *    that covers both the address and the port (`port_not_opened` when only the address is covered), and only
 *    for a destination a global rule allows (`global_rule_required`): neither a user's rule nor an execution's
 *    own can make use of an admin's opening.
 * Openings are matched against the address itself (an IPv4-mapped form counts as the IPv4 address), never
 * against an IPv4 address inside a NAT64 or 6to4 form, which would be a different endpoint.
 */
export function checkAddress(input: AddressCheckInput): AddressVerdict {
  const { address, port } = input;
  const canonical = parseIpLiteral(address);
  if (!canonical) return { allowed: false, reason: 'invalid_address' };
  if ((input.serverPorts ?? []).includes(port) && isThisMachine(canonical.address, input.localAddresses)) {
    return { allowed: false, reason: 'cronium_server' };
  }
  const denied = input.deniedCidrs ?? [];
  const verdict = classifyAddress(canonical.address, denied, []);
  if (verdict.allowed) return { allowed: true, opened: false };
  const reason = verdict.reason ?? 'invalid_address';
  if (denied.some((c) => cidrContains(c, canonical.address))) return { allowed: false, reason };
  const covering = (input.openings ?? []).filter((o) => cidrContains(o.cidr, canonical.address));
  if (covering.length === 0) return { allowed: false, reason };
  if (!covering.some((o) => port >= o.from && port <= o.to)) return { allowed: false, reason: 'port_not_opened' };
  if (!input.globalRule) return { allowed: false, reason: 'global_rule_required' };
  return { allowed: true, opened: true };
}

// ---------------------------------------------------------------------------
// Rule identity
// ---------------------------------------------------------------------------

/**
 * What makes two rules the same rule: scope, owner, canonical pattern and the ports they allow (no ports and
 * [80, 443] allow the same). Call with a validated pattern and validated ports.
 */
export function ruleKey(rule: { pattern: string; ports: readonly number[] | null; scope: 'global' | 'user'; userId: string | null }): string {
  const ports = [...new Set(rule.ports ?? DEFAULT_RULE_PORTS)].sort((a, b) => a - b);
  return JSON.stringify([rule.scope, rule.scope === 'global' ? null : rule.userId, rule.pattern, ports]);
}
