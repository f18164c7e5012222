import { z } from 'zod';
import { MIN_LIMITS } from '../sandbox/limit-minimums.js';
import { storableJson, storableString } from '../validation.js';

const envKey = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the platform sets itself; a request may not override them. */
const reservedEnv = /^(CRONIUM_|HTTP_PROXY$|HTTPS_PROXY$|NO_PROXY$|http_proxy$|https_proxy$|no_proxy$|PATH$|HOME$)/;
export const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must start with a letter or underscore and contain only letters, digits, _ . -');

export const createExecutionSchema = z
  .object({
    language: z.enum(['bash', 'python', 'node'], { error: 'must be one of "bash", "python", "node"' }),
    script: storableString().min(1, 'must not be empty'),
    input: storableJson.optional(),
    env: z
      .record(
        z.string().regex(envKey, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*').refine((k) => !reservedEnv.test(k), {
          message: 'this environment variable is set by Cronium and cannot be overridden',
        }),
        storableString('environment values must be strings'),
      )
      .optional(),
    timeoutMs: z.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive').optional(),
    resources: z
      .object({
        memoryMb: z.number().int('must be an integer').min(MIN_LIMITS.memoryMb, `must be at least ${MIN_LIMITS.memoryMb}`).optional(),
        cpus: z
          .number({ error: 'must be a number' })
          .min(MIN_LIMITS.cpus, `must be at least ${MIN_LIMITS.cpus}: the smallest CPU share the runtime can apply (1 ms per 100 ms)`)
          .optional(),
        pids: z.number().int('must be an integer').min(MIN_LIMITS.pids, `must be at least ${MIN_LIMITS.pids}`).optional(),
      })
      .strict()
      .optional(),
    isolation: z.enum(['standard', 'gvisor'], { error: 'must be "standard" or "gvisor"' }).optional(),
    secrets: z.array(secretName).max(50).optional(),
    egress: z.object({ allow: z.array(z.string().min(1)).max(100) }).strict().optional(),
    event: z
      .object({ id: storableString().max(200).optional(), name: storableString().max(500).optional(), type: storableString().max(100).optional() })
      .strict()
      .optional(),
    wait: z.boolean({ error: 'must be a boolean' }).optional(),
  })
  .strict();

export type CreateExecutionRequest = z.infer<typeof createExecutionSchema>;

export const listExecutionsQuery = z
  .object({
    status: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(z.enum(['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'oom_killed', 'error'])))
      .optional(),
    language: z.enum(['bash', 'python', 'node']).optional(),
    userId: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional(),
  })
  .strict();

export const statsQuery = z
  .object({
    hours: z.coerce.number().int().min(1).max(24 * 30).default(24),
    scope: z.enum(['mine', 'all']).default('all'),
  })
  .strict();
