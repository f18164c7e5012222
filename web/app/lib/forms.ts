/**
 * Form parsing and validation for the actions: pure functions from FormData to the API's request bodies, with a
 * message per field. The server validates again; these catch the obvious mistakes before a round trip and give
 * messages in the form's own terms (seconds, one host per line…).
 */
import type { FieldErrors } from './errors';
import { type CreateExecutionBody, type Language, type Role, type SettingsPatch, isExecutionPolicy, isIsolation, isLanguage, isRole } from './types';

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

type FormLike = Pick<FormData, 'get' | 'getAll'>;

/** A form value as a trimmed string ('' when missing or a file). */
export function str(form: FormLike, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v.trim() : '';
}

/** A form value exactly as typed (scripts keep their whitespace). */
export function raw(form: FormLike, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

export function checkbox(form: FormLike, name: string): boolean {
  const v = form.get(name);
  return v === 'on' || v === 'true' || v === '1';
}

export type JsonResult = { ok: true; value: unknown; empty: boolean } | { ok: false; error: string };

/** Parses JSON typed into a form; the message names the line and column when JSON.parse gives a position. */
export function parseJson(text: string): JsonResult {
  if (!text.trim()) return { ok: true, value: undefined, empty: true };
  try {
    return { ok: true, value: JSON.parse(text), empty: false };
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    if (pos) {
      const at = Number(pos[1]);
      const before = text.slice(0, at).split('\n');
      return { ok: false, error: `not valid JSON (line ${before.length}, column ${before[before.length - 1]!.length + 1})` };
    }
    return { ok: false, error: 'not valid JSON' };
  }
}

export type NumberResult = { ok: true; value: number | undefined } | { ok: false; error: string };

/** An optional number field: '' is undefined; otherwise a finite number within [min, max], an integer if asked. */
export function parseNumber(text: string, opts: { integer?: boolean; min?: number; max?: number } = {}): NumberResult {
  const t = text.trim();
  if (!t) return { ok: true, value: undefined };
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return { ok: false, error: 'enter a number' };
  const n = Number(t);
  if (!Number.isFinite(n)) return { ok: false, error: 'enter a number' };
  if (opts.integer && !Number.isInteger(n)) return { ok: false, error: 'enter a whole number' };
  if (opts.min !== undefined && n < opts.min) return { ok: false, error: `must be at least ${opts.min}` };
  if (opts.max !== undefined && n > opts.max) return { ok: false, error: `must be at most ${opts.max}` };
  return { ok: true, value: n };
}

/** Items typed one per line or separated by commas: trimmed, without blanks and duplicates, in order. */
export function parseList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\n,]/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * Checks an egress host or pattern as typed: `example.com`, `*.example.com`, `api.example.com:443`, an IPv4
 * address, a bracketed or bare IPv6 address or a CIDR range. Returns a message, or null when it looks right.
 * The server has the last word (it knows its own pattern rules); this catches URLs and typos.
 */
