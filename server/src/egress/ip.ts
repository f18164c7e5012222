/**
 * IP literal parsing and address classification for the egress proxy.
 *
 * Everything here is pure: no DNS, no sockets. Addresses are handled as BigInt
 * (32 bits for IPv4, 128 bits for IPv6) so CIDR math is exact.
 *
 * Parsing is deliberately *liberal* in what it recognises as an IP literal: every
 * IPv4 notation that inet_aton()/curl/WHATWG URL accept (decimal, octal, hex,
 * 1-4 parts, mixed) is recognised, because anything a client library could turn
 * into an address must be treated as one by the policy. Classification is
 * deliberately *conservative*: anything that is not plainly a public unicast
 * address is refused.
 */

export type IpFamily = 4 | 6;

export interface IpLiteral {
  family: IpFamily;
  /** Canonical text: dotted-quad for IPv4; RFC 5952 for IPv6 (`::ffff:a.b.c.d` for IPv4-mapped). */
  address: string;
}

export interface Cidr {
  family: IpFamily;
  /** Network address with the host bits cleared. */
  network: bigint;
  prefix: number;
}

/** Short machine codes explaining why an address is refused. */
export type AddressRefusalReason =
  | 'invalid_address'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'metadata'
  | 'cgnat'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'denied_cidr';

export interface AddressClassification {
  allowed: boolean;
  reason?: AddressRefusalReason;
}

const V4_BITS = 32;
const V6_BITS = 128;
const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

// ---------------------------------------------------------------------------
// IPv4 (inet_aton semantics)
// ---------------------------------------------------------------------------

/** One inet_aton part: `0x..` hex (digits may be empty, as in glibc/WHATWG), `0..` octal, else decimal. */
function parseV4Part(part: string): bigint | null {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0n : BigInt(`0x${part.slice(2)}`);
  if (/^0[0-7]*$/.test(part)) return BigInt(`0o${part}`);
  if (/^[1-9][0-9]*$/.test(part)) return BigInt(part);
  return null;
}

/** inet_aton: 1 to 4 parts; all but the last are bytes, the last fills the remaining bytes. */
function parseIPv4(input: string): bigint | null {
  let s = input;
  if (s.endsWith('.')) s = s.slice(0, -1); // one trailing dot, as the WHATWG URL parser allows
  if (s === '' || s.length > 256) return null;
  const parts = s.split('.');
  if (parts.length > 4) return null;
  const nums: bigint[] = [];
  for (const p of parts) {
    const n = parseV4Part(p);
    if (n === null) return null;
    nums.push(n);
  }
  let value = 0n;
  for (let i = 0; i < nums.length - 1; i++) {
    const n = nums[i]!;
    if (n > 255n) return null;
    value |= n << BigInt(8 * (3 - i));
  }
  const last = nums[nums.length - 1]!;
  const lastBytes = 5 - nums.length; // 4 parts -> 1 byte, 1 part -> 4 bytes
  if (last >= 1n << BigInt(8 * lastBytes)) return null;
  return value | last;
}

function formatIPv4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((n >> shift) & 0xffn).toString(10)).join('.');
}

// ---------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------

