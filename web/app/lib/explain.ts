/**
 * Why a run ended as it did, in words, from what the API already tells: the status and its error, the refused
 * egress requests, and the lines the interpreter printed when a package was missing. Pure, table-tested.
 */
import { formatDuration } from './format';
import type { EgressLogEntry, Execution, ExecutionStatus, LogEntry } from './types';

export interface Explanation {
  kind: 'timeout' | 'oom' | 'egress' | 'module' | 'cancelled' | 'exit' | 'error';
  /** How it is shown: error (red), warning, or info (a user's own cancel is not an error). */
  tone: 'error' | 'warning' | 'info';
  title: string;
  detail?: string;
  action?: { label: string; to: string };
}

/** What the proxy's refusal reasons mean (egress/policy.ts and egress/ip.ts on the server). */
const ADDRESS_REASONS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  link_local: 'a link-local address',
  metadata: 'a cloud metadata address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  documentation: 'a documentation address',
  benchmarking: 'a benchmarking address',
  unspecified: 'the unspecified address',
  invalid_address: 'an invalid address',
  denied_cidr: 'a range the administrator refused',
};

export function egressReasonText(reason: string | null | undefined, port?: number | null, address?: string | null): string {
  switch (reason) {
    case null:
    case undefined:
    case '':
      return 'refused';
    case 'allowed':
      return 'allowed by a rule';
    case 'no_matching_rule':
      return 'no rule allows it';
    case 'port_not_allowed':
      return `a rule allows this host, but not on port ${port ?? 'this port'}`;
    case 'ip_literal_not_allowed':
      return 'a request to an IP address needs a rule naming that address';
    case 'blocked_port':
      return `port ${port ?? ''} is refused whatever the rules say`.replace('  ', ' ');
    case 'invalid_host':
      return 'not a valid host name';
    case 'invalid_port':
      return 'not a valid port';
    case 'dns_error':
      return 'the name did not resolve';
    case 'policy_unavailable':
      return 'the egress rules could not be read';
    case 'global_rule_required':
      return 'this private destination is opened for administrators’ global rules only';
    case 'port_not_opened':
      return `the administrator’s opening for this address does not include port ${port ?? 'this port'}`;
    case 'cronium_server':
      return 'the Cronium server’s own ports are never reachable from a sandbox';
    case 'auth_invalid':
    case 'auth_required':
      return 'the proxy takes only the execution’s own credentials';
    case 'execution_not_running':
      return 'the execution had already ended';
    case 'headers_timeout':
    case 'body_timeout':
      return 'the request was not sent in time';
    case 'headers_too_large':
      return 'its headers are too large';
    case 'upgrade_not_supported':
      return 'the proxy does not pass protocol upgrades (use wss:// rather than ws://)';
    case 'invalid_http':
      return 'the proxy takes http:// requests and CONNECT tunnels only';
    default: {
      const what = ADDRESS_REASONS[reason];
      if (what) return `it resolves to ${what}${address ? ` (${address})` : ''}, which sandboxes may not reach`;
      return reason.replace(/_/g, ' ');
    }
  }
}

/** Reasons a new rule would cure, and so get a link to add one. */
const RULE_CURES = new Set(['no_matching_rule', 'port_not_allowed', 'ip_literal_not_allowed']);

/** The Egress page with its form filled for this destination. */
export function ruleLink(host: string, port: number | null | undefined): string {
  const q = new URLSearchParams({ pattern: host.replace(/^\[(.*)\]$/, '$1') });
  if (port && port !== 80 && port !== 443) q.set('ports', String(port));
  return `/egress?${q.toString()}#add-rule`;
}

interface Refusal {
  host: string;
  port: number | null;
  reason: string;
  address: string | null;
}

// The runner's system line for a refusal (server/src/executions/egress-notice.ts).
const REFUSAL_LINE = /^\[cronium\] egress refused (\[[^\]]+\]|[^\s:]+)(?::(\d+))?: ([a-z_]+)/;

function refusals(egress: EgressLogEntry[], logs: LogEntry[]): Refusal[] {
  const out = new Map<string, Refusal>();
  const add = (r: Refusal) => {
    const key = `${r.host}|${r.port}|${r.reason}`;
    if (!out.has(key)) out.set(key, r);
  };
  for (const e of egress) if (!e.allowed) add({ host: e.host, port: e.port, reason: e.reason ?? '', address: e.address });
  for (const l of logs) {
    if (l.stream !== 'system') continue;
    const m = REFUSAL_LINE.exec(l.text);
    if (m) add({ host: m[1]!, port: m[2] ? Number(m[2]) : null, reason: m[3]!, address: null });
  }
  return [...out.values()];
}

/** The package a "module not found" error names, for Python and Node.js; null for a relative or absolute path. */
export function missingModule(text: string): string | null {
  const py = /ModuleNotFoundError: No module named '([^']+)'/.exec(text);
  const node = /Cannot find (?:module|package) '([^']+)'/.exec(text);
  const name = py?.[1] ?? node?.[1];
  if (!name || /^[./]/.test(name) || name.startsWith('node:')) return null;
  if (py) return name.split('.')[0]!;
  const parts = name.split('/');
  return name.startsWith('@') && parts.length > 1 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const FAILED: ReadonlySet<string> = new Set<ExecutionStatus>(['failed', 'error', 'timed_out', 'oom_killed']);

