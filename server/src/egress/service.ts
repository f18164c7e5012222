import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ExecutionMaskers } from '../executions/maskers.js';
import type { Masker } from '../executions/masking.js';
import type { ExecutionsRepository } from '../executions/repository.js';
import type { ExecutionClaims } from '../runtime/server.js';
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
  runtimeApp: FastifyInstance;
  executions: ExecutionsRepository;
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
      let claims: ExecutionClaims;
      try {
        claims = o.runtimeApp.jwt.verify<ExecutionClaims>(creds.token);
      } catch {
        // An expired token still proves which execution it was issued for (its signature is checked): the refusal
        // is recorded against that execution. Anything else names nobody we could trust.
        try {
          const stale = o.runtimeApp.jwt.verify<ExecutionClaims>(creds.token, { ignoreExpiration: true });
          if (stale.exe === creds.executionId) return { refused: 'execution_not_running', executionId: stale.exe, userId: stale.sub };
        } catch {
          /* not ours */
        }
        return { refused: 'auth_invalid' };
      }
      if (claims.exe !== creds.executionId) return { refused: 'auth_invalid' };
      const row = await o.executions.get(claims.exe);
      if (!row || row.userId !== claims.sub) return { refused: 'auth_invalid' };
      // Like the runtime API: only while its own execution runs, with the token of its current attempt.
      if (row.status !== 'running' || row.tokenId !== claims.jti) return { refused: 'execution_not_running', executionId: row.id, userId: row.userId };
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