export function hostPatternProblem(p: string): string | null {
  if (!p) return 'enter a host name';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return 'enter a host name, not a URL (leave out http:// or https://)';
  if (/[\s/?#@]/.test(p) && !/^[0-9a-f:.]+\/\d{1,3}$/i.test(p)) return 'enter a host name only, without spaces, paths or credentials';
  if (p.length > 253) return 'is too long for a host name';
  let host = p;
  // host:port (not for IPv6)
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(p);
  if (withPort) {
    const port = Number(withPort[2]);
    if (port < 1 || port > 65535) return 'the port must be between 1 and 65535';
    host = withPort[1]!;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.includes(':')) return /^[0-9a-f:.]+(\/\d{1,3})?$/i.test(host) ? null : 'is not a valid IPv6 address';
  if (/^[\d.]+(\/\d{1,2})?$/.test(host)) {
    const [addr, bits] = host.split('/');
    const octets = addr!.split('.');
    if (octets.length !== 4 || octets.some((o) => o === '' || Number(o) > 255)) return 'is not a valid IPv4 address';
    if (bits !== undefined && Number(bits) > 32) return 'the prefix length must be at most 32';
    return null;
  }
  const labels = host.split('.');
  const [first, ...rest] = labels;
  if (first === '*' && rest.length === 0) return 'a lone * would allow every host; name a domain, like *.example.com';
  for (const label of first === '*' ? rest : labels) {
    if (!HOST_LABEL.test(label)) return label.includes('*') ? 'a * may only stand as the whole first label, like *.example.com' : 'is not a valid host name';
  }
  return null;
}

/** Ports typed as "443, 8443": each 1..65535; empty means the API's default, 80 and 443 only. */
export function parsePorts(text: string): { ok: true; value: number[] | undefined } | { ok: false; error: string } {
  const items = parseList(text);
  if (!items.length) return { ok: true, value: undefined };
  const ports: number[] = [];
  for (const item of items) {
    if (!/^\d{1,5}$/.test(item) || Number(item) < 1 || Number(item) > 65535) return { ok: false, error: `"${item}" is not a port between 1 and 65535` };
    ports.push(Number(item));
  }
  return { ok: true, value: [...new Set(ports)] };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment variables typed as KEY=value lines (blank lines and # comments ignored). */
export function parseEnv(text: string): { ok: true; value: Record<string, string> | undefined } | { ok: false; error: string } {
  const env: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) return { ok: false, error: `line ${i + 1}: write NAME=value` };
    const name = line.slice(0, eq).trim();
    if (!ENV_NAME.test(name)) return { ok: false, error: `line ${i + 1}: "${name}" is not a valid variable name` };
    env[name] = line.slice(eq + 1);
  }
  return { ok: true, value: Object.keys(env).length ? env : undefined };
}

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
export const VARIABLE_KEY = /^[A-Za-z0-9_.:-]{1,200}$/;

/** Beyond any sensible timeout (a year), so that the milliseconds stay an exact integer. */
const MAX_SECONDS = 365 * 24 * 3600;

/** The Run form → POST /api/v1/executions. Field names: language, script, input, timeout (seconds), memoryMb, cpus, pids, isolation, egress, secrets, env. */
export function parseRunForm(form: FormLike): Parsed<CreateExecutionBody> {
  const errors: FieldErrors = {};
  const language = str(form, 'language');
  if (!isLanguage(language)) errors.language = 'choose Bash, Python or Node.js';
  const script = raw(form, 'script').replace(/\r\n/g, '\n');
  if (!script.trim()) errors.script = 'write a script to run';

  const body: CreateExecutionBody = { language: language as Language, script };
  const input = parseJson(raw(form, 'input'));
  if (!input.ok) errors.input = input.error;
  else if (!input.empty) body.input = input.value;

  // No maximum here: the server lowers a longer timeout to its own maximum, which the form shows when it may.
  const timeout = parseNumber(str(form, 'timeout'), { min: 0.1, max: MAX_SECONDS });
  if (!timeout.ok) errors.timeout = timeout.error;
  else if (timeout.value !== undefined) body.timeoutMs = Math.round(timeout.value * 1000);

  const resources: NonNullable<CreateExecutionBody['resources']> = {};
  const memory = parseNumber(str(form, 'memoryMb'), { integer: true, min: 16 });
  if (!memory.ok) errors.memoryMb = memory.error;
  else if (memory.value !== undefined) resources.memoryMb = memory.value;
  const cpus = parseNumber(str(form, 'cpus'), { min: 0.01, max: 64 });
  if (!cpus.ok) errors.cpus = cpus.error;
  else if (cpus.value !== undefined) resources.cpus = cpus.value;
  const pids = parseNumber(str(form, 'pids'), { integer: true, min: 8 });
  if (!pids.ok) errors.pids = pids.error;
  else if (pids.value !== undefined) resources.pids = pids.value;
  if (Object.keys(resources).length) body.resources = resources;

  const isolation = str(form, 'isolation');
  if (isIsolation(isolation)) body.isolation = isolation;
  else if (isolation && isolation !== 'default') errors.isolation = 'choose the default, standard or gVisor';

  const hosts = parseList(raw(form, 'egress'));
  const badHost = hosts.map((h) => [h, hostPatternProblem(h)] as const).find(([, p]) => p);
  if (badHost) errors.egress = `${badHost[0]}: ${badHost[1]}`;
  else if (hosts.length) body.egress = { allow: hosts };

  const secrets = [...new Set(form.getAll('secrets').filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim()))];
  const badSecret = secrets.find((s) => !SECRET_NAME.test(s));
  if (badSecret) errors.secrets = `"${badSecret}" is not a secret name`;
  else if (secrets.length) body.secrets = secrets;

  const env = parseEnv(raw(form, 'env'));
  if (!env.ok) errors.env = env.error;
  else if (env.value) body.env = env.value;

  // The Runtime picker: empty for the language's default, `image:<name>` for a registered custom image.
  const runtime = str(form, 'runtime');
  if (runtime.startsWith('image:')) body.image = runtime.slice('image:'.length);
  else if (runtime) body.runtime = runtime;

  // One specifier per line; `#` starts a comment, as in a requirements.txt. Bash has no packages: the box is hidden.
  const packages = raw(form, 'packages')
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  if (packages.length && (language === 'python' || language === 'node')) body.dependencies = { [language]: packages };

  // A textarea sends its line breaks as CRLF; the script reads the text as typed. Empty means no stdin, as before.
  const stdin = raw(form, 'stdin').replace(/\r\n/g, '\n');
  if (stdin) body.stdin = stdin;

  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: body };
}

