import { z } from 'zod';
import { DRIVER_NAMES, DRIVER_REQUESTS, PASS_OVER_CODES } from '../sandbox/choose-driver.js';

const check = z.object({
  ok: z.boolean(),
  latencyMs: z.number().int().optional().describe('when ok'),
  error: z.string().optional().describe('when not ok'),
});
const driverName = z.enum(DRIVER_NAMES);
const driverChoice = z
  .object({
    requested: z.enum(DRIVER_REQUESTS).describe('CRONIUM_SANDBOX_DRIVER'),
    chosen: driverName.describe('crun and runc are the runc driver with that OCI runtime'),
    reason: z.string(),
    passedOver: z
      .array(
        z.object({
          driver: driverName,
          code: z.enum(PASS_OVER_CODES),
          why: z.string(),
        }),
      )
      .describe('faster drivers auto could not use on this host, and why; empty unless auto fell back'),
  })
  .describe('which driver runs standard sandboxes, chosen once at start');
const perLanguage = z.record(z.string(), z.number().int());

/** GET /health: 200 when the database and the sandbox runtime answer, 503 (the same body) otherwise. */
export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  node: z.string(),
  database: check.extend({ kind: z.string() }),
  sandboxRuntime: check
    .extend({ runtime: z.enum(['docker', 'runc']), gvisor: z.boolean(), driver: driverChoice })
    .describe('the sandbox runtime (the Docker engine, and runc/crun with the runc driver), which one runs standard sandboxes, how it was chosen, and whether gVisor is installed'),
  docker: check.extend({ gvisor: z.boolean() }).describe('the older name of sandboxRuntime (without runtime), kept for existing clients'),
  sandboxNetwork: z.object({ name: z.string(), internal: z.boolean(), subnet: z.string().nullable(), gateway: z.string().nullable() }),
  runtimeApi: z.object({ url: z.string() }),
  egress: z.object({
    proxy: z.string(),
    hostGuard: z.union([
      z.object({ mode: z.literal('iptables'), installed: z.literal(true), bridge: z.string(), chain: z.string(), allowedPorts: z.array(z.number().int()) }),
      z.object({ mode: z.literal('external'), installed: z.literal(true), reason: z.string() }),
      z.object({ mode: z.enum(['off', 'unavailable']), installed: z.literal(false), reason: z.string() }),
    ]),
  }),
  executions: z.object({ running: z.number().int() }),
  pool: z
    .object({
      size: z.number().int().describe('the most sandboxes a language may hold (CRONIUM_POOL_MAX, or the fixed CRONIUM_POOL_SIZE)'),
      min: z.number().int().describe('the fewest a language holds (CRONIUM_POOL_MIN, or the fixed CRONIUM_POOL_SIZE)'),
      memoryMb: z.number().int().describe('the budget for the estimated memory of all idle pooled sandboxes together, in MiB; the minimums are kept even beyond it (CRONIUM_POOL_MEMORY_MB)'),
      refillAt: z.enum(['claim', 'end']).describe("when a taken sandbox's replacement starts (CRONIUM_POOL_REFILL)"),
      target: perLanguage.describe('sandboxes the language should hold now (ready, warming and starting), from its demand'),
      ready: perLanguage,
      warming: perLanguage,
      starting: perLanguage,
      hits: perLanguage,
      misses: perLanguage,
      failures: perLanguage,
      arrivalRate: z.record(z.string(), z.number()).describe('estimated executions per second that ask the pool for a sandbox'),
      refillSeconds: z.record(z.string(), z.number()).describe("estimated time from a sandbox's creation until it is ready (an assumed 1 s until measured)"),
    })
    .nullable()
    .describe('the warm pool per language; null when it is off'),
});
export type Health = z.infer<typeof healthSchema>;

/** GET /: what this server is and where its API, OpenAPI document and health are. */
export const serviceInfoSchema = z.object({ name: z.string(), api: z.string(), openapi: z.string(), health: z.string(), version: z.string() });
