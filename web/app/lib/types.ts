/**
 * The shapes of the Cronium Sandbox REST API that the dashboard reads, taken from the server's schemas (type-only
 * imports: erased from the bundle). The enumerations are the server's own lists (server/src/api/enums.ts, plain
 * constants with no imports); the labels and display orders are the dashboard's.
 */

import {
  ACTIVE_STATUSES as SERVER_ACTIVE_STATUSES,
  EXECUTION_POLICIES,
  EXECUTION_STATUSES,
  type ExecutionPolicy,
  type ExecutionStatus,
  ISOLATION_TIERS,
  ROLES,
  type Isolation,
  LANGUAGES as SERVER_LANGUAGES,
  type Language,
  type LogStream,
  type Role,
} from '../../../server/src/api/enums';
import type { ExecutionDetail, Execution as ExecutionListItem } from '../../../server/src/executions/response';
import type { CreateExecutionRequest } from '../../../server/src/executions/request';
import type { SettingsPatch as ServerSettingsPatch, SettingsResponse } from '../../../server/src/settings/schemas';
import type { User as ApiUser } from '../../../server/src/users/schemas';

export type { ExecutionPolicy, ExecutionStatus, Isolation, Language, LogStream, Role };
export type { ApiErrorBody } from '../../../server/src/api/schemas';
import type { EgressLogEntry as ApiEgressLogEntry } from '../../../server/src/egress/schemas';
import type { LogEntry as ApiLogEntry } from '../../../server/src/executions/response';
export type { EgressRule } from '../../../server/src/egress/schemas';
export type { RuntimeCall, Stats } from '../../../server/src/executions/response';
export type { Limits } from '../../../server/src/settings/schemas';
export type { Runtime } from '../../../server/src/runtimes/schemas';
export type { Secret } from '../../../server/src/secrets/schemas';
export type { ApiKey } from '../../../server/src/users/schemas';
export type { Variable } from '../../../server/src/variables/schemas';
export type { Artifact, ArtifactList } from '../../../server/src/files/schemas';

/** An execution as listed (GET /api/v1/executions). */
export type ExecutionSummary = ExecutionListItem;
/** One execution with its script, input and environment names; `queue` only while queued. */
export type Execution = ExecutionDetail;
export type User = ApiUser;
/** GET /api/v1/me: the caller. */
export type Me = ApiUser;
export type Settings = SettingsResponse;
/** The body of POST /api/v1/executions as the Run form sends it. */
export type CreateExecutionBody = Omit<CreateExecutionRequest, 'event' | 'wait'>;
export type SettingsPatch = ServerSettingsPatch;
/** A log entry as the dashboard keeps it (lib/logs.ts): the `continued` and `escaped` flags only when true. */
export type LogEntry = Omit<ApiLogEntry, 'continued' | 'escaped'> & Partial<Pick<ApiLogEntry, 'continued' | 'escaped'>>;
/** The fields of an egress log entry the dashboard reads. */
export type EgressLogEntry = Pick<ApiEgressLogEntry, 'ts' | 'executionId' | 'userId' | 'method' | 'host' | 'port' | 'allowed' | 'reason' | 'ruleId' | 'address'>;

/** Every member of `T`, in an order of our choosing: a member added on the server and left out here fails the typecheck. */
export const inOrder =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })) =>
    list;

/** The order of the Run form's and the filters' language choices. */
export const LANGUAGES = inOrder<Language>()(['python', 'node', 'bash'] as const);
export const STATUSES: readonly ExecutionStatus[] = EXECUTION_STATUSES;
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(SERVER_ACTIVE_STATUSES);

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

const oneOf =
  <T extends string>(list: readonly T[]) =>
  (v: unknown): v is T =>
    typeof v === 'string' && (list as readonly string[]).includes(v);

export const isLanguage = oneOf(SERVER_LANGUAGES);
export const isStatus = oneOf(EXECUTION_STATUSES);
export const isIsolation = oneOf(ISOLATION_TIERS);
export const isExecutionPolicy = oneOf(EXECUTION_POLICIES);
export const isRole = oneOf(ROLES);