/** PATCH /api/v1/settings: the server's schema (settings/schemas.ts); `null` for a per-user limit makes it follow the server-wide one again. */
export type { SettingsPatch };

/**
 * The limit fields of the Settings form: the form field (the timeout in seconds, like the Run page), the API's
 * key, the check and how a form value becomes the API's.
 */
export const LIMIT_FIELDS = [
  { field: 'timeout', key: 'timeoutMs', rule: { min: 0.1, max: MAX_SECONDS }, toApi: (s: number) => Math.round(s * 1000), unit: 's' },
  { field: 'memoryMb', key: 'memoryMb', rule: { integer: true, min: 16 }, toApi: (n: number) => n, unit: 'MiB' },
  { field: 'cpus', key: 'cpus', rule: { min: 0.01, max: 64 }, toApi: (n: number) => n, unit: 'CPUs' },
  { field: 'pids', key: 'pids', rule: { integer: true, min: 8 }, toApi: (n: number) => n, unit: 'processes' },
] as const;

/** A limit as the form shows it: the timeout in seconds. */
export function limitForForm(key: 'timeoutMs' | 'memoryMb' | 'cpus' | 'pids', value: number): number {
  return key === 'timeoutMs' ? value / 1000 : value;
}

/**
 * The Settings form → PATCH /api/v1/settings. Blank number fields are left unchanged; the checkboxes are always
 * sent. Timeouts are typed in seconds.
 */
export function parseSettingsForm(form: FormLike): Parsed<SettingsPatch> {
  const errors: FieldErrors = {};
  const patch: SettingsPatch = {};
  const policy = str(form, 'executionPolicy');
  if (isExecutionPolicy(policy)) patch.executionPolicy = policy;
  else errors.executionPolicy = 'choose who may run executions';
  const iso = str(form, 'defaultIsolation');
  if (isIsolation(iso)) patch.defaultIsolation = iso;
  else if (iso) errors.defaultIsolation = 'choose standard or gVisor';
  patch.allowIsolationChoice = checkbox(form, 'allowIsolationChoice');
  patch.allowExecutionEgressRules = checkbox(form, 'allowExecutionEgressRules');
  for (const [name, max] of [
    ['maxConcurrency', 1000],
    ['maxQueue', undefined],
  ] as const) {
    const n = parseNumber(str(form, name), { integer: true, min: 1, max });
    if (!n.ok) errors[name] = n.error;
    else if (n.value !== undefined) patch[name] = n.value;
  }
  // The per-user limits follow the server-wide ones until set. The form shows the value in force and sends it back
  // only when it was changed (`<name>.loaded` holds what was shown), so saving the page never pins a derived
  // value; a blank field makes the limit follow again.
  for (const [name, max] of [
    ['maxConcurrencyPerUser', 1000],
    ['maxQueuedPerUser', undefined],
  ] as const) {
    const raw = str(form, name);
    if (raw === str(form, `${name}.loaded`)) continue;
    if (!raw.trim()) {
      patch[name] = null;
      continue;
    }
    const n = parseNumber(raw, { integer: true, min: 1, max });
    if (!n.ok) errors[name] = n.error;
    else if (n.value !== undefined) patch[name] = n.value;
  }
  for (const group of ['defaultLimits', 'maxLimits'] as const) {
    const limits: NonNullable<SettingsPatch['defaultLimits']> = {};
    for (const { field, key, rule, toApi } of LIMIT_FIELDS) {
      const n = parseNumber(str(form, `${group}.${field}`), rule);
      if (!n.ok) errors[`${group}.${field}`] = n.error;
      else if (n.value !== undefined) limits[key] = toApi(n.value);
    }
    if (Object.keys(limits).length) patch[group] = limits;
  }
  for (const { field, key, unit } of LIMIT_FIELDS) {
    const d = patch.defaultLimits?.[key];
    const m = patch.maxLimits?.[key];
    if (d !== undefined && m !== undefined && d > m && !errors[`defaultLimits.${field}`]) {
      errors[`defaultLimits.${field}`] = `must not exceed the maximum (${limitForForm(key, m)} ${unit})`;
    }
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: patch };
}

