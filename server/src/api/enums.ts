// The API's enumerations, defined once: the server's schemas, the database's column types, the OpenAPI document
// and the dashboard all take them from here.

export const EXECUTION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'oom_killed', 'error'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses of an execution that has not ended yet. */
export const ACTIVE_STATUSES = ['queued', 'running'] as const satisfies readonly ExecutionStatus[];

export const LANGUAGES = ['bash', 'python', 'node'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Isolation tiers: `standard` is the runc/crun or Docker runtime, `gvisor` runs the sandbox under runsc. */
export const ISOLATION_TIERS = ['standard', 'gvisor'] as const;
export type Isolation = (typeof ISOLATION_TIERS)[number];

export const ROLES = ['admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Where a log entry came from: the script's two streams, or the platform itself. */
export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** Who may run executions (a setting): nobody, admins only, or every user. */
export const EXECUTION_POLICIES = ['disabled', 'admin_only', 'all_users'] as const;
export type ExecutionPolicy = (typeof EXECUTION_POLICIES)[number];

/** An egress rule applies to every sandbox (global, set by admins) or to one user's. */
export const EGRESS_RULE_SCOPES = ['global', 'user'] as const;
