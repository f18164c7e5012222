import type { EgressRefusal, ExecutionEvents } from './events.js';

/** Reasons of the address checks (egress/ip.ts): the host was allowed, the address it resolved to is not. */
const ADDRESS_REASONS = new Set([
  'invalid_address', 'unspecified', 'loopback', 'private', 'link_local', 'metadata', 'cgnat', 'multicast',
  'reserved', 'documentation', 'benchmarking', 'denied_cidr',
]);

/** At most this many refusals are told in an execution's log; the egress log keeps every one. */
export const MAX_NOTICES = 20;

function target(host: string, port: number): string {
  if (port <= 0) return host; // a request refused before it named a port (a bad URL): host is what was sent
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

function advice(r: EgressRefusal): string | null {
  if (r.reason === 'no_matching_rule') return 'allow it in Egress';
  if (r.reason === 'port_not_allowed') return `a rule allows this host on other ports only: add port ${r.port} in Egress`;
  if (r.reason === 'blocked_port') return `port ${r.port} is refused whatever the rules say (CRONIUM_EGRESS_BLOCKED_PORTS)`;
  if (r.reason === 'ip_literal_not_allowed') return 'use the host name, or add a rule naming this address in Egress';
  if (ADDRESS_REASONS.has(r.reason)) {
    return r.address && r.address !== r.host
      ? `it resolves to ${r.address} (${r.reason}), which sandboxes may not reach`
      : `sandboxes may not reach ${r.reason} addresses`;
  }
  if (r.reason === 'dns_error') return `the name did not resolve${r.error ? ` (${r.error})` : ''}`;
  if (r.reason === 'policy_unavailable') return 'the egress rules could not be read; try again';
  if (r.reason === 'global_rule_required') return 'this private destination is opened for admins\' global rules only, not for user or per-execution rules';
  if (r.reason === 'port_not_opened') return `the opening for this address (CRONIUM_EGRESS_ALLOW_CIDRS) does not name port ${r.port}`;
  if (r.reason === 'cronium_server') return 'the Cronium server\'s own ports are never reachable from a sandbox';
  if (r.reason === 'auth_invalid' || r.reason === 'auth_required') return 'the proxy takes only the execution\'s own credentials (HTTPS_PROXY as Cronium set it)';
  if (r.reason === 'execution_not_running') return 'the execution this request belongs to has ended';
  if (r.reason === 'headers_timeout' || r.reason === 'body_timeout') return 'the request was not sent in time';
  if (r.reason === 'headers_too_large') return 'the request\'s headers are too large';
  if (r.reason === 'upgrade_not_supported') return 'the proxy does not pass protocol upgrades (WebSocket over plain http://); use wss:// through a CONNECT tunnel';
  if (r.reason === 'invalid_http' || r.status === 400) return 'the proxy takes http:// requests and CONNECT tunnels only';
  return null;
}

/** The `system` log line for a refused request: what was refused, why, and what to do about it. */
export function egressRefusalLine(r: EgressRefusal): string {
  const a = advice(r);
  return `[cronium] egress refused ${target(r.host, r.port)}: ${r.reason}${a ? ` — ${a}` : ''}`;
}

/**
 * Tells the execution's log about each refused destination once (a script retrying in a loop must not fill its
 * log), up to MAX_NOTICES, then says where the rest are. Returns the unsubscribe function.
 */
export function followEgressRefusals(events: ExecutionEvents, executionId: string, write: (line: string) => void): () => void {
  const seen = new Set<string>();
  return events.onEgressRefused(executionId, (r) => {
    const key = `${r.host}\0${r.port}\0${r.reason}`;
    if (seen.has(key) || seen.size > MAX_NOTICES) return;
    seen.add(key);
    write(
      seen.size > MAX_NOTICES
        ? `[cronium] further egress refusals are not shown here; GET /api/v1/executions/${executionId}/egress lists every one`
        : egressRefusalLine(r),
    );
  });
}
