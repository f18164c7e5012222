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
