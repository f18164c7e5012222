import type { FastifyInstance } from 'fastify';
import { EXECUTION_STATUSES } from '../api/enums.js';
import type { DatabaseDriver } from '../db/driver.js';
import type { SandboxFirewall } from '../egress/firewall.js';
import type { ExecutionEngine } from '../executions/engine.js';
import type { ExecutionsRepository } from '../executions/repository.js';
import type { SandboxEndpoints } from '../executions/runner.js';
import type { DriverChoice } from '../sandbox/choose-driver.js';
import type { PoolingSandboxDriver, SandboxNetworkInfo } from '../sandbox/driver.js';
import type { PoolStats } from '../sandbox/warm-pool.js';
import { counterLines, type ServerCounters } from './counters.js';

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);

/** A pool key as labels: the language, and for a dependency bundle's members a digest of its mounts (sandbox-pool.ts). */
function poolLabels(key: string): string {
  const [language, bundle] = key.split('+');
  return bundle ? `language="${language}",bundle="${bundle}"` : `language="${language}"`;
}

function poolLines(p: PoolStats | null): string[] {
  if (!p) return ['# HELP cronium_pool_size The most warm containers a language may hold (0: pool disabled).', '# TYPE cronium_pool_size gauge', 'cronium_pool_size 0'];
  const per = (name: string, help: string, type: string, v: Record<string, number>) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...Object.entries(v).map(([key, n]) => `${name}{${poolLabels(key)}} ${n}`),
  ];
  return [
    '# HELP cronium_pool_size The most warm containers a language may hold (0: pool disabled).',
    '# TYPE cronium_pool_size gauge',
    `cronium_pool_size ${p.size}`,
    ...per('cronium_pool_ready', 'Warm containers ready to take a job.', 'gauge', p.ready),
    ...per('cronium_pool_warming', 'Warm containers started whose interpreter is still loading.', 'gauge', p.warming),
    ...per('cronium_pool_starting', 'Warm containers being started.', 'gauge', p.starting),
    ...per('cronium_pool_hits_total', 'Executions that took a warm container.', 'counter', p.hits),
    ...per('cronium_pool_misses_total', 'Executions that found no warm container and started cold.', 'counter', p.misses),
    ...per('cronium_pool_start_failures_total', 'Warm containers that failed to start.', 'counter', p.failures),
    ...per('cronium_pool_target', 'Warm containers the language should hold now (ready, warming and starting), from its demand.', 'gauge', p.target),
    ...per('cronium_pool_arrival_rate', 'Estimated executions per second that ask the pool for a container.', 'gauge', p.arrivalRate),
    ...per('cronium_pool_refill_seconds', 'Estimated time from a warm container\'s creation until it is ready.', 'gauge', p.refillSeconds),
  ];
}

/** The choice as /health reports it: no implementation details (the runtime binary's path). */
const driverReport = (c: DriverChoice) => ({
  requested: c.requested,
  chosen: c.chosen,
  reason: c.reason,
  passedOver: c.passedOver.map((p) => ({ driver: p.driver, code: p.code, why: p.why })),
});

export interface HealthRoutesOptions {
  nodeId: string;
  database: DatabaseDriver;
  driver: PoolingSandboxDriver;
  /** How the driver was chosen at start. */
  driverChoice: DriverChoice;
  network: SandboxNetworkInfo;
  gvisorAvailable: boolean;
  endpoints: SandboxEndpoints;
  firewall: SandboxFirewall;
  engine: ExecutionEngine;
  executions: ExecutionsRepository;
  counters: ServerCounters;
}

export async function healthRoutes(app: FastifyInstance, deps: HealthRoutesOptions) {
  app.get('/health', { config: { public: true } }, async (_req, reply) => {
    const check = async (fn: () => Promise<unknown>) => {
      const t = Date.now();
      try {
        await fn();
        return { ok: true, latencyMs: Date.now() - t };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    };
    const [database, sandbox] = await Promise.all([check(() => deps.database.ping()), check(() => deps.driver.ping())]);
    const ok = database.ok && sandbox.ok;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'degraded',
      node: deps.nodeId,
      database: { ...database, kind: deps.database.kind },
      // The sandbox runtimes' check (the Docker engine and, with CRONIUM_SANDBOX_DRIVER=runc, runc as well):
      // `sandboxRuntime` names it for what it is; `docker` is its older name, kept for existing clients.
      sandboxRuntime: { ...sandbox, runtime: deps.driver.runtime, gvisor: deps.gvisorAvailable, driver: driverReport(deps.driverChoice) },
      docker: { ...sandbox, gvisor: deps.gvisorAvailable },
      sandboxNetwork: { name: deps.network.name, internal: deps.network.internal, subnet: deps.network.subnet, gateway: deps.network.gateway },
      runtimeApi: { url: deps.endpoints.runtimeUrl },
      egress: { proxy: `http://${deps.endpoints.proxyAddress}`, hostGuard: deps.firewall.status },
      executions: { running: deps.engine.runningCount },
      pool: deps.driver.pool.stats(),
    });
  });

  app.get('/metrics', { config: { public: true } }, async (_req, reply) => {
    const counts = await deps.executions.countByStatus();
    const durations = await deps.executions.durations();
    const sorted = durations.map((d) => d.durationMs / 1000).sort((a, b) => a - b);
    const lines = [
      '# HELP cronium_executions Executions in the database by status.',
      '# TYPE cronium_executions gauge',
      ...EXECUTION_STATUSES.map((s) => `cronium_executions{status="${s}"} ${counts[s] ?? 0}`),
      '# HELP cronium_queue_length Executions waiting to run.',
      '# TYPE cronium_queue_length gauge',
      `cronium_queue_length ${counts.queued ?? 0}`,
      '# HELP cronium_running_executions Executions running on this server.',
      '# TYPE cronium_running_executions gauge',
      `cronium_running_executions{node="${deps.nodeId}"} ${deps.engine.runningCount}`,
      '# HELP cronium_execution_duration_seconds Duration of the last 1000 finished executions.',
      '# TYPE cronium_execution_duration_seconds summary',
      ...[0.5, 0.9, 0.95, 0.99].map((q) => `cronium_execution_duration_seconds{quantile="${q}"} ${quantile(sorted, q)}`),
      `cronium_execution_duration_seconds_sum ${sorted.reduce((a, b) => a + b, 0)}`,
      `cronium_execution_duration_seconds_count ${sorted.length}`,
      ...poolLines(deps.driver.pool.stats()),
      ...counterLines(deps.counters),
      '',
    ];
    return reply.type('text/plain; version=0.0.4').send(lines.join('\n'));
  });
}
