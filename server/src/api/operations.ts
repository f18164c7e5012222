import { z } from 'zod';
import { bundleKeyParam, bundleSchema } from '../dependencies/schemas.js';
import { createRuleSchema, egressLogEntrySchema, egressLogQuery, egressRuleSchema, ruleIdParam } from '../egress/schemas.js';
import { createExecutionSchema, listExecutionsQuery, statsQuery } from '../executions/request.js';
import {
  acceptedSchema,
  executionDetailSchema,
  executionIdParam,
  executionPageSchema,
  executionSchema,
  logEntrySchema,
  logsSchema,
  queueStandingSchema,
  runtimeCallSchema,
  statsSchema,
} from '../executions/response.js';
import { healthSchema, serviceInfoSchema } from '../health/schemas.js';
import { artifactListSchema, artifactNameParam, artifactSchema, storageListSchema, storageQuery } from '../files/schemas.js';
import { runtimeSchema } from '../runtimes/schemas.js';
import { customImageSchema, imageNameParam, registerImageSchema } from '../images/schemas.js';
import { putSecretSchema, secretName, secretSchema } from '../secrets/schemas.js';
import { limitsSchema, settingsPatchSchema, settingsResponseSchema } from '../settings/schemas.js';
import { apiKeySchema, createKeySchema, createUserSchema, issuedKeySchema, keyIdParam, updateUserSchema, userIdParam, userSchema } from '../users/schemas.js';
import { keySchema, valueBody, variableSchema } from '../variables/schemas.js';
import { apiError, buildOpenApiDocument, commonErrors, type Operation, type OperationResponse } from './openapi.js';
import { itemsOf } from './schemas.js';

/**
 * The public API as the OpenAPI document describes it: each operation's summary, and the schemas of its
 * parameters and bodies, which are the ones the routes parse with and answer in (each area's schemas module).
 * server/test/integration/openapi.test.ts checks this list against the routes the server registers. The runtime
 * API that sandboxes call is not part of it (the SDKs' READMEs describe it).
 */

const lists = {
  UserList: itemsOf(userSchema),
  ApiKeyList: itemsOf(apiKeySchema),
  SecretList: itemsOf(secretSchema),
  VariableList: itemsOf(variableSchema),
  EgressRuleList: itemsOf(egressRuleSchema),
  EgressLog: itemsOf(egressLogEntrySchema),
  RuntimeCallList: itemsOf(runtimeCallSchema),
  RuntimeList: itemsOf(runtimeSchema),
  CustomImageList: itemsOf(customImageSchema),
  DependencyBundleList: itemsOf(bundleSchema),
};
const anyObject = z.object({}).loose().describe('the OpenAPI 3.1 document');

const requestComponents = {
  ExecutionRequest: createExecutionSchema,
  SettingsPatch: settingsPatchSchema,
  EgressRuleRequest: createRuleSchema,
  ImageRegistration: registerImageSchema,
  UserRequest: createUserSchema,
  UserChange: updateUserSchema,
  KeyRequest: createKeySchema,
  SecretValue: putSecretSchema,
  VariableValue: valueBody,
};

const responseComponents = {
  Limits: limitsSchema,
  Execution: executionSchema,
  ExecutionDetail: executionDetailSchema,
  QueueStanding: queueStandingSchema,
  Accepted: acceptedSchema,
  ExecutionPage: executionPageSchema,
  LogEntry: logEntrySchema,
  Logs: logsSchema,
  RuntimeCall: runtimeCallSchema,
  Runtime: runtimeSchema,
  CustomImage: customImageSchema,
  EgressLogEntry: egressLogEntrySchema,
  EgressRule: egressRuleSchema,
  DependencyBundle: bundleSchema,
  Artifact: artifactSchema,
  ArtifactList: artifactListSchema,
  StorageUse: storageListSchema,
  Stats: statsSchema,
  User: userSchema,
  ApiKey: apiKeySchema,
  IssuedKey: issuedKeySchema,
  Secret: secretSchema,
  Variable: variableSchema,
  Settings: settingsResponseSchema,
  Health: healthSchema,
  ServiceInfo: serviceInfoSchema,
  OpenApiDocument: anyObject,
  ...lists,
};

