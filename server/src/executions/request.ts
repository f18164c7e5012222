import { z } from 'zod';
import { EXECUTION_STATUSES, ISOLATION_TIERS, LANGUAGES } from '../api/enums.js';
import { MIN_LIMITS } from '../sandbox/limit-minimums.js';
import { secretName } from '../secrets/schemas.js';
import { storableJson, storableString } from '../validation.js';

/** Imported from here by the runtime API (runtime/server.ts); defined with the secrets' other schemas. */
export { secretName };

const envKey = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the platform sets itself; a request may not override them. */
const reservedEnv = /^(CRONIUM_|HTTP_PROXY$|HTTPS_PROXY$|NO_PROXY$|http_proxy$|https_proxy$|no_proxy$|PATH$|HOME$)/;
/** Per language, per request: more is a project to build, not a script's packages. */
const MAX_PACKAGES = 200;
const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`);

export const createExecutionSchema = z
  .object({
    language: z.enum(LANGUAGES, { error: `must be one of ${quoted(LANGUAGES).join(', ')}` }),
    runtime: z
      .string({ error: 'must be a string' })
      .max(100)
      .optional()
      .describe('the runtime to run in, e.g. "python@3.13" or "node@22" (GET /api/v1/runtimes); default: the language\'s newest LTS/stable'),
    image: z
      .string({ error: 'must be a string' })
      .max(100)
      .optional()
      .describe('a custom image an admin registered (GET /api/v1/images), by name; instead of runtime'),
    script: storableString().min(1, 'must not be empty'),
    input: storableJson.optional().describe('any JSON value: what getInput() returns'),
    env: z
      .record(
        z.string().regex(envKey, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*').refine((k) => !reservedEnv.test(k), {
          message: 'this environment variable is set by Cronium and cannot be overridden',
        }),
        storableString('environment values must be strings'),
      )
      .optional(),
    timeoutMs: z.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive').optional().describe('lowered to the server maximum'),
    resources: z
      .object({
        memoryMb: z.number().int('must be an integer').min(MIN_LIMITS.memoryMb, `must be at least ${MIN_LIMITS.memoryMb}`).optional(),
        cpus: z
          .number({ error: 'must be a number' })
          .min(MIN_LIMITS.cpus, `must be at least ${MIN_LIMITS.cpus}: the smallest CPU share the runtime can apply (1 ms per 100 ms)`)
          .optional()
          .describe('CPU quota in cores; at least 1 ms per 100 ms period'),
        pids: z.number().int('must be an integer').min(MIN_LIMITS.pids, `must be at least ${MIN_LIMITS.pids}`).optional(),
      })
      .strict()
      .optional()
      .describe('each lowered to the server maximum; below the minimum a runtime can apply, refused'),
    isolation: z.enum(ISOLATION_TIERS, { error: `must be ${quoted(ISOLATION_TIERS).join(' or ')}` }).optional(),
    secrets: z.array(secretName).max(50).optional(),
    egress: z.object({ allow: z.array(z.string().min(1).describe('host, *.example.com or host:port')).max(100) }).strict().optional(),
    event: z
      .object({ id: storableString().max(200).optional(), name: storableString().max(500).optional(), type: storableString().max(100).optional() })
      .strict()
      .optional(),
    dependencies: z
      .object({
        python: z.array(storableString()).max(MAX_PACKAGES, `at most ${MAX_PACKAGES} packages`).optional().describe('pip requirement specifiers, e.g. "pandas==2.2.3"'),
        node: z.array(storableString()).max(MAX_PACKAGES, `at most ${MAX_PACKAGES} packages`).optional().describe('npm package specs, e.g. "axios@^1.7"'),
      })
      .strict()
      .optional()
      .describe('packages for the execution’s language, installed into a read-only bundle mounted into the sandbox'),
    requirements: storableString().max(100_000, 'must be at most 100000 characters').optional().describe('python: the text of a requirements.txt'),
    packageJson: z.record(z.string(), storableJson).optional().describe('node: a package.json whose dependencies are installed'),
    files: z
      .array(
        z
          .object({
            path: z.string({ error: 'must be a string' }).describe('relative to /work, the script’s working directory, e.g. "data/orders.csv"'),
            content: z.string({ error: 'must be a string' }),
            encoding: z.enum(['utf8', 'base64'], { error: 'must be "utf8" or "base64"' }).optional().describe('of content; default utf8'),
            mode: z.enum(['0644', '0755'], { error: 'must be "0644" or "0755"' }).optional(),
          })
          .strict(),
      )
      .max(1000, 'at most 1000 files')
      .optional()
      .describe('files written into /work before the script starts, owned by the sandbox user'),
    stdin: z.string({ error: 'must be a string' }).optional().describe('the script’s standard input, closed after it (default: empty)'),
    stdinBase64: z.string({ error: 'must be a string' }).optional().describe('stdin as base64, for bytes that are not text'),
    wait: z.boolean({ error: 'must be a boolean' }).optional().describe('answer when the execution ends (200 with the execution) instead of 202 at once'),
  })
  .strict();

export type CreateExecutionRequest = z.infer<typeof createExecutionSchema>;

export const listExecutionsQuery = z
  .object({
    status: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(z.enum(EXECUTION_STATUSES)))
      .optional()
      .describe(`comma-separated statuses: ${EXECUTION_STATUSES.join(', ')}`),
    language: z.enum(LANGUAGES).optional(),
    userId: z.string().optional().describe('admins only'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional().describe('nextCursor of the previous page'),
  })
  .strict();

export const statsQuery = z
  .object({
    hours: z.coerce.number().int().min(1).max(24 * 30).default(24),
    scope: z.enum(['mine', 'all']).default('all').describe('all: everyone’s, for admins; a user always gets their own'),
  })
  .strict();
