/** The OpenAPI 3.1 description of the public API, served at /api/v1/openapi.json. */
export function openApiDocument() {
  const err = { $ref: '#/components/responses/Error' };
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  const errors = { 400: err, 401: err, 403: err, 404: err };
  return {
    openapi: '3.1.0',
    info: { title: 'Cronium Sandbox API', version: '1', description: 'Run bash, Python and Node scripts in hardened, throw-away containers.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (csk_…). Execution tokens are refused here.' } },
      responses: {
        Error: {
          description: 'An error',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    required: ['code', 'message'],
                    properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
      schemas: {
        Limits: {
          type: 'object',
          properties: { timeoutMs: { type: 'integer' }, memoryMb: { type: 'integer' }, cpus: { type: 'number' }, pids: { type: 'integer' } },
        },
        ExecutionRequest: {
          type: 'object',
          required: ['language', 'script'],
          additionalProperties: false,
          properties: {
            language: { enum: ['bash', 'python', 'node'] },
            script: { type: 'string' },
            input: {},
            env: { type: 'object', additionalProperties: { type: 'string' } },
            timeoutMs: { type: 'integer', minimum: 1 },
            resources: {
              type: 'object',
              additionalProperties: false,
              properties: { memoryMb: { type: 'integer', minimum: 16 }, cpus: { type: 'number' }, pids: { type: 'integer', minimum: 8 } },
            },
            isolation: { enum: ['standard', 'gvisor'] },
            secrets: { type: 'array', items: { type: 'string' } },
            egress: { type: 'object', properties: { allow: { type: 'array', items: { type: 'string' } } } },
            event: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, type: { type: 'string' } } },
            wait: { type: 'boolean' },
          },
        },
        Execution: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            status: { enum: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'oom_killed', 'error'] },
            language: { type: 'string' },
            userId: { type: 'string' },
            isolation: { type: 'string' },
            exitCode: { type: ['integer', 'null'] },
            output: {},
            condition: { type: ['boolean', 'null'] },
            variables: { type: 'object' },
            secretsGranted: { type: 'array', items: { type: 'string' } },
            secretsRead: { type: 'array', items: { type: 'string' } },
            error: { type: ['string', 'null'] },
            usage: {
              type: ['object', 'null'],
              properties: { cpuMs: { type: ['integer', 'null'] }, memoryPeakBytes: { type: ['integer', 'null'] } },
            },
            limits: { $ref: '#/components/schemas/Limits' },
            attempt: { type: 'integer' },
            logsTruncated: { type: 'boolean' },
            durationMs: { type: ['integer', 'null'] },
            createdAt: { type: 'string', format: 'date-time' },
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            finishedAt: { type: ['string', 'null'], format: 'date-time' },
            script: { type: 'string' },
            input: {},
          },
        },
        LogEntry: {
          type: 'object',
          properties: { seq: { type: 'integer' }, ts: { type: 'string' }, stream: { enum: ['stdout', 'stderr', 'system'] }, text: { type: 'string' } },
        },
      },
    },
    paths: {
      '/api/v1/executions': {
        post: {
          summary: 'Submit an execution',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/ExecutionRequest' } } } },
          responses: {
            200: { description: 'With wait: true, the finished execution', content: { 'application/json': { schema: { $ref: '#/components/schemas/Execution' } } } },
            202: { description: 'Accepted and queued' },
            413: err,
            429: { ...err, description: 'USER_QUEUE_FULL: the caller has maxQueuedPerUser executions queued already' },
            503: err,
            ...errors,
          },
        },
        get: {
          summary: 'List executions (newest first, cursor pagination)',
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string' }, description: 'comma-separated statuses' },
            { name: 'language', in: 'query', schema: { enum: ['bash', 'python', 'node'] } },
            { name: 'userId', in: 'query', schema: { type: 'string' }, description: 'admins only' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
          ],
          responses: { 200: { description: '{ items, nextCursor }' }, ...errors },
        },
      },
      '/api/v1/executions/{id}': { get: { parameters: [idParam], responses: { 200: { description: 'The execution' }, ...errors } } },
      '/api/v1/executions/{id}/cancel': {
        post: { parameters: [idParam], responses: { 202: { description: 'Cancelling' }, 409: err, ...errors } },
      },
      '/api/v1/executions/{id}/logs': {
        get: {
          summary: 'Logs as JSON, or live as Server-Sent Events with Accept: text/event-stream (events: status, log, end)',
          parameters: [idParam],
          responses: { 200: { description: '{ entries: LogEntry[], truncated }' }, ...errors },
        },
      },
      '/api/v1/variables': { get: { responses: { 200: { description: '{ items }' } } } },
      '/api/v1/variables/{key}': {
        get: { responses: { 200: { description: 'The variable' }, 404: err } },
        put: { responses: { 200: { description: 'Saved' }, 400: err, 413: err } },
        delete: { responses: { 204: { description: 'Deleted' }, 404: err } },
      },
      '/api/v1/secrets': { get: { responses: { 200: { description: 'Names and dates, never values' } } } },
      '/api/v1/secrets/{name}': {
        put: { responses: { 200: { description: 'Replaced' }, 201: { description: 'Created' }, 400: err, 413: err } },
        delete: { responses: { 204: { description: 'Deleted' }, 404: err } },
      },
      '/api/v1/me': { get: { responses: { 200: { description: 'The caller' } } } },
      '/api/v1/users': {
        get: { summary: 'admins', responses: { 200: { description: '{ items }' }, 403: err } },
        post: { summary: 'admins: create a user { name, role }', responses: { 201: { description: 'Created' }, 400: err, 403: err, 409: err } },
      },
      '/api/v1/users/{id}': {
        patch: {
          summary: 'admins: disable or enable a user, change their role; disabling cancels their queued and running executions',
          parameters: [idParam],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { disabled: { type: 'boolean' }, role: { type: 'string', enum: ['admin', 'user'] } },
                },
              },
            },
          },
          responses: { 200: { description: 'The user: { id, name, role, disabled, createdAt }' }, ...errors, 409: { ...err, description: 'LAST_ADMIN: it would demote or disable the last enabled admin' } },
        },
        delete: {
          summary: 'admins: delete a user; their executions stay, their keys, secrets, variables and own egress rules go, their queued and running executions are cancelled',
          parameters: [idParam],
          responses: { 204: { description: 'Deleted' }, ...errors, 409: { ...err, description: 'LAST_ADMIN: the last enabled admin' } },
        },
      },
      '/api/v1/users/{id}/keys': {
        get: { responses: { 200: { description: '{ items } (no key values)' } } },
        post: { summary: 'admins: issue a key; the key is in this answer only', responses: { 201: { description: '{ id, key, prefix }' } } },
      },
      '/api/v1/keys/{id}': { delete: { summary: 'admins: revoke a key', responses: { 204: { description: 'Revoked' } } } },
      '/api/v1/settings': {
        get: { summary: 'admins', responses: { 200: { description: 'Settings' } } },
        patch: { summary: 'admins', responses: { 200: { description: 'Settings' }, 400: err } },
      },
      '/health': { get: { security: [], responses: { 200: { description: 'Healthy' }, 503: { description: 'Database or Docker unreachable' } } } },
      '/metrics': { get: { security: [], responses: { 200: { description: 'Prometheus text format' } } } },
    },
  };
}
