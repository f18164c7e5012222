import { z } from 'zod';
import { EXECUTION_STATUSES, ISOLATION_TIERS, LANGUAGES, LOG_STREAMS } from '../api/enums.js';
import { isoDateTime } from '../api/schemas.js';
import { limitsSchema } from '../settings/schemas.js';

/** What the executions routes answer with (serialize.ts builds them); the dashboard's types come from here. */

export const executionIdParam = z.uuid().describe('execution id');

const nullableTime = isoDateTime.nullable();

export const executionSchema = z.object({
  id: z.uuid(),
  status: z.enum(EXECUTION_STATUSES),
  language: z.enum(LANGUAGES),
  runtime: z.string().nullable().describe('the runtime it ran in, e.g. "python@3.13" (null: from before runtimes could be chosen)'),
  image: z.string().nullable().describe('the image it ran in'),
  userId: z.string(),
  isolation: z.enum(ISOLATION_TIERS),
  exitCode: z.number().int().nullable(),
  output: z.unknown().describe('what the script set with setOutput, or null'),
  condition: z.boolean().nullable(),
  variables: z.record(z.string(), z.unknown()).describe('variables the script set'),
  secretsGranted: z.array(z.string()),
  secretsRead: z.array(z.string()),
  error: z.string().nullable(),
  usage: z.object({ cpuMs: z.number().int().nullable(), memoryPeakBytes: z.number().int().nullable() }).nullable(),
  limits: limitsSchema.describe('the limits applied: the requested ones lowered to the server maxima'),
  egress: z.object({ allow: z.array(z.string()) }),
  event: z.object({ id: z.string().optional(), name: z.string().optional(), type: z.string().optional() }).nullable(),
  attempt: z.number().int(),
  nodeId: z.string().nullable(),
  containerId: z.string().nullable(),
  pooled: z.boolean(),
  installed: z
    .array(z.object({ name: z.string(), version: z.string() }))
    .nullable()
    .describe('the packages in the execution’s dependency bundle, exact versions; null without dependencies or before they are installed'),
  logsTruncated: z.boolean(),
  artifactCount: z.number().int().describe('the files kept from what the script left under /work/out (GET /api/v1/executions/{id}/artifacts)'),
  artifactsTruncated: z.boolean().describe('an artifact was cut or not kept (a limit, or the sandbox ended while they were collected): the log says which'),
  artifactsExpireAt: nullableTime.describe('when the artifacts are removed (the artifactRetentionDays setting); null without artifacts'),
  durationMs: z.number().int().nullable(),
  createdAt: isoDateTime,
  startedAt: nullableTime,
  finishedAt: nullableTime,
  deadlineAt: nullableTime,
});
export type Execution = z.infer<typeof executionSchema>;

/** Why a queued execution waits (queue-standing.ts). */
export const queueStandingSchema = z.object({
  reason: z.enum(['user_concurrency', 'server_concurrency']),
  position: z.number().int().describe('among its user’s own queued executions, from 1 (the next to start)'),
  queuedTotal: z.number().int(),
  userRunning: z.number().int(),
  userLimit: z.number().int(),
  message: z.string(),
});
export type QueueStanding = z.infer<typeof queueStandingSchema>;

/** One execution as GET /api/v1/executions/:id shows it: with its script, input and environment names. */
export const executionDetailSchema = executionSchema.extend({
  script: z.string(),
  input: z.unknown().describe('what getInput() returns, or null'),
  env: z.array(z.string()).describe('the names, never the values'),
  dependencies: z
    .object({
      dependencies: z.object({ python: z.array(z.string()).optional(), node: z.array(z.string()).optional() }).optional(),
      requirements: z.string().optional(),
      packageJson: z.record(z.string(), z.unknown()).optional(),
    })
    .nullable()
    .describe('the packages asked for, as the request gave them'),
  queue: queueStandingSchema.optional().describe('a queued execution only: why it waits'),
});
export type ExecutionDetail = z.infer<typeof executionDetailSchema>;

/** 202 to a submission (status `queued`) or a cancel (status `cancelling`). */
export const acceptedSchema = z.object({ id: z.uuid(), status: z.string() });

export const executionPageSchema = z.object({
  items: z.array(executionSchema),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
});
export type ExecutionPage = z.infer<typeof executionPageSchema>;

export const logEntrySchema = z.object({
  seq: z.number().int(),
  ts: isoDateTime,
  stream: z.enum(LOG_STREAMS),
  text: z.string(),
  continued: z.boolean().describe('goes on with the line of its stream’s previous entry, with no newline between them'),
  escaped: z.boolean().describe('text holds escapes (\\\\, \\xHH) for bytes that are not text; reversing them gives back the exact bytes'),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

export const logsSchema = z.object({ entries: z.array(logEntrySchema), truncated: z.boolean() });

export const runtimeCallSchema = z.object({
  ts: isoDateTime,
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  detail: z.string().nullable(),
});
export type RuntimeCall = z.infer<typeof runtimeCallSchema>;

export const statsSchema = z.object({
  scope: z.enum(['mine', 'all']),
  hours: z.number().int(),
  running: z.number().int(),
  queued: z.number().int(),
  total: z.number().int(),
  byStatus: z.partialRecord(z.enum(EXECUTION_STATUSES), z.number().int()),
  successRate: z.number().nullable(),
  timedOut: z.number().int(),
  oomKilled: z.number().int(),
  p50DurationMs: z.number().int().nullable(),
  p95DurationMs: z.number().int().nullable(),
  perHour: z.array(z.object({ hour: isoDateTime, total: z.number().int() }).catchall(z.number().int()).describe('and a count per status that occurred')),
});
export type Stats = z.infer<typeof statsSchema>;
