/**
 * Egress policy: host normalisation, rule patterns and the allow/deny decision.
 * Pure functions; the proxy (proxy.ts) adds DNS resolution and address classification.
 */
import { domainToASCII } from 'node:url';
import { looksNumeric, parseIpLiteral, type IpLiteral } from './ip.js';

export type RuleScope = 'global' | { userId: string };

export interface Rule {
  id: string;
  /** `api.github.com`, `*.example.com` or an IP literal (see {@link validatePattern}). */
  pattern: string;
  /** Allowed destination ports; null means {@link DEFAULT_RULE_PORTS}. */
  ports: number[] | null;
  scope: RuleScope;
}

export const DEFAULT_RULE_PORTS: readonly number[] = Object.freeze([80, 443]);
export const DEFAULT_BLOCKED_PORTS: readonly number[] = Object.freeze([25, 465, 587]);

export interface PolicyError<C extends 'INVALID_HOST' | 'INVALID_PATTERN' | 'INVALID_PORTS'> {
  code: C;
  message: string;
}

export type NormalizeHostResult =
  | { ok: true; host: string; ip: IpLiteral | null }
  | { ok: false; error: PolicyError<'INVALID_HOST'> };

export type PatternKind = 'host' | 'wildcard' | 'ip';

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
 * (`*.example.com`: `*.` only as the whole first label, at least two labels after it) or an IP
 * literal (stored canonical). Leading/trailing whitespace is ignored.
 */
export function validatePattern(pattern: string): ValidatePatternResult {
  if (typeof pattern !== 'string') return patternError('pattern must be a string');
  const p = pattern.trim();
  if (p === '') return patternError('pattern is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    return patternError('give a host name, not a URL: drop the scheme (for example "https://")');
  }
  if (p.includes('/')) return patternError('a pattern is a host name only: paths and CIDR ranges are not allowed');
  if (p.includes('@')) return patternError('a pattern is a host name only: credentials are not allowed');
  if (/^[^:[\]]+:\d*$/.test(p) || /^\[[^\]]*\]:\d*$/.test(p)) {
    return patternError('put the port in the rule\'s ports list, not in the pattern');
  }

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
 * `127.0.0.1` pattern, while `::ffff:127.0.0.1` does not). Invalid patterns or hosts never match.
 */
export function matches(pattern: string, host: string): boolean {
  const p = validatePattern(pattern);
  const h = normalizeHost(host);
  if (!p.ok || !h.ok) return false;
  return matchNormalized(p, h);
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
 *    exactly that address;
 * 4. a host needs a matching rule (`no_matching_rule`) that lists the port (`port_not_allowed`).
 * Among matching rules, exact-host rules are preferred over wildcards for `ruleId`. Rules with
 * invalid patterns are ignored. This decides on names only: the proxy must still check the
 * resolved addresses (classifyAddress).
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
  const wildcard: Rule[] = [];
  for (const rule of rules) {
    if (!rule || !scopeApplies(rule.scope, userId)) continue;
    const p = validatePattern(rule.pattern);
    if (!p.ok || !matchNormalized(p, h)) continue;
    (p.kind === 'wildcard' ? wildcard : exact).push(rule);
  }
  const candidates = [...exact, ...wildcard];
  if (candidates.length === 0) {
    return { allowed: false, reason: h.ip ? 'ip_literal_not_allowed' : 'no_matching_rule', host };
  }
  const rule = candidates.find((r) => (r.ports ?? DEFAULT_RULE_PORTS).includes(port));
  if (!rule) return { allowed: false, reason: 'port_not_allowed', host };
  return { allowed: true, reason: 'allowed', ruleId: rule.id, host };
}

/** Printable, bounded excerpt of untrusted input for messages and logs. */
export function printable(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f"\\]/g, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}
