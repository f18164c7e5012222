import { MAX_PATTERN_LENGTH } from './egress/policy.js';
import { MIN_LIMITS } from './sandbox/limit-minimums.js';

/**
 * The OpenAPI 3.1 description of the public API, served at /api/v1/openapi.json. Written by hand;
 * server/test/integration/openapi.test.ts checks it against the routes the server registers (every route is
 * here, nothing is here that is not a route, every path parameter is declared). The runtime API that sandboxes
 * call is not part of it (the SDKs' READMEs describe it).
 */
export function openApiDocument() {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: object) => ({ 'application/json': { schema } });
  const ok = (description: string, schema?: object) => ({ description, ...(schema ? { content: json(schema) } : {}) });
  const list = (item: string) => ({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref(item) } } });
  const err = { $ref: '#/components/responses/Error' };
  const why = (description: string) => ({ ...err, description });
  const errors = { 400: err, 401: err, 403: err, 404: err };
  const pathParam = (name: string, description: string, schema: object = { type: 'string' }) => ({ name, in: 'path', required: true, description, schema });
  const executionId = pathParam('id', 'execution id', { type: 'string', format: 'uuid' });
  const userId = pathParam('id', 'user id', { type: 'string', format: 'uuid' });
  const variableKey = pathParam('key', 'variable key: 1-200 letters, digits or _ . : -', { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,200}$' });
  const secretName = pathParam('name', 'secret name', { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$' });
  const statuses = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'oom_killed', 'error'];
  const languages = ['bash', 'python', 'node'];
  const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });
  const dateTime = { type: 'string', format: 'date-time' };
  const limits = (required: boolean) => ({
    type: 'object',
    additionalProperties: false,
    ...(required ? { required: ['timeoutMs', 'memoryMb', 'cpus', 'pids'] } : {}),
    properties: {
      timeoutMs: { type: 'integer', minimum: 100 },
      memoryMb: { type: 'integer', minimum: MIN_LIMITS.memoryMb },
      cpus: { type: 'number', minimum: MIN_LIMITS.cpus, maximum: 64 },
      pids: { type: 'integer', minimum: MIN_LIMITS.pids },
    },
  });
  const settingsProperties = (patch: boolean) => ({
    executionPolicy: { enum: ['disabled', 'admin_only', 'all_users'] },
    defaultIsolation: { enum: ['standard', 'gvisor'] },
    allowIsolationChoice: { type: 'boolean' },
    allowExecutionEgressRules: { type: 'boolean' },
    maxConcurrency: { type: 'integer', minimum: 1, maximum: 1000 },
    maxConcurrencyPerUser: patch
      ? { type: ['integer', 'null'], minimum: 1, maximum: 1000, description: 'null: follow maxConcurrency (half of it, at least 1)' }
      : { type: 'integer', minimum: 1, maximum: 1000 },
    maxQueue: { type: 'integer', minimum: 1 },
    maxQueuedPerUser: patch
      ? { type: ['integer', 'null'], minimum: 1, description: 'null: follow maxQueue (a quarter of it, rounded up)' }
      : { type: 'integer', minimum: 1 },
    defaultLimits: limits(!patch),
    maxLimits: limits(!patch),
  });

  return {
    openapi: '3.1.0',
    info: { title: 'Cronium Sandbox API', version: '1', description: 'Run bash, Python and Node scripts in hardened, throw-away containers.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (csk_…). Execution tokens are refused here.' } },
      responses: {
        Error: {
          description: 'An error: the code says what happened, field names the offending field',
          content: json({
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
              },
            },
          }),
        },
      },
      schemas: {
        Limits: limits(true),
        ExecutionRequest: {
          type: 'object',
          required: ['language', 'script'],
          additionalProperties: false,
          properties: {
            language: { enum: languages },
            script: { type: 'string', minLength: 1 },
            input: { description: 'any JSON value: what getInput() returns' },
            env: { type: 'object', additionalProperties: { type: 'string' } },
            timeoutMs: { type: 'integer', minimum: 1, description: 'lowered to the server maximum' },
            resources: {
              type: 'object',
              additionalProperties: false,
              description: 'each lowered to the server maximum; below the minimum a runtime can apply, refused',
              properties: {
                memoryMb: { type: 'integer', minimum: MIN_LIMITS.memoryMb },
                cpus: { type: 'number', minimum: MIN_LIMITS.cpus, description: 'CPU quota in cores; at least 1 ms per 100 ms period' },
                pids: { type: 'integer', minimum: MIN_LIMITS.pids },
              },
            },
            isolation: { enum: ['standard', 'gvisor'] },
            secrets: { type: 'array', maxItems: 50, items: { type: 'string' } },
            egress: {
              type: 'object',
              additionalProperties: false,
              properties: { allow: { type: 'array', maxItems: 100, items: { type: 'string', description: 'host, *.example.com or host:port' } } },
            },
            event: {
              type: 'object',
              additionalProperties: false,
              properties: { id: { type: 'string', maxLength: 200 }, name: { type: 'string', maxLength: 500 }, type: { type: 'string', maxLength: 100 } },
            },
            wait: { type: 'boolean', description: 'answer when the execution ends (200 with the execution) instead of 202 at once' },
          },
        },
        Accepted: {
          type: 'object',
          required: ['id', 'status'],
          properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' } },
        },
        Execution: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            status: { enum: statuses },
            language: { enum: languages },
            userId: { type: 'string' },
            isolation: { enum: ['standard', 'gvisor'] },
            exitCode: nullable('integer'),
            output: { description: 'what the script set with setOutput, or null' },
            condition: nullable('boolean'),
            variables: { type: 'object', description: 'variables the script set' },
            secretsGranted: { type: 'array', items: { type: 'string' } },
            secretsRead: { type: 'array', items: { type: 'string' } },
            error: nullable('string'),
            usage: {
              type: ['object', 'null'],
              properties: { cpuMs: nullable('integer'), memoryPeakBytes: nullable('integer') },
            },
            limits: ref('Limits'),
            egress: { type: 'object', properties: { allow: { type: 'array', items: { type: 'string' } } } },
            event: { type: ['object', 'null'], properties: { id: { type: 'string' }, name: { type: 'string' }, type: { type: 'string' } } },
            attempt: { type: 'integer' },
            nodeId: nullable('string'),
            containerId: nullable('string'),
            pooled: nullable('boolean'),
            logsTruncated: { type: 'boolean' },
            durationMs: nullable('integer'),
            createdAt: dateTime,
            startedAt: nullable('string', { format: 'date-time' }),
            finishedAt: nullable('string', { format: 'date-time' }),
            deadlineAt: nullable('string', { format: 'date-time' }),
            script: { type: 'string', description: 'detail only' },
            input: { description: 'detail only' },
            env: { type: 'array', items: { type: 'string' }, description: 'detail only: the names, never the values' },
            queue: {
              type: 'object',
              description: 'detail of a queued execution only: why it waits',
              properties: {
                reason: { enum: ['user_concurrency', 'server_concurrency'] },
                position: { type: 'integer', description: 'among its user’s own queued executions, from 1' },
                queuedTotal: { type: 'integer' },
                userRunning: { type: 'integer' },
                userLimit: { type: 'integer' },
                message: { type: 'string' },
              },
            },
          },
        },
        ExecutionPage: {
          type: 'object',
          required: ['items', 'nextCursor'],
          properties: { items: { type: 'array', items: ref('Execution') }, nextCursor: nullable('string') },
        },
        LogEntry: {
          type: 'object',
          properties: {
            seq: { type: 'integer' },
            ts: dateTime,
            stream: { enum: ['stdout', 'stderr', 'system'] },
            text: { type: 'string' },
            continued: { type: 'boolean', description: 'goes on with the line of its stream’s previous entry' },
            escaped: { type: 'boolean', description: 'text holds escapes (\\\\, \\xHH) for bytes that are not text' },
          },
        },
        Logs: {
          type: 'object',
          required: ['entries', 'truncated'],
          properties: { entries: { type: 'array', items: ref('LogEntry') }, truncated: { type: 'boolean' } },
        },
        RuntimeCall: {
          type: 'object',
          properties: { ts: dateTime, method: { type: 'string' }, path: { type: 'string' }, status: { type: 'integer' }, detail: nullable('string') },
        },
        EgressLogEntry: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            ts: dateTime,
            executionId: nullable('string'),
            userId: nullable('string'),
            method: { type: 'string' },
            host: { type: 'string' },
            port: { type: 'integer' },
            allowed: { type: 'boolean' },
            reason: { type: 'string' },
            ruleId: nullable('string'),
            address: nullable('string'),
            status: nullable('integer'),
            bytesIn: nullable('integer'),
            bytesOut: nullable('integer'),
            durationMs: nullable('integer'),
          },
        },
        EgressRuleRequest: {
          type: 'object',
          required: ['pattern'],
          additionalProperties: false,
          properties: {
            pattern: { type: 'string', minLength: 1, maxLength: MAX_PATTERN_LENGTH, description: 'a host, *.example.com, an IP address or a CIDR range' },
            ports: { type: ['array', 'null'], minItems: 1, maxItems: 20, items: { type: 'integer', minimum: 1, maximum: 65535 }, description: 'null or absent: 80 and 443' },
            scope: { enum: ['global', 'user'], default: 'user', description: 'global: admins only' },
            userId: { type: 'string', description: 'another user’s rule: admins only' },
          },
        },
        EgressRule: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            pattern: { type: 'string' },
            ports: { type: ['array', 'null'], items: { type: 'integer' }, description: 'null: 80 and 443' },
            scope: { enum: ['global', 'user'] },
            userId: nullable('string'),
            createdAt: dateTime,
          },
        },
        Stats: {
          type: 'object',
          properties: {
            scope: { enum: ['mine', 'all'] },
            hours: { type: 'integer' },
            running: { type: 'integer' },
            queued: { type: 'integer' },
            total: { type: 'integer' },
            byStatus: { type: 'object', additionalProperties: { type: 'integer' } },
            successRate: nullable('number'),
            timedOut: { type: 'integer' },
            oomKilled: { type: 'integer' },
            p50DurationMs: nullable('integer'),
            p95DurationMs: nullable('integer'),
            perHour: {
              type: 'array',
              items: { type: 'object', properties: { hour: dateTime, total: { type: 'integer' } }, additionalProperties: { type: 'integer' } },
            },
          },
        },
        User: {
          type: 'object',
          properties: { id: { type: 'string' }, name: { type: 'string' }, role: { enum: ['admin', 'user'] }, disabled: { type: 'boolean' }, createdAt: dateTime },
        },
        ApiKey: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            userId: { type: 'string' },
            name: { type: 'string' },
            prefix: { type: 'string' },
            createdAt: dateTime,
            lastUsedAt: nullable('string', { format: 'date-time' }),
            revokedAt: nullable('string', { format: 'date-time' }),
          },
        },
        IssuedKey: {
          type: 'object',
          properties: { id: { type: 'string' }, key: { type: 'string', description: 'in this answer only' }, prefix: { type: 'string' }, userId: { type: 'string' }, name: { type: 'string' } },
        },
        Secret: { type: 'object', properties: { name: { type: 'string' }, createdAt: dateTime, updatedAt: dateTime } },
        Variable: {
          type: 'object',
          properties: { key: { type: 'string' }, value: {}, updatedAt: dateTime, updatedByExecution: nullable('string') },
        },
        Settings: {
          type: 'object',
          properties: { ...settingsProperties(false), gvisorAvailable: { type: 'boolean', description: 'read only' } },
        },
        SettingsPatch: { type: 'object', additionalProperties: false, properties: settingsProperties(true) },
      },
    },
    paths: {
      '/api/v1/executions': {
        post: {
          summary: 'Submit an execution',
          requestBody: { required: true, content: json(ref('ExecutionRequest')) },
          responses: {
            200: ok('With wait: true, the finished execution', ref('Execution')),
            202: ok('Accepted and queued', ref('Accepted')),
            413: err,
            429: why('USER_QUEUE_FULL: the caller has maxQueuedPerUser executions queued already'),
            503: why('QUEUE_FULL: the queue holds maxQueue executions'),
            ...errors,
          },
        },
        get: {
          summary: 'List executions (newest first, cursor pagination); a user sees their own, an admin everyone’s',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string' }, description: 'comma-separated statuses' },
            { name: 'language', in: 'query', schema: { enum: languages } },
            { name: 'userId', in: 'query', schema: { type: 'string' }, description: 'admins only' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'nextCursor of the previous page' },
          ],
          responses: { 200: ok('A page of executions', ref('ExecutionPage')), ...errors },
        },
      },
      '/api/v1/executions/{id}': {
        get: {
          summary: 'One execution, with its script and input; a queued one says why it waits (queue)',
          parameters: [executionId],
          responses: { 200: ok('The execution', ref('Execution')), ...errors },
        },
      },
      '/api/v1/executions/{id}/cancel': {
        post: {
          summary: 'Cancel a queued or running execution (no body needed)',
          parameters: [executionId],
          responses: { 202: ok('Cancelling', ref('Accepted')), 409: why('EXECUTION_NOT_CANCELLABLE: it has ended'), ...errors },
        },
      },
      '/api/v1/executions/{id}/logs': {
        get: {
          summary: 'Logs as JSON, or live as Server-Sent Events with Accept: text/event-stream',
          parameters: [executionId],
          responses: {
            200: {
              description:
                'JSON: every stored entry. Event stream: `status` { status }, then `log` (a LogEntry) for each entry stored and to come, then `end` { status, exitCode, truncated } when the execution ends',
              content: { ...json(ref('Logs')), 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errors,
          },
        },
      },
      '/api/v1/executions/{id}/runtime-calls': {
        get: {
          summary: 'The calls the execution made to the runtime API (SDK calls), in order',
          parameters: [executionId],
          responses: { 200: ok('{ items }', list('RuntimeCall')), ...errors },
        },
      },
      '/api/v1/executions/{id}/egress': {
        get: {
          summary: 'The execution’s requests through the egress proxy, allowed and refused (newest first, at most 1000)',
          parameters: [executionId],
          responses: { 200: ok('{ items }', list('EgressLogEntry')), ...errors },
        },
      },
      '/api/v1/stats': {
        get: {
          summary: 'The overview’s numbers for the last hours: the caller’s own executions, or everyone’s for an admin',
          parameters: [
            { name: 'hours', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 720, default: 24 } },
            { name: 'scope', in: 'query', schema: { enum: ['mine', 'all'], default: 'all' }, description: 'all: everyone’s, for admins; a user always gets their own' },
          ],
          responses: { 200: ok('Counts per status and per hour, success rate, p50/p95 durations', ref('Stats')), 400: err, 401: err },
        },
      },
      '/api/v1/egress/rules': {
        get: {
          summary: 'Egress rules: all of them for an admin; the global ones and the caller’s own for a user',
          responses: { 200: ok('{ items }', list('EgressRule')), 401: err },
        },
        post: {
          summary: 'Add an egress rule (global: admins only)',
          requestBody: { required: true, content: json(ref('EgressRuleRequest')) },
          responses: { 201: ok('The rule', ref('EgressRule')), 409: why('EGRESS_RULE_EXISTS: the same rule exists already'), ...errors },
        },
      },
      '/api/v1/egress/rules/{id}': {
        delete: {
          summary: 'Remove an egress rule (global ones: admins only)',
          parameters: [pathParam('id', 'rule id')],
          responses: { 204: ok('Removed'), ...errors },
        },
      },
      '/api/v1/egress/log': {
        get: {
          summary: 'Requests through the egress proxy, newest first: the caller’s own, or anyone’s for an admin',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'decision', in: 'query', schema: { enum: ['allowed', 'denied'] } },
            { name: 'executionId', in: 'query', schema: { type: 'string' } },
            { name: 'userId', in: 'query', schema: { type: 'string' }, description: 'another user: admins only' },
          ],
          responses: { 200: ok('{ items }', list('EgressLogEntry')), ...errors },
        },
      },
      '/api/v1/variables': {
        get: { summary: 'The caller’s variables', responses: { 200: ok('{ items }', list('Variable')), 401: err } },
      },
      '/api/v1/variables/{key}': {
        get: { summary: 'One variable', parameters: [variableKey], responses: { 200: ok('The variable', ref('Variable')), 400: err, 401: err, 404: err } },
        put: {
          summary: 'Set a variable { value } (any JSON)',
          parameters: [variableKey],
          requestBody: { required: true, content: json({ type: 'object', required: ['value'], additionalProperties: false, properties: { value: {} } }) },
          responses: { 200: ok('Saved', ref('Variable')), 400: err, 401: err, 413: err },
        },
        delete: { summary: 'Delete a variable', parameters: [variableKey], responses: { 204: ok('Deleted'), 400: err, 401: err, 404: err } },
      },
      '/api/v1/secrets': {
        get: { summary: 'The caller’s secrets: names and dates, never values', responses: { 200: ok('{ items }', list('Secret')), 401: err } },
      },
      '/api/v1/secrets/{name}': {
        put: {
          summary: 'Create or replace a secret { value }',
          parameters: [secretName],
          requestBody: { required: true, content: json({ type: 'object', required: ['value'], additionalProperties: false, properties: { value: { type: 'string', minLength: 1 } } }) },
          responses: { 200: ok('Replaced', ref('Secret')), 201: ok('Created', ref('Secret')), 400: err, 401: err, 413: err },
        },
        delete: { summary: 'Delete a secret', parameters: [secretName], responses: { 204: ok('Deleted'), 400: err, 401: err, 404: err } },
      },
      '/api/v1/me': { get: { summary: 'The caller', responses: { 200: ok('The caller', ref('User')), 401: err } } },
      '/api/v1/users': {
        get: { summary: 'admins: every user', responses: { 200: ok('{ items }', list('User')), 401: err, 403: err } },
        post: {
          summary: 'admins: create a user { name, role }',
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              required: ['name'],
              additionalProperties: false,
              properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,100}$' }, role: { enum: ['admin', 'user'], default: 'user' } },
            }),
          },
          responses: { 201: ok('Created', ref('User')), 400: err, 401: err, 403: err, 409: why('CONFLICT: the name is taken') },
        },
      },
      '/api/v1/users/{id}': {
        patch: {
          summary: 'admins: disable or enable a user, change their role; disabling cancels their queued and running executions',
          parameters: [userId],
          requestBody: {
            content: json({
              type: 'object',
              additionalProperties: false,
              properties: { disabled: { type: 'boolean' }, role: { type: 'string', enum: ['admin', 'user'] } },
            }),
          },
          responses: { 200: ok('The user', ref('User')), ...errors, 409: why('LAST_ADMIN: it would demote or disable the last enabled admin') },
        },
        delete: {
          summary: 'admins: delete a user; their executions stay, their keys, secrets, variables and own egress rules go, their queued and running executions are cancelled',
          parameters: [userId],
          responses: { 204: ok('Deleted'), ...errors, 409: why('LAST_ADMIN: the last enabled admin') },
        },
      },
      '/api/v1/users/{id}/keys': {
        get: {
          summary: 'A user’s API keys, without their values (a user may list their own)',
          parameters: [userId],
          responses: { 200: ok('{ items }', list('ApiKey')), 401: err, 403: err },
        },
        post: {
          summary: 'admins: issue a key { name }; the key is in this answer only',
          parameters: [userId],
          requestBody: { content: json({ type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } }) },
          responses: { 201: ok('The key', ref('IssuedKey')), ...errors },
        },
      },
      '/api/v1/keys/{id}': {
        delete: { summary: 'admins: revoke a key', parameters: [pathParam('id', 'key id')], responses: { 204: ok('Revoked'), ...errors } },
      },
      '/api/v1/settings': {
        get: { summary: 'admins: the settings', responses: { 200: ok('Settings', ref('Settings')), 401: err, 403: err } },
        patch: {
          summary: 'admins: change settings (the fields given)',
          requestBody: { required: true, content: json(ref('SettingsPatch')) },
          responses: { 200: ok('Settings', ref('Settings')), 400: err, 401: err, 403: err },
        },
      },
      '/api/v1/openapi.json': {
        get: { summary: 'This document', security: [], responses: { 200: ok('OpenAPI 3.1', { type: 'object' }) } },
      },
      '/health': {
        get: {
          summary: 'Health of the server, its database and Docker',
          security: [],
          responses: {
            200: ok('Healthy: database, docker, sandbox network, runtime API, egress proxy and host guard, running executions, warm pool', { type: 'object' }),
            503: ok('Degraded: the database or Docker is unreachable (same body)', { type: 'object' }),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/': {
        get: {
          summary: 'What this server is: name, version, where the API, this document and health are',
          security: [],
          responses: {
            200: ok('Service information', {
              type: 'object',
              properties: { name: { type: 'string' }, api: { type: 'string' }, openapi: { type: 'string' }, health: { type: 'string' }, version: { type: 'string' } },
            }),
          },
        },
      },
    },
  };
}