/** Reads the peak memory only of an execution's usage. */
type ExplainedExecution = Pick<Execution, 'status' | 'error' | 'exitCode' | 'limits'> & { usage: Pick<Partial<NonNullable<Execution['usage']>>, 'memoryPeakBytes'> | null };

export function explain(ex: ExplainedExecution, logs: LogEntry[], egress: EgressLogEntry[]): Explanation[] {
  const out: Explanation[] = [];
  const failed = FAILED.has(ex.status);

  if (ex.status === 'timed_out') {
    out.push({
      kind: 'timeout',
      tone: 'error',
      title: `Stopped at its time-out of ${formatDuration(ex.limits.timeoutMs)}.`,
      detail: 'It was still running when its time was up. Run it again with a longer timeout (up to the server’s maximum), or make it do less per run.',
    });
  } else if (ex.status === 'oom_killed') {
    const peak = ex.usage?.memoryPeakBytes;
    out.push({
      kind: 'oom',
      tone: 'error',
      title: `Ran out of memory: its limit was ${ex.limits.memoryMb} MiB.`,
      detail: `The kernel stopped it when it needed more${peak ? ` (peak ${Math.round(peak / 1048576)} MiB)` : ''}. Run it again with more memory (up to the server’s maximum), or make it hold less at once.`,
    });
  } else if (ex.status === 'cancelled') {
    out.push({
      kind: 'cancelled',
      tone: 'info',
      title: ex.error === 'cancelled before it started' ? 'Cancelled before it started.' : 'Cancelled while it ran.',
      detail: 'Someone asked for it to stop; nothing went wrong.',
    });
  }

  for (const r of refusals(egress, logs)) {
    const target = r.port ? `${r.host}:${r.port}` : r.host;
    out.push({
      kind: 'egress',
      tone: failed ? 'error' : 'warning',
      title: `Blocked: ${target} — ${egressReasonText(r.reason, r.port, r.address)}.`,
      ...(RULE_CURES.has(r.reason) ? { action: { label: `Allow ${r.host}${r.port && r.port !== 80 && r.port !== 443 ? ` on port ${r.port}` : ''}`, to: ruleLink(r.host, r.port) } } : {}),
    });
  }

  if (failed) {
    const seen = new Set<string>();
    for (const l of logs) {
      if (l.stream !== 'stderr') continue;
      const name = missingModule(l.text);
      if (!name || seen.has(name)) continue;
      seen.add(name);
      out.push({
        kind: 'module',
        tone: 'error',
        title: `The package “${name}” is not installed in the runtime image.`,
        detail: `Scripts cannot install packages themselves (they have no way to a package registry): add “${name}” to the run’s Packages (the API’s dependencies field) and Cronium installs it into a read-only bundle before the script starts.`,
      });
    }
  }

  if (failed && out.every((e) => e.tone !== 'error')) {
    if (ex.status === 'failed') {
      out.push({ kind: 'exit', tone: 'error', title: `The script exited with code ${ex.exitCode ?? '?'}.`, detail: 'Its own output (stderr in red below) says why.' });
    } else {
      out.push({ kind: 'error', tone: 'error', title: ex.error ? `${ex.error.charAt(0).toUpperCase()}${ex.error.slice(1)}.` : 'The execution could not run.' });
    }
  }
  return out;
}

export interface QueueFacts {
  /** Running now: everyone's for an admin, the user's own otherwise (GET /api/v1/stats). */
  running: number;
  queued: number;
  /** How many of this execution's user's executions run now. */
  userRunning: number;
  /** The limits, when the viewer may read the settings (admins). */
  limits?: { maxConcurrency: number; maxConcurrencyPerUser: number };
  /** Whether the numbers are everyone's (an admin) or the viewer's own. */
  everyone: boolean;
}

/**
 * Why a queued execution waits, as far as the API tells: which limit is reached, from the counts and (for
 * admins) the settings. The API does not give a place in the queue; the engine picks fairly across users.
 */
export function queueNote(q: QueueFacts): string {
  const l = q.limits;
  const waiting = q.everyone ? `${q.queued} waiting in all` : `you have ${q.queued} waiting`;
  if (l && q.userRunning >= l.maxConcurrencyPerUser) {
    return `Waiting for a free slot: its user already has ${q.userRunning} running, the most one user may run at once (${l.maxConcurrencyPerUser}); ${waiting}.`;
  }
  if (l && q.running >= l.maxConcurrency) {
    return `Waiting for a free slot: the server runs at most ${l.maxConcurrency} at once, and ${q.running} are running; ${waiting}.`;
  }
  if (l) return `Waiting to be picked up: ${q.running} of ${l.maxConcurrency} slots are in use; ${waiting}.`;
  return `Waiting for a free slot: ${q.userRunning} of your executions ${q.userRunning === 1 ? 'is' : 'are'} running and ${waiting}; an administrator sets how many may run at once.`;
}
