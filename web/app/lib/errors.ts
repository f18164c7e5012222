import type { ApiErrorBody } from './types';

export type FieldErrors = Record<string, string>;

/** What an action hands back to its form: errors next to fields, or one message above the form. */
export interface FormFailure {
  fieldErrors: FieldErrors;
  formError: string | null;
}

/**
 * The API prefixes field messages with the field ("timeoutMs: must be positive"); next to the field the prefix
 * is noise, so it goes.
 */
export function fieldMessage(err: ApiErrorBody): string {
  const msg = err.message ?? '';
  if (err.field && msg.startsWith(`${err.field}: `)) return msg.slice(err.field.length + 2);
  return msg;
}

/**
 * Finds the form field that an API error's `field` belongs to. `map` goes from API field paths to form field
 * names; a path that is not in the map is looked up by its dotted prefixes, so `env.FOO` finds `env` and
 * `egress.allow.3` finds `egress.allow`. Returns null when the error belongs to no field of this form.
 */
export function formFieldFor(apiField: string | undefined, map: Record<string, string>): string | null {
  if (!apiField) return null;
  const parts = apiField.split('.');
  for (let n = parts.length; n > 0; n--) {
    const key = parts.slice(0, n).join('.');
    if (Object.hasOwn(map, key)) return map[key]!;
  }
  return null;
}

/** Turns an API error into what the form shows: the message next to its field when there is one, else above the form. */
export function apiErrorToForm(err: ApiErrorBody, map: Record<string, string>): FormFailure {
  const field = formFieldFor(err.field, map);
  if (field) return { fieldErrors: { [field]: fieldMessage(err) }, formError: null };
  return { fieldErrors: {}, formError: err.message || `the API answered ${err.code}` };
}

/** API fields of POST /api/v1/executions → fields of the Run form. */
export const RUN_FIELDS: Record<string, string> = {
  language: 'language',
  script: 'script',
  input: 'input',
  env: 'env',
  timeoutMs: 'timeout',
  resources: 'memoryMb',
  'resources.memoryMb': 'memoryMb',
  'resources.cpus': 'cpus',
  'resources.pids': 'pids',
  isolation: 'isolation',
  secrets: 'secrets',
  egress: 'egress',
  'egress.allow': 'egress',
  runtime: 'runtime',
  image: 'runtime',
  dependencies: 'packages',
  requirements: 'packages',
  packageJson: 'packages',
  stdin: 'stdin',
  stdinBase64: 'stdin',
  files: 'files',
};

/** PATCH /api/v1/settings: the form uses the API's own dotted names, except the timeouts, typed in seconds. */
export const SETTINGS_FIELDS: Record<string, string> = {
  ...Object.fromEntries(
    [
      'executionPolicy',
      'defaultIsolation',
      'allowIsolationChoice',
      'allowExecutionEgressRules',
      'maxConcurrency',
      'maxConcurrencyPerUser',
      'maxQueue',
      'maxQueuedPerUser',
      ...['defaultLimits', 'maxLimits'].flatMap((g) => ['memoryMb', 'cpus', 'pids'].map((k) => `${g}.${k}`)),
    ].map((f) => [f, f]),
  ),
  'defaultLimits.timeoutMs': 'defaultLimits.timeout',
  'maxLimits.timeoutMs': 'maxLimits.timeout',
};

/**
 * The API speaks of timeouts in milliseconds ("must not exceed maxLimits.timeoutMs (900000)"); the forms take
 * seconds, so its messages are told in seconds too.
 */
export function inSeconds(message: string): string {
  return message.replace(/\b(?:defaultLimits|maxLimits)\.timeoutMs \((\d+)\)/g, (_, ms: string) => `the maximum timeout (${Number(ms) / 1000} s)`);
}

export const EGRESS_RULE_FIELDS: Record<string, string> = { pattern: 'pattern', ports: 'ports', scope: 'scope' };
export const SECRET_FIELDS: Record<string, string> = { name: 'name', value: 'value', body: 'value' };
export const VARIABLE_FIELDS: Record<string, string> = { key: 'key', value: 'value', body: 'value' };
export const USER_FIELDS: Record<string, string> = { name: 'name', role: 'role' };
export const KEY_FIELDS: Record<string, string> = { name: 'keyName' };
