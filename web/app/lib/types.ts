/** The shapes of the Cronium Sandbox REST API that the dashboard reads. */

export type Role = 'admin' | 'user';
export type Language = 'bash' | 'python' | 'node';
export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'oom_killed' | 'error';

export const LANGUAGES: readonly Language[] = ['python', 'node', 'bash'];
export const STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'oom_killed', 'error'];
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(['queued', 'running']);

export const LANGUAGE_LABELS: Record<Language, string> = { bash: 'Bash', python: 'Python', node: 'Node.js' };
export const STATUS_LABELS: Record<ExecutionStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
  oom_killed: 'OOM killed',
  error: 'Error',
};

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

export interface Me {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
}

export interface Limits {
  timeoutMs: number;
  memoryMb: number;
  cpus: number;
  pids: number;
}

export interface ExecutionSummary {
  id: string;
  status: ExecutionStatus;
  language: Language;
  userId: string;
  isolation: string;
  exitCode: number | null;
  output: unknown;
  condition: boolean | null;
  variables: Record<string, unknown> | null;
  secretsGranted: string[];
  secretsRead: string[] | null;
  error: string | null;
  usage: { cpuMs?: number; memoryPeakBytes?: number } | null;
  limits: Limits;
  egress: { allow: string[] };
  event: { id?: string; name?: string; type?: string } | null;
  attempt: number;
  nodeId: string | null;
  logsTruncated: boolean;
  durationMs: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  deadlineAt: string | null;
}

export interface Execution extends ExecutionSummary {
  script: string;
  input: unknown;
  env: string[];
  /** Only while queued: why it waits (server/src/executions/queue-standing.ts). */
  queue?: { reason: 'user_concurrency' | 'server_concurrency'; position: number; queuedTotal: number; userRunning: number; userLimit: number; message: string };
}

export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogEntry {
  seq: number;
  ts: string;
  stream: LogStream;
  text: string;
  /** The text holds \xHH escapes for bytes that were not text: shown as it is. */
  escaped?: boolean;
  /** The rest of a line the server cut because it was too long: joined to the entry before it. */
  continued?: boolean;
}

export interface RuntimeCall {
  ts: string;
  method: string;
  path: string;
  status: number;
  detail: string | null;
}

export interface Stats {
  scope: 'all' | 'mine';
  hours: number;
  running: number;
  queued: number;
  total: number;
  byStatus: Record<string, number>;
  successRate: number | null;
  timedOut: number;
  oomKilled: number;
  p50DurationMs: number | null;
  p95DurationMs: number | null;
  perHour: ({ hour: string; total: number } & Record<string, number | string>)[];
}

export interface Variable {
  key: string;
  value: unknown;
  updatedAt: string;
  updatedByExecution: string | null;
}

export interface Secret {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface User {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  /** A disabled user's keys do not work (PATCH /api/v1/users/:id). */
  disabled?: boolean;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export type ExecutionPolicy = 'disabled' | 'admin_only' | 'all_users';

export interface Settings {
  executionPolicy: ExecutionPolicy;
  defaultIsolation: 'standard' | 'gvisor';
  allowIsolationChoice: boolean;
  allowExecutionEgressRules: boolean;
  maxConcurrency: number;
  maxConcurrencyPerUser: number;
  maxQueue: number;
  /** Newer servers: how many executions one user may have waiting. */
  maxQueuedPerUser?: number;
  defaultLimits: Limits;
  maxLimits: Limits;
  gvisorAvailable: boolean;
}

export interface EgressRule {
  id: string;
  pattern: string;
  ports: number[] | null;
  scope: 'global' | 'user';
  userId: string | null;
  createdAt: string;
}

export interface EgressLogEntry {
  ts: string;
  executionId: string | null;
  userId: string | null;
  method: string;
  host: string;
  port: number | null;
  allowed: boolean;
  reason: string | null;
  ruleId: string | null;
  address: string | null;
}

export interface CreateExecutionBody {
  language: Language;
  script: string;
  input?: unknown;
  env?: Record<string, string>;
  timeoutMs?: number;
  resources?: { memoryMb?: number; cpus?: number; pids?: number };
  isolation?: 'standard' | 'gvisor';
  secrets?: string[];
  egress?: { allow: string[] };
}

export function isLanguage(v: unknown): v is Language {
  return v === 'bash' || v === 'python' || v === 'node';
}

export function isStatus(v: unknown): v is ExecutionStatus {
  return typeof v === 'string' && (STATUSES as readonly string[]).includes(v);
}
