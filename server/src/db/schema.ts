import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { EGRESS_RULE_SCOPES, type ExecutionStatus, ISOLATION_TIERS, LANGUAGES, LOG_STREAMS, ROLES } from '../api/enums.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * A deleted user stays as a row (deletedAt set) so that their executions stay attributed to them; their name is
 * free again, hence unique among the users that are not deleted only.
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    disabledAt: ts('disabled_at'),
    deletedAt: ts('deleted_at'),
  },
  (t) => [uniqueIndex('users_name_live_idx').on(t.name).where(sql`${t.deletedAt} is null`)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull().unique(),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [index('api_keys_user_idx').on(t.userId)],
);

export type { ExecutionStatus };

/** An execution's packages as its request asked for them (executions/request.ts). */
export interface DependencyRequest {
  dependencies?: { python?: string[]; node?: string[] };
  requirements?: string;
  packageJson?: Record<string, unknown>;
}

export const executions = pgTable(
  'executions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    language: text('language', { enum: LANGUAGES }).notNull(),
    /** The runtime (python@3.13) and image it ran in; null on executions from before runtimes could be chosen. */
    runtime: text('runtime'),
    image: text('image'),
    status: text('status').$type<ExecutionStatus>().notNull(),
    script: text('script').notNull(),
    input: jsonb('input'),
    env: jsonb('env').$type<Record<string, string>>().notNull().default({}),
    timeoutMs: integer('timeout_ms').notNull(),
    memoryMb: integer('memory_mb').notNull(),
    cpus: text('cpus').notNull(),
    pids: integer('pids').notNull(),
    isolation: text('isolation', { enum: ISOLATION_TIERS }).notNull(),
    secrets: jsonb('secrets').$type<string[]>().notNull().default([]),
    secretsRead: jsonb('secrets_read').$type<string[]>().notNull().default([]),
    egressAllow: jsonb('egress_allow').$type<string[]>().notNull().default([]),
    event: jsonb('event').$type<{ id?: string; name?: string; type?: string } | null>(),
    /** The packages asked for, as the request gave them (dependencies, requirements or packageJson); null: none. */
    dependencyRequest: jsonb('dependency_request').$type<DependencyRequest | null>(),
    /** What the bundle held, exact versions; null until it is prepared. */
    installed: jsonb('installed').$type<{ name: string; version: string }[] | null>(),
    bundleKey: text('bundle_key'),
    exitCode: integer('exit_code'),
    output: jsonb('output'),
    hasOutput: boolean('has_output').notNull().default(false),
    condition: boolean('condition'),
    variablesSet: jsonb('variables_set').$type<Record<string, unknown>>().notNull().default({}),
    error: text('error'),
    usage: jsonb('usage').$type<{ cpuMs: number | null; memoryPeakBytes: number | null } | null>(),
    nodeId: text('node_id'),
    containerId: text('container_id'),
    pooled: boolean('pooled').notNull().default(false),
    tokenId: text('token_id'),
    attempt: integer('attempt').notNull().default(0),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    logsTruncated: boolean('logs_truncated').notNull().default(false),
    /** What the script left under /work/out (issue 26): how many were kept, whether any was cut or not kept. */
    artifactCount: integer('artifact_count').notNull().default(0),
    artifactsTruncated: boolean('artifacts_truncated').notNull().default(false),
    artifactsExpireAt: ts('artifacts_expire_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    deadlineAt: ts('deadline_at'),
    durationMs: integer('duration_ms'),
  },
  (t) => [
    index('executions_status_created_idx').on(t.status, t.createdAt),
    index('executions_user_created_idx').on(t.userId, t.createdAt),
    index('executions_node_status_idx').on(t.nodeId, t.status),
  ],
);

export const executionLogs = pgTable(
  'execution_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    ts: ts('ts').notNull(),
    stream: text('stream', { enum: LOG_STREAMS }).notNull(),
    /** As stored: escaped (executions/log-text.ts) when `escaped`, so that every byte the script wrote is kept. */
    text: text('text').notNull(),
    /** Goes on with the line of the previous entry of its stream (a long line cut, or let out after a pause). */
    continued: boolean('continued').notNull().default(false),
    escaped: boolean('escaped').notNull().default(false),
  },
  (t) => [index('execution_logs_exec_seq_idx').on(t.executionId, t.seq)],
);

/** Every call an execution made to the runtime API: the audit trail of what a script did. */
export const runtimeCalls = pgTable(
  'runtime_calls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    ts: ts('ts').notNull().defaultNow(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    status: integer('status').notNull(),
    detail: text('detail'),
  },
  (t) => [index('runtime_calls_exec_idx').on(t.executionId)],
);