export function parseSecretForm(form: FormLike): Parsed<{ name: string; value: string }> {
  const errors: FieldErrors = {};
  const name = str(form, 'name');
  const value = raw(form, 'value');
  if (!name) errors.name = 'enter a name';
  else if (!SECRET_NAME.test(name)) errors.name = 'start with a letter or _, then letters, digits, _ . - (at most 128)';
  if (!value) errors.value = 'enter the secret value';
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: { name, value } };
}

export function parseVariableForm(form: FormLike): Parsed<{ key: string; value: unknown }> {
  const errors: FieldErrors = {};
  const key = str(form, 'key');
  if (!key) errors.key = 'enter a key';
  else if (!VARIABLE_KEY.test(key)) errors.key = 'use 1-200 letters, digits or _ . : -';
  const json = parseJson(raw(form, 'value'));
  let value: unknown;
  if (!json.ok) errors.value = `${json.error}; strings need quotes, like "hello"`;
  else if (json.empty) errors.value = 'enter a JSON value, like 42, "text", [1, 2] or {"a": 1}';
  else value = json.value;
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: { key, value } };
}

export function parseEgressRuleForm(
  form: FormLike,
  isAdmin: boolean,
): Parsed<{ pattern: string; ports?: number[]; scope: 'global' | 'user' }> {
  const errors: FieldErrors = {};
  const pattern = str(form, 'pattern').toLowerCase();
  const problem = /^([^:[\]/]+|\[[^\]]+\]):\d+$/.test(pattern) ? 'put the port in Ports, not in the host pattern' : hostPatternProblem(pattern);
  if (problem) errors.pattern = problem;
  const ports = parsePorts(str(form, 'ports'));
  if (!ports.ok) errors.ports = ports.error;
  const scopeText = str(form, 'scope') || 'user';
  let scope: 'global' | 'user' = 'user';
  if (scopeText === 'global') {
    if (isAdmin) scope = 'global';
    else errors.scope = 'only admins may add global rules';
  } else if (scopeText !== 'user') errors.scope = 'choose global or your own';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { pattern, scope, ...(ports.ok && ports.value ? { ports: ports.value } : {}) } };
}

export function parseUserForm(form: FormLike): Parsed<{ name: string; role: Role }> {
  const errors: FieldErrors = {};
  const name = str(form, 'name');
  if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(name)) errors.name = name ? 'use 1-100 letters, digits or _ . @ -' : 'enter a name';
  const role = str(form, 'role') || 'user';
  if (!isRole(role)) errors.role = 'choose admin or user';
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: { name, role: role as Role } };
}

/** The "issue a key" form of the Users page: the user's id and an optional key name. */
export function parseKeyForm(form: FormLike): Parsed<{ userId: string; name: string }> {
  const userId = str(form, 'userId');
  const name = str(form, 'keyName');
  if (name.length > 100) return { ok: false, errors: { keyName: 'use at most 100 characters' } };
  return { ok: true, value: { userId, name } };
}

/**
 * Where to go after signing in: only a path on this site (`/executions?x=1`), never another origin
 * (`//evil.example`, `https://…`, `/\evil`).
 */
export function safeRedirect(to: unknown, fallback = '/'): string {
  if (typeof to !== 'string' || !to.startsWith('/') || to.startsWith('//') || to.startsWith('/\\')) return fallback;
  if (/[\r\n\t]/.test(to)) return fallback;
  try {
    const u = new URL(to, 'http://local.invalid');
    if (u.origin !== 'http://local.invalid') return fallback;
    if (u.pathname === '/login' || u.pathname === '/logout') return fallback;
    return u.pathname + u.search + u.hash;
  } catch {
    return fallback;
  }
}
