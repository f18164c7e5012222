import { z } from 'zod';
import { EGRESS_RULE_SCOPES } from '../api/enums.js';
import { isoDateTime } from '../api/schemas.js';
import { MAX_PATTERN_LENGTH } from './policy.js';

const MAX_RULE_PORTS = 20;

export const ruleIdParam = z.string().describe('rule id');

export const createRuleSchema = z
  .object({
    pattern: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(MAX_PATTERN_LENGTH, `is too long: at most ${MAX_PATTERN_LENGTH} characters`)
      .describe('a host, *.example.com, an IP address or a CIDR range'),
    ports: z
      .array(z.number({ error: 'must be a port number' }).int('must be a whole number'))
      .min(1, 'must list at least one port, or be null for 80 and 443')
      .max(MAX_RULE_PORTS, `must list at most ${MAX_RULE_PORTS} ports`)
      .nullable()
      .optional()
      .describe('null or absent: 80 and 443'),
    scope: z.enum(EGRESS_RULE_SCOPES, { error: 'must be "global" or "user"' }).default('user').describe('global: admins only'),
    userId: z.string().optional().describe('another user’s rule: admins only'),
  })
  .strict();

export const egressLogQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    decision: z.enum(['allowed', 'denied']).optional(),
    executionId: z.string().optional(),
    userId: z.string().optional().describe('another user: admins only'),
  })
  .strict();

export const egressRuleSchema = z.object({
  id: z.string(),
  pattern: z.string(),
  ports: z.array(z.number().int()).nullable().describe('null: 80 and 443'),
  scope: z.enum(EGRESS_RULE_SCOPES),
  userId: z.string().nullable(),
  createdAt: isoDateTime,
});
export type EgressRule = z.infer<typeof egressRuleSchema>;

/** One request through the egress proxy, allowed or refused, with the reason. */
export const egressLogEntrySchema = z.object({
  id: z.number().int(),
  ts: isoDateTime,
  executionId: z.string().nullable(),
  userId: z.string().nullable(),
  method: z.string(),
  host: z.string(),
  port: z.number().int(),
  allowed: z.boolean(),
  reason: z.string(),
  ruleId: z.string().nullable(),
  address: z.string().nullable(),
  status: z.number().int().nullable(),
  bytesIn: z.number().int().nullable(),
  bytesOut: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
});
export type EgressLogEntry = z.infer<typeof egressLogEntrySchema>;