const ok = (description: string, schema?: z.ZodType): OperationResponse => ({ description, ...(schema ? { schema } : {}) });
const body = (schema: z.ZodType, required = true) => ({ schema, required });
const executionId = { id: executionIdParam };
const userId = { id: userIdParam };
const variableKey = { key: keySchema };
const secret = { name: secretName };

const operations: Operation[] = [
  {
    method: 'post',
    path: '/api/v1/executions',
    summary: 'Submit an execution',
    body: {
      ...body(createExecutionSchema),
      description:
        'JSON, or for large files multipart/form-data: the first part is the field "request" holding the JSON request (validated before any file is stored), ' +
        'every later part a file (a part with a filename) whose field name is its path under /work, mode 0644, streamed into the file store. ' +
        'Limits per file and in all as for JSON files (413 naming the part); a bad or repeated path, a missing, late or invalid "request", an unknown field: 400 naming it.',
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['request'],
            properties: { request: { $ref: '#/components/schemas/ExecutionRequest' } },
            additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream', description: 'a file: the field name is its path under /work' },
          },
          encoding: { request: { contentType: 'application/json, text/plain' } },
        },
      },
    },
    responses: {
      200: ok('With wait: true, the finished execution', executionDetailSchema),
      202: ok('Accepted and queued', acceptedSchema),
      413: apiError(),
      429: apiError('USER_QUEUE_FULL: the caller has maxQueuedPerUser executions queued already'),
      503: apiError('QUEUE_FULL: the queue holds maxQueue executions'),
      ...commonErrors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/executions',
    summary: 'List executions (newest first, cursor pagination); a user sees their own, an admin everyone’s',
    query: listExecutionsQuery,
    responses: { 200: ok('A page of executions', executionPageSchema), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}',
    summary: 'One execution, with its script and input; a queued one says why it waits (queue)',
    params: executionId,
    responses: { 200: ok('The execution', executionDetailSchema), ...commonErrors },
  },
  {
    method: 'post',
    path: '/api/v1/executions/{id}/cancel',
    summary: 'Cancel a queued or running execution (no body needed)',
    params: executionId,
    responses: { 202: ok('Cancelling', acceptedSchema), 409: apiError('EXECUTION_NOT_CANCELLABLE: it has ended'), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/logs',
    summary: 'Logs as JSON, or live as Server-Sent Events with Accept: text/event-stream',
    params: executionId,
    responses: {
      200: {
        description:
          'JSON: every stored entry. Event stream: `status` { status }, then `log` (a LogEntry) for each entry stored and to come, then `end` { status, exitCode, truncated } when the execution ends',
        schema: logsSchema,
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      ...commonErrors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/runtime-calls',
    summary: 'The calls the execution made to the runtime API (SDK calls), in order',
    params: executionId,
    responses: { 200: ok('{ items }', lists.RuntimeCallList), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/egress',
    summary: 'The execution’s requests through the egress proxy, allowed and refused (newest first, at most 1000)',
    params: executionId,
    responses: { 200: ok('{ items }', lists.EgressLog), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/artifacts',
    summary: 'What the script left under /work/out (and saved with the SDKs’ saveArtifact), collected when it ended',
    params: executionId,
    responses: { 200: ok('{ items, truncated, expiresAt }', artifactListSchema), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/storage',
    summary: 'What the caller’s artifacts take in the file store; every user’s for an admin with scope=all',
    query: storageQuery,
    responses: { 200: ok('{ items: [{ userId, artifacts: { bytes, files } }] }', storageListSchema), 400: apiError(), 401: apiError() },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/artifacts.zip',
    summary: 'All of the execution’s artifacts as one zip (stored, not compressed; Content-Length known in advance)',
    params: executionId,
    responses: { 200: { description: 'The zip', content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } }, ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/executions/{id}/artifacts/{name}',
    summary:
      'One artifact’s bytes: Content-Disposition attachment (inline=1 shows text, JSON and images in place), ETag (If-None-Match: 304), one byte range (Range: 206, outside it: 416)',
    params: { id: executionIdParam, name: artifactNameParam },
    query: z.object({ inline: z.enum(['1', 'true', '0', 'false']).optional() }),
    responses: {
      200: { description: 'The artifact', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      206: { description: 'The requested range', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      304: ok('Not modified (If-None-Match named its ETag)'),
      410: apiError('ARTIFACT_GONE: its bytes are no longer stored'),
      416: apiError('RANGE_NOT_SATISFIABLE: the range is outside the artifact'),
      ...commonErrors,
    },
  },
  {
    method: 'get',
    path: '/api/v1/stats',
    summary: 'The overview’s numbers for the last hours: the caller’s own executions, or everyone’s for an admin (scope=all)',
    query: statsQuery,
    responses: { 200: ok('Counts per status and per hour, success rate, p50/p95 durations', statsSchema), 400: apiError(), 401: apiError() },
  },
  {
    method: 'get',
    path: '/api/v1/runtimes',
    summary: 'The runtimes this server offers (language, exact version, image, default, contents): what `runtime` may name',
    responses: { 200: ok('{ items }', lists.RuntimeList), 401: apiError() },
  },
  {
    method: 'get',
    path: '/api/v1/images',
    summary: 'Custom images admins registered: what `image` may name',
    responses: { 200: ok('{ items }', lists.CustomImageList), 401: apiError() },
  },
  {
    method: 'post',
    path: '/api/v1/images',
    summary: 'Register a custom image (admins only), after checking it can run the launcher: entrypoint, user 10001, interpreter and SDK, in a hardened test sandbox',
    body: body(registerImageSchema),
    responses: {
      201: ok('The registered image', customImageSchema),
      409: apiError('IMAGE_EXISTS: the name is taken'),
      422: apiError('IMAGE_CHECK_FAILED: the image cannot run the launcher (the message says why)'),
      ...commonErrors,
    },
  },
  {
    method: 'delete',
    path: '/api/v1/images/{name}',
    summary: 'Unregister a custom image (admins only)',
    params: { name: imageNameParam },
    responses: { 204: ok('Removed'), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/egress/rules',
    summary: 'Egress rules: all of them for an admin; the global ones and the caller’s own for a user',
    responses: { 200: ok('{ items }', lists.EgressRuleList), 401: apiError() },
  },
  {
    method: 'post',
    path: '/api/v1/egress/rules',
    summary: 'Add an egress rule (global: admins only)',
    body: body(createRuleSchema),
    responses: { 201: ok('The rule', egressRuleSchema), 409: apiError('EGRESS_RULE_EXISTS: the same rule exists already'), ...commonErrors },
  },
  {
    method: 'delete',
    path: '/api/v1/egress/rules/{id}',
    summary: 'Remove an egress rule (global ones: admins only)',
    params: { id: ruleIdParam },
    responses: { 204: ok('Removed'), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/egress/log',
    summary: 'Requests through the egress proxy, newest first: the caller’s own, or anyone’s for an admin',
    query: egressLogQuery,
    responses: { 200: ok('{ items }', lists.EgressLog), ...commonErrors },
  },
  {
    method: 'get',
    path: '/api/v1/dependency-bundles',
    summary: 'Dependency bundles in the cache, most recently used first (admins only)',
    responses: { 200: ok('{ items }', lists.DependencyBundleList), 401: apiError(), 403: apiError() },
  },
  {
    method: 'delete',
    path: '/api/v1/dependency-bundles/{key}',
    summary: 'Remove a dependency bundle; the next request for its packages resolves them again (admins only)',
    params: { key: bundleKeyParam },
    responses: { 204: ok('Removed'), 409: apiError('CONFLICT: the bundle is mounted by a running execution'), ...commonErrors },
  },
  { method: 'get', path: '/api/v1/variables', summary: 'The caller’s variables', responses: { 200: ok('{ items }', lists.VariableList), 401: apiError() } },
  {
    method: 'get',
    path: '/api/v1/variables/{key}',
    summary: 'One variable',
    params: variableKey,
    responses: { 200: ok('The variable', variableSchema), 400: apiError(), 401: apiError(), 404: apiError() },
  },
  {
    method: 'put',
    path: '/api/v1/variables/{key}',
    summary: 'Set a variable { value } (any JSON)',
    params: variableKey,
    body: body(valueBody),
    responses: { 200: ok('Saved', variableSchema), 400: apiError(), 401: apiError(), 413: apiError() },
  },
  {
    method: 'delete',
    path: '/api/v1/variables/{key}',
    summary: 'Delete a variable',
    params: variableKey,
    responses: { 204: ok('Deleted'), 400: apiError(), 401: apiError(), 404: apiError() },
  },
  {
    method: 'get',
    path: '/api/v1/secrets',
    summary: 'The caller’s secrets: names and dates, never values',
    responses: { 200: ok('{ items }', lists.SecretList), 401: apiError() },
  },
  {
    method: 'put',
    path: '/api/v1/secrets/{name}',
    summary: 'Create or replace a secret { value }',
    params: secret,
    body: body(putSecretSchema),
    responses: { 200: ok('Replaced', secretSchema), 201: ok('Created', secretSchema), 400: apiError(), 401: apiError(), 413: apiError() },
  },
  {
    method: 'delete',
    path: '/api/v1/secrets/{name}',
    summary: 'Delete a secret',
    params: secret,
    responses: { 204: ok('Deleted'), 400: apiError(), 401: apiError(), 404: apiError() },
  },
  { method: 'get', path: '/api/v1/me', summary: 'The caller', responses: { 200: ok('The caller', userSchema), 401: apiError() } },
  { method: 'get', path: '/api/v1/users', summary: 'admins: every user', responses: { 200: ok('{ items }', lists.UserList), 401: apiError(), 403: apiError() } },
  {
    method: 'post',
    path: '/api/v1/users',
    summary: 'admins: create a user { name, role }',
    body: body(createUserSchema),
    responses: { 201: ok('Created', userSchema), 400: apiError(), 401: apiError(), 403: apiError(), 409: apiError('CONFLICT: the name is taken') },
  },
  {
    method: 'patch',
    path: '/api/v1/users/{id}',
    summary: 'admins: disable or enable a user, change their role; disabling cancels their queued and running executions',
    params: userId,
    body: body(updateUserSchema, false),
    responses: { 200: ok('The user', userSchema), ...commonErrors, 409: apiError('LAST_ADMIN: it would demote or disable the last enabled admin') },
  },
  {
    method: 'delete',
    path: '/api/v1/users/{id}',
    summary: 'admins: delete a user; their executions stay, their keys, secrets, variables and own egress rules go, their queued and running executions are cancelled',
    params: userId,
    responses: { 204: ok('Deleted'), ...commonErrors, 409: apiError('LAST_ADMIN: the last enabled admin') },
  },
  {
    method: 'get',
    path: '/api/v1/users/{id}/keys',
    summary: 'A user’s API keys, without their values (a user may list their own)',
    params: userId,
    responses: { 200: ok('{ items }', lists.ApiKeyList), 401: apiError(), 403: apiError() },
  },
  {
    method: 'post',
    path: '/api/v1/users/{id}/keys',
    summary: 'admins: issue a key { name }; the key is in this answer only',
    params: userId,
    body: body(createKeySchema, false),
    responses: { 201: ok('The key', issuedKeySchema), ...commonErrors },
  },
  { method: 'delete', path: '/api/v1/keys/{id}', summary: 'admins: revoke a key', params: { id: keyIdParam }, responses: { 204: ok('Revoked'), ...commonErrors } },
  { method: 'get', path: '/api/v1/settings', summary: 'admins: the settings', responses: { 200: ok('Settings', settingsResponseSchema), 401: apiError(), 403: apiError() } },
  {
    method: 'patch',
    path: '/api/v1/settings',
    summary: 'admins: change settings (the fields given)',
    body: body(settingsPatchSchema),
    responses: { 200: ok('Settings', settingsResponseSchema), 400: apiError(), 401: apiError(), 403: apiError() },
  },
  { method: 'get', path: '/api/v1/openapi.json', summary: 'This document', public: true, responses: { 200: ok('OpenAPI 3.1', anyObject) } },
  {
    method: 'get',
    path: '/health',
    summary: 'Health of the server, its database and its sandbox runtime',
    public: true,
    responses: {
      200: ok('Healthy: database, sandbox runtime, sandbox network, runtime API, egress proxy and host guard, running executions, warm pool', healthSchema),
      503: ok('Degraded: the database or the sandbox runtime is unreachable (same body)', healthSchema),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    public: true,
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/',
    summary: 'What this server is: name, version, where the API, this document and health are',
    public: true,
    responses: { 200: ok('Service information', serviceInfoSchema) },
  },
];

export function openApiDocument() {
  return buildOpenApiDocument({
    info: { title: 'Cronium Sandbox API', version: '1', description: 'Run bash, Python and Node scripts in hardened, throw-away containers.' },
    requestComponents,
    responseComponents,
    operations,
  });
}
