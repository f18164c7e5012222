import { validatePattern } from './policy.js';

/**
 * A per-execution egress entry: a rule pattern, optionally with one port (`api.example.com:8443`,
 * `[2001:db8::1]:443`, `203.0.113.0/24:443`, `[2001:db8::/32]:443`). Without a port the rule's default ports
 * (80 and 443) apply.
 */
export function parseAllowEntry(entry: string): { ok: true; pattern: string; ports: number[] | null; canonical: string } | { ok: false; message: string } {
  let host = entry.trim();
  let ports: number[] | null = null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  const hostPort = /^([^:]+):(\d+)$/.exec(host);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) ports = [Number(bracketed[2])];
  } else if (hostPort) {
    host = hostPort[1]!;
    ports = [Number(hostPort[2])];
  }
  if (ports && (ports[0]! < 1 || ports[0]! > 65535)) return { ok: false, message: `${ports[0]} is not a port (1-65535)` };
  const v = validatePattern(host);
  if (!v.ok) return { ok: false, message: v.error.message };
  // IPv6 (an address or a range) in brackets before a port, so that the canonical entry parses back the same.
  const shown = (v.kind === 'ip' || v.kind === 'cidr') && v.pattern.includes(':') ? `[${v.pattern}]` : v.pattern;
  return { ok: true, pattern: v.pattern, ports, canonical: ports ? `${shown}:${ports[0]}` : v.pattern };
}
