import { z } from 'zod';
import { EXECUTION_POLICIES, ISOLATION_TIERS } from '../api/enums.js';
import { packagePolicySchema } from '../dependencies/policy.js';
import { MIN_LIMITS } from '../sandbox/limit-minimums.js';

/** An execution's limits: the defaults and maxima in the settings, the applied ones on an execution. */
export const limitsSchema = z.object({
  timeoutMs: z.number().int().min(100),
  memoryMb: z.number().int().min(MIN_LIMITS.memoryMb),
  cpus: z.number().min(MIN_LIMITS.cpus, `must be at least ${MIN_LIMITS.cpus}: the smallest CPU share the runtime can apply`).max(64),
  pids: z.number().int().min(MIN_LIMITS.pids),
});
export type Limits = z.infer<typeof limitsSchema>;

export const settingsSchema = z.object({
  executionPolicy: z.enum(EXECUTION_POLICIES),
  defaultIsolation: z.enum(ISOLATION_TIERS),
  allowIsolationChoice: z.boolean(),
  allowExecutionEgressRules: z.boolean(),
  maxConcurrency: z.number().int().min(1).max(1000),
  maxConcurrencyPerUser: z.number().int().min(1).max(1000),
  maxQueue: z.number().int().min(1),
  maxQueuedPerUser: z.number().int().min(1),
  defaultLimits: limitsSchema,
  maxLimits: limitsSchema,
  /** Which third-party packages executions may install (dependencies/policy.ts); a PATCH replaces it whole. */
  packagePolicy: packagePolicySchema,
  /** How long an execution's artifacts are kept after it ends (files/artifact-cleanup.ts removes them after). */
  artifactRetentionDays: z.number().int().min(1).max(3650),
});
export type Settings = z.infer<typeof settingsSchema>;

/** `null` for a per-user limit returns it to its default, derived from the server-wide one (settings/derived.ts). */
export const settingsPatchSchema = settingsSchema
  .extend({
    defaultLimits: limitsSchema.partial(),
    maxLimits: limitsSchema.partial(),
    maxConcurrencyPerUser: settingsSchema.shape.maxConcurrencyPerUser.nullable().describe('null: follow maxConcurrency (half of it, at least 1)'),
    maxQueuedPerUser: settingsSchema.shape.maxQueuedPerUser.nullable().describe('null: follow maxQueue (a quarter of it, rounded up)'),
  })
  .partial()
  .strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

/** What GET and PATCH /api/v1/settings answer: the settings, and whether gVisor can be chosen. */
export const settingsResponseSchema = settingsSchema.extend({ gvisorAvailable: z.boolean().describe('read only: runsc is installed') });
export type SettingsResponse = z.infer<typeof settingsResponseSchema>;
