import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ExecutionsRepository } from '../executions/repository.js';
import type { ExecutionClaims } from '../runtime/server.js';
import { parseAllowEntry } from './allow-entry.js';
import type { Rule } from './policy.js';
import { createEgressProxy, type EgressAuditEntry, type EgressContext, type EgressProxy, parseProxyAuthorization } from './proxy.js';
import { type EgressRepository, toRule } from './repository.js';

export interface EgressServiceOptions {
  runtimeApp: FastifyInstance;
  executions: ExecutionsRepository;
  egress: EgressRepository;
  log: FastifyBaseLogger;
  blockedPorts: number[];
  allowCidrs: string[];
  deniedCidrs: string[];
  /** Told of every refused request of an execution (after it is recorded); must not throw. */
  onRefused?: (entry: EgressAuditEntry) => void;
}

/**
 * The egress proxy wired to Cronium: a sandbox authenticates with its execution id and token, and may reach
 * global ∪ its user's ∪ its own request's hosts, nothing else.
 */
export function createEgressService(o: EgressServiceOptions): EgressProxy {
  const perExecution = new Map<string, string[]>();
  return createEgressProxy({
    authenticate: async (header): Promise<EgressContext | null> => {
      const creds = parseProxyAuthorization(header);
      if (!creds) return null;
      let claims: ExecutionClaims;
      try {
        claims = o.runtimeApp.jwt.verify<ExecutionClaims>(creds.token);
      } catch {
        return null;
      }
      if (claims.exe !== creds.executionId) return null;
      const row = await o.executions.get(claims.exe);
      // Like the runtime API: only while its own execution runs.
      if (!row || row.status !== 'running' || row.tokenId !== claims.jti || row.userId !== claims.sub) return null;
      perExecution.set(row.id, row.egressAllow);
      if (perExecution.size > 10_000) perExecution.delete(perExecution.keys().next().value!);
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
    allowCidrs: o.allowCidrs,
    deniedCidrs: o.deniedCidrs,
    audit: (entry) => {
      o.egress.record(entry);
      if (!entry.allowed) o.onRefused?.(entry);
    },
    logger: o.log,
  });
}
