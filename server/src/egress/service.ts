import type { FastifyBaseLogger } from 'fastify';
import type { ExecutionTokens, TokenCheck } from '../auth/execution-tokens.js';
import type { ExecutionMaskers } from '../executions/maskers.js';
import type { Masker } from '../executions/masking.js';
import { parseAllowEntry } from './allow-entry.js';
import { printable, type Rule } from './policy.js';
import {
  createEgressProxy,
  type EgressAuditEntry,
  type EgressAuthRefusal,
  type EgressContext,
  type EgressProxy,
  parseProxyAuthorization,
} from './proxy.js';
import { type EgressRepository, toRule } from './repository.js';

export interface EgressServiceOptions {
  tokens: ExecutionTokens;
  egress: EgressRepository;
  log: FastifyBaseLogger;
  blockedPorts: number[];
  /** CRONIUM_EGRESS_ALLOW_CIDRS: openings, each a range and its ports, for global rules only. */
  allowCidrs: string[];
  deniedCidrs: string[];
  /** What the egress log keeps of a request (the host it named) is masked with its execution's secrets first. */
  maskers: ExecutionMaskers;
  /** The server's public API, runtime API and dashboard ports: never reachable through the proxy on this machine. */
  serverPorts: () => number[];
  /** Slow clients (the same bounds as the APIs'; the proxy has no deadline for a whole body, only for pauses in it). */
  timeouts?: { headersTimeoutMs: number; idleTimeoutMs: number; keepAliveTimeoutMs: number };
  /** Told of every refused request of an execution (after it is recorded); must not throw. */
  onRefused?: (entry: EgressAuditEntry & { executionId: string; userId: string }) => void;
}

/**
 * The egress proxy wired to Cronium: a sandbox authenticates with its execution id and token, and may reach
 * global ∪ its user's ∪ its own request's hosts, nothing else.
 */
export function createEgressService(o: EgressServiceOptions): EgressProxy {
  const perExecution = new Map<string, string[]>();
  // Taken when the execution authenticates: a tunnel is logged when it closes, which can be after its execution ended.
  const maskers = new Map<string, Masker>();
  return createEgressProxy({
    authenticate: async (header): Promise<EgressContext | EgressAuthRefusal | null> => {
      const creds = parseProxyAuthorization(header);
      if (!creds) return null;
      const check = await o.tokens.verify(creds.token);
      if (!check.ok || check.claims.exe !== creds.executionId) return proxyRefusal(check, creds.executionId);
      const { row } = check;
      perExecution.set(row.id, row.egressAllow);
      if (perExecution.size > 10_000) perExecution.delete(perExecution.keys().next().value!);
      maskers.set(row.id, await o.maskers.of(row, creds.token));
      if (maskers.size > 10_000) maskers.delete(maskers.keys().next().value!);
      return { executionId: row.id, userId: row.userId };
    },
    rulesFor: async (ctx): Promise<Rule[]> => {
      const stored = (await o.egress.rulesVisibleTo(ctx.userId)).map(toRule);
      const own: Rule[] = [];
      for (const [i, entry] of (perExecution.get(ctx.executionId) ?? []).entries()) {
        const e = parseAllowEntry(entry);
        if (e.ok) own.push({ id: `execution:${ctx.executionId}:${i}`, pattern: e.pattern, ports: e.ports, scope: { userId: ctx.userId } });
      }
      return [...stored, ...own];
    },
    blockedPorts: o.blockedPorts,
    openings: o.allowCidrs,
    deniedCidrs: o.deniedCidrs,
    serverPorts: o.serverPorts,
    ...(o.timeouts
      ? { headersTimeoutMs: o.timeouts.headersTimeoutMs, bodyIdleTimeoutMs: o.timeouts.idleTimeoutMs, keepAliveTimeoutMs: o.timeouts.keepAliveTimeoutMs }
      : {}),
    audit: (sent) => {
      // Masked before anything keeps it: the egress log, and the refusal line in the execution's own log.
      const entry = maskAuditEntry(sent, (sent.executionId !== null && maskers.get(sent.executionId)) || o.maskers.running());
      o.egress.record(entry);
      const { executionId, userId } = entry;
      if (!entry.allowed && executionId !== null && userId !== null) o.onRefused?.({ ...entry, executionId, userId });
    },
    logger: o.log,
  });
}

/**
 * A token refused, or one presented with another execution's id, as the proxy records it: against the execution
 * it was issued for when its signature vouches for that (expired, or its execution no longer running in its
 * attempt), against nobody otherwise.
 */
function proxyRefusal(check: TokenCheck, executionId: string): EgressAuthRefusal {
  if (check.ok || check.reason === 'invalid' || check.claims.exe !== executionId) return { refused: 'auth_invalid' };
  switch (check.reason) {
    case 'expired':
      return { refused: 'execution_not_running', executionId: check.claims.exe, userId: check.claims.sub };
    case 'unknown_execution':
      return { refused: 'auth_invalid' };
    case 'earlier_attempt':
    case 'ended':
      return { refused: 'execution_not_running', executionId: check.row.id, userId: check.row.userId };
  }
}

/**
 * What the client named (host, and the address it led to) with secrets masked. The proxy lowercases host names and
 * keeps an escaped excerpt (`printable`: quotes and control characters as `?`, cut at 200 characters with `…`) of a
 * host it could not parse, so secrets are looked for in those forms too, and so is a cut-off start of one.
 */
export function maskAuditEntry<E extends Pick<EgressAuditEntry, 'host' | 'address'>>(entry: E, masker: Masker): E {
  if (!masker.active) return entry;
  const m = masker.through((v) => printable(v, Number.POSITIVE_INFINITY));
  const mask = (h: string) => (h.endsWith('…') ? `${m.maskCut(h.slice(0, -1), { ignoreCase: true })}…` : m.maskIgnoringCase(h));
  return { ...entry, host: mask(entry.host), ...(entry.address ? { address: mask(entry.address) } : {}) };
}