export const variables = pgTable(
  'variables',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    updatedByExecution: text('updated_by_execution'),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
);

export const secrets = pgTable(
  'secrets',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    ciphertext: text('ciphertext').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.name] })],
);

export const nodes = pgTable('nodes', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  heartbeatAt: ts('heartbeat_at').notNull().defaultNow(),
});

export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: ts('updated_at').notNull().default(sql`now()`),
});

/** Allowlist rules of the egress proxy: global (admins) or one user's. */
export const egressRules = pgTable(
  'egress_rules',
  {
    id: text('id').primaryKey(),
    pattern: text('pattern').notNull(),
    ports: jsonb('ports').$type<number[] | null>(),
    scope: text('scope', { enum: EGRESS_RULE_SCOPES }).notNull(),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('egress_rules_user_idx').on(t.userId)],
);

/**
 * Every request a sandbox made through the egress proxy, allowed or not, with the reason. A refusal before the
 * proxy knew whose request it was (no or invalid credentials, bytes that are not HTTP) has no execution or user.
 */
export const egressLog = pgTable(
  'egress_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ts: ts('ts').notNull().defaultNow(),
    executionId: text('execution_id'),
    userId: text('user_id'),
    method: text('method').notNull(),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    allowed: boolean('allowed').notNull(),
    reason: text('reason').notNull(),
    ruleId: text('rule_id'),
    address: text('address'),
    status: integer('status'),
    bytesIn: integer('bytes_in'),
    bytesOut: integer('bytes_out'),
    durationMs: integer('duration_ms'),
  },
  (t) => [index('egress_log_exec_idx').on(t.executionId), index('egress_log_user_ts_idx').on(t.userId, t.ts)],
);

/**
 * Images an admin registered (POST /api/v1/images), built outside Cronium: users run them by name. `check` is
 * what the registration check found (the image's interpreter version and contents, from cronium-contents).
 */
export const customImages = pgTable('custom_images', {
  name: text('name').primaryKey(),
  language: text('language', { enum: LANGUAGES }).notNull(),
  image: text('image').notNull(),
  registeredBy: text('registered_by').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  check: jsonb('check').$type<{ imageId: string; version: string; contents: { name: string; version: string; source: 'debian' | 'python' | 'npm' }[] }>().notNull(),
});

/**
 * An execution's files (issue 26): what its request put into /work (`input`, and `stdin`), and what it left in
 * /work/out (`artifact`). Only metadata: the bytes are in the file store (files/store.ts) under `key`. Not
 * tied to the execution row by a foreign key: a request's files are stored before its row is queued, so the
 * engine never claims an execution whose files are not all there yet.
 */
export const executionFiles = pgTable(
  'execution_files',
  {
    executionId: text('execution_id').notNull(),
    kind: text('kind', { enum: ['input', 'stdin', 'artifact'] }).notNull(),
    /** The path under /work (input), '' (stdin), or the name under /work/out (artifact). */
    name: text('name').notNull(),
    key: text('key').notNull(),
    mode: integer('mode').notNull().default(0o644),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    contentType: text('content_type'),
    /** Request order of the inputs (the launcher writes them in this order). */
    position: integer('position').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at'),
  },
  (t) => [primaryKey({ columns: [t.executionId, t.kind, t.name] }), index('execution_files_expires_idx').on(t.expiresAt)],
);

/** A PostgreSQL large object's id (drizzle has no oid column). */
const oid = customType<{ data: number; driverData: string | number }>({
  dataType: () => 'oid',
  fromDriver: (v) => Number(v),
});

/**
 * The bytes of files in the PostgreSQL file store (files/pg-large-object-store.ts, CRONIUM_ARTIFACT_STORE=postgres):
 * each key's large object. A key being written is under a temporary key (`<key>.<random>.part`) until it is
 * complete, so a server that dies mid-write leaves a row that its execution's deletePrefix removes, never an
 * object no row names. Created in PGlite too (the same migrations), though the embedded setup keeps files on disk.
 */
export const fileObjects = pgTable(
  'file_objects',
  {
    key: text('key').primaryKey(),
    oid: oid('oid').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  // deletePrefix is `key like '<id>/%'`: text_pattern_ops lets it use an index whatever the database's collation.
  (t) => [index('file_objects_key_prefix_idx').using('btree', t.key.op('text_pattern_ops'))],
);