const STRICT_DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseV6Groups(part: string, allowTrailingV4: boolean): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (i === pieces.length - 1 && allowTrailingV4 && p.includes('.')) {
      if (!STRICT_DOTTED_QUAD.test(p)) return null;
      const v4 = parseIPv4(p);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
      groups.push(parseInt(p, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 4291 text forms, with or without brackets. Zone ids (`%eth0`) are rejected. */
function parseIPv6(input: string): bigint | null {
  let s = input;
  if (s.startsWith('[') || s.endsWith(']')) {
    if (!(s.startsWith('[') && s.endsWith(']'))) return null;
    s = s.slice(1, -1);
  }
  if (s.includes('%') || !s.includes(':') || s.length > 64) return null;
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    const left = parseV6Groups(s.slice(0, dbl), false);
    const right = parseV6Groups(s.slice(dbl + 2), true);
    if (!left || !right || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseV6Groups(s, true);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function isV4Mapped(n: bigint): boolean {
  return n >> 32n === 0xffffn;
}

function formatIPv6(n: bigint): string {
  if (isV4Mapped(n)) return `::ffff:${formatIPv4(n & V4_MAX)}`;
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

// ---------------------------------------------------------------------------
// Public parsing API
// ---------------------------------------------------------------------------

interface ParsedIp {
  family: IpFamily;
  value: bigint;
}

function parseIp(host: string): ParsedIp | null {
  if (typeof host !== 'string' || host === '') return null;
  if (host.includes(':') || host.startsWith('[')) {
    const v6 = parseIPv6(host);
    return v6 === null ? null : { family: 6, value: v6 };
  }
  const v4 = parseIPv4(host);
  return v4 === null ? null : { family: 4, value: v4 };
}

function format(ip: ParsedIp): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

/**
 * Recognises an IP literal in any notation a client could use and returns its canonical form,
 * or null when `host` is not a valid IP literal (a host name, or garbage such as `1.2.3.4.5`:
 * use {@link looksNumeric} to tell those apart).
 *
 * IPv4: dotted, decimal (`2130706433`), octal (`0177.0.0.1`, `017700000001`), hex (`0x7f.1`,
 * `0x7f000001`), short (`127.1`, `10.1.2`) and mixed forms; one trailing dot is tolerated.
 * IPv6: with or without brackets, `::` compression, trailing dotted quad; zone ids are rejected.
 * IPv4-mapped addresses stay IPv6 (`::ffff:127.0.0.1`), everything else is RFC 5952 text.
 */
export function parseIpLiteral(host: string): IpLiteral | null {
  const ip = parseIp(host);
  return ip ? { family: ip.family, address: format(ip) } : null;
}

/**
 * True when `host` looks like an attempt at an IP literal: it contains `:` or `[`, or its last
 * label (after one trailing dot) is all decimal digits or `0x` + hex digits (the WHATWG
 * "ends in a number" rule). Such a host that {@link parseIpLiteral} rejects is invalid, never a
 * host name to resolve.
 */
export function looksNumeric(host: string): boolean {
  if (host.includes(':') || host.includes('[') || host.includes(']')) return true;
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = h.split('.');
  const last = labels[labels.length - 1] ?? '';
  return /^(\d+|0x[0-9a-f]*)$/i.test(last);
}

/**
 * Parses `a.b.c.d/n`, `x:y::/n` or a bare address (a host route). Host bits are cleared.
 * IPv4-mapped IPv6 ranges (`::ffff:10.0.0.0/104`) become the equivalent IPv4 range, because
 * classification folds IPv4-mapped addresses to IPv4. Returns null when invalid.
 */
export function parseCidr(cidr: string): Cidr | null {
  if (typeof cidr !== 'string') return null;
  const text = cidr.trim();
  const slash = text.indexOf('/');
  const addrPart = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIp(addrPart);
  if (!ip) return null;
  const bits = ip.family === 4 ? V4_BITS : V6_BITS;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > bits) return null;
  }
  let family: IpFamily = ip.family;
  let value = ip.value;
  if (family === 6 && isV4Mapped(value) && prefix >= 96) {
    family = 4;
    value &= V4_MAX;
    prefix -= 96;
  }
  return { family, network: maskNetwork(value, family, prefix), prefix };
}

/** Canonical text of a parsed range: `10.0.0.0/8`, `2001:db8::/32` (host bits already cleared by parseCidr). */
export function formatCidr(c: Cidr): string {
  return `${format({ family: c.family, value: c.network })}/${c.prefix}`;
}

function maskNetwork(value: bigint, family: IpFamily, prefix: number): bigint {
  const bits = family === 4 ? V4_BITS : V6_BITS;
  const all = family === 4 ? V4_MAX : V6_MAX;
  const hostMask = prefix >= bits ? 0n : (1n << BigInt(bits - prefix)) - 1n;
  return value & (all ^ hostMask);
}

function inCidr(ip: ParsedIp, c: Cidr): boolean {
  return ip.family === c.family && maskNetwork(ip.value, ip.family, c.prefix) === c.network;
}

/** True when `address` (any notation) lies inside `cidr`. Invalid input gives false. */
export function cidrContains(cidr: string | Cidr, address: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  let ip = parseIp(address);
  if (!c || !ip) return false;
  if (ip.family === 6 && isV4Mapped(ip.value)) ip = { family: 4, value: ip.value & V4_MAX };
  return inCidr(ip, c);
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

type Refusal = Exclude<AddressRefusalReason, 'denied_cidr' | 'invalid_address'>;

function table(entries: Array<[string, Refusal]>): Array<[Cidr, Refusal]> {
  return entries.map(([text, reason]) => {
    const c = parseCidr(text);
    if (!c) throw new Error(`bad built-in CIDR ${text}`);
    return [c, reason];
  });
}

/** Cloud metadata / instance service endpoints, refused first so the reason is explicit. */
const METADATA = table([
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OpenStack, DigitalOcean...
  ['169.254.170.2/32', 'metadata'], // AWS ECS task metadata
  ['169.254.170.23/32', 'metadata'], // AWS EKS pod identity
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud
  ['192.0.0.192/32', 'metadata'], // Oracle Cloud
  ['168.63.129.16/32', 'metadata'], // Azure wire server (a public address!)
  ['fd00:ec2::254/128', 'metadata'], // AWS IPv6 IMDS
  ['fd00:ec2::23/128', 'metadata'], // AWS EKS pod identity (IPv6)
]);

/** Special-purpose IPv4 ranges (IANA registry), most specific first. */
const V4_RANGES = table([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // includes 255.255.255.255 (limited broadcast)
]);

/** Special-purpose IPv6 ranges that do not embed an IPv4 address. */
const V6_RANGES = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'reserved'], // local-use NAT64 (RFC 8215): site-specific embedding, refuse whole
  ['100::/64', 'reserved'], // discard-only
  ['2001::/23', 'reserved'], // IETF protocol assignments, incl. Teredo 2001::/32
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'], // RFC 9637
  ['5f00::/16', 'reserved'], // SRv6 SIDs
  ['fc00::/7', 'private'], // unique local
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
]);

const GLOBAL_UNICAST_V6 = parseCidr('2000::/3')!;
const V4_COMPATIBLE = parseCidr('::/96')!;
const V4_TRANSLATED = parseCidr('::ffff:0:0:0/96')!; // SIIT, RFC 2765
const NAT64 = parseCidr('64:ff9b::/96')!;
const SIX_TO_FOUR = parseCidr('2002::/16')!;

function lookup(ip: ParsedIp, entries: Array<[Cidr, Refusal]>): Refusal | undefined {
  for (const [c, reason] of entries) if (inCidr(ip, c)) return reason;
  return undefined;
}

const cidrCache = new Map<string, Cidr>();

/** Parses (and memoises) configured CIDR lists; a bad entry is a configuration error and throws. */
function compile(list: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const text of list) {
    let c = cidrCache.get(text);
    if (!c) {
      const parsed = parseCidr(text);
      if (!parsed) throw new TypeError(`invalid CIDR: ${JSON.stringify(text)}`);
      if (cidrCache.size > 1000) cidrCache.clear();
      cidrCache.set(text, parsed);
      c = parsed;
    }
    out.push(c);
  }
  return out;
}

/** Built-in tables plus the extra denied CIDRs, for an IPv4 address. */
function refuseV4(ip: ParsedIp, denied: Cidr[]): AddressRefusalReason | undefined {
  const r = lookup(ip, METADATA) ?? lookup(ip, V4_RANGES);
  if (r) return r;
  if (denied.some((c) => inCidr(ip, c))) return 'denied_cidr';
  return undefined;
}

/** An IPv4 address embedded in an IPv6 form that can reach it (compatible, SIIT, NAT64, 6to4). */
function embeddedV4(ip: ParsedIp): { kind: 'compatible' | 'translated' | 'nat64' | '6to4'; v4: ParsedIp } | null {
  if (ip.family !== 6) return null;
  if (inCidr(ip, V4_COMPATIBLE)) return { kind: 'compatible', v4: { family: 4, value: ip.value & V4_MAX } };
  if (inCidr(ip, V4_TRANSLATED)) return { kind: 'translated', v4: { family: 4, value: ip.value & V4_MAX } };
  if (inCidr(ip, NAT64)) return { kind: 'nat64', v4: { family: 4, value: ip.value & V4_MAX } };
  if (inCidr(ip, SIX_TO_FOUR)) return { kind: '6to4', v4: { family: 4, value: (ip.value >> 80n) & V4_MAX } };
  return null;
}

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-mapped, IPv4-compatible,
 * SIIT-translated, NAT64 (64:ff9b::/96) or 6to4 (2002::/16). Returns dotted-quad text or null.
 */
export function embeddedIPv4(address: string): string | null {
  const ip = parseIp(address);
  if (!ip || ip.family !== 6) return null;
  if (isV4Mapped(ip.value)) return formatIPv4(ip.value & V4_MAX);
  const e = embeddedV4(ip);
  return e ? formatIPv4(e.v4.value) : null;
}

/**
 * Decides whether the proxy may open a connection to `address`.
 *
 * Order: the address is parsed (IPv4-mapped IPv6 is folded to IPv4: same endpoint);
 * `allowCidrs` (explicit admin openings) win over everything; then cloud metadata endpoints,
 * the IANA special-purpose ranges, IPv6 forms embedding a refused IPv4 address, any IPv6
 * outside global unicast 2000::/3, and finally `extraDenied` (Docker/sandbox networks).
 * `allowCidrs` are matched against the address itself only, never against the IPv4 address
 * inside a NAT64/6to4 form (that would be a different endpoint).
 *
 * Invalid CIDRs in either list throw a TypeError (configuration error): validate config with
 * {@link parseCidr} at start-up.
 */
export function classifyAddress(
  address: string,
  extraDenied: readonly string[] = [],
  allowCidrs: readonly string[] = [],
): AddressClassification {
  const denied = compile(extraDenied);
  const allowed = compile(allowCidrs);
  let ip = parseIp(address);
  if (!ip) return { allowed: false, reason: 'invalid_address' };
  if (ip.family === 6 && isV4Mapped(ip.value)) ip = { family: 4, value: ip.value & V4_MAX };
  const target = ip;

  if (allowed.some((c) => inCidr(target, c))) return { allowed: true };

  if (target.family === 4) {
    const r = refuseV4(target, denied);
    return r ? { allowed: false, reason: r } : { allowed: true };
  }

  const meta = lookup(target, METADATA);
  if (meta) return { allowed: false, reason: meta };
  const special = lookup(target, V6_RANGES); // ::, ::1 before the IPv4-compatible check below
  if (special) return { allowed: false, reason: special };
  const embedded = embeddedV4(target);
  if (embedded) {
    const r = refuseV4(embedded.v4, denied);
    if (r) return { allowed: false, reason: r };
    // Deprecated forms with no legitimate use from a sandbox.
    if (embedded.kind === 'compatible' || embedded.kind === 'translated') return { allowed: false, reason: 'reserved' };
  }
  if (!embedded && !inCidr(target, GLOBAL_UNICAST_V6)) return { allowed: false, reason: 'reserved' };
  if (denied.some((c) => inCidr(target, c))) return { allowed: false, reason: 'denied_cidr' };
  return { allowed: true };
}
