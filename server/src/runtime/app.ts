import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ExecutionClaims, ExecutionTokens, Scope, TokenRefusal } from '../auth/execution-tokens.js';
import { AppError, badRequest, tooLarge, unauthorized } from '../errors.js';
import type { ExecutionMaskers } from '../executions/maskers.js';
import type { Masker } from '../executions/masking.js';
import type { ExecutionRow, ExecutionsRepository } from '../executions/repository.js';
import { acceptEmptyJsonBodies, installErrorHandling, refuseOversizedBodies } from '../http-errors.js';
import { httpTimeoutOptions, installIdleTimeout, type HttpTimeouts } from '../http-timeouts.js';
import type { SecretsRepository } from '../secrets/repository.js';
import { secretName } from '../secrets/schemas.js';
import { parse } from '../validation.js';
import type { VariablesRepository } from '../variables/repository.js';
import { keySchema, valueOrNullBody } from '../variables/schemas.js';
import { checkVariableSize } from '../variables/validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the execution token vouches for. */
    claims: ExecutionClaims;
    execution: ExecutionRow;
    /** The execution's masker: whatever the call records (output, variables, the call itself) goes through it. */
    masker: Masker;
    callDetail?: string;
  }
}

export interface RuntimeApiDeps {
  tokens: ExecutionTokens;
  /** The engine's: a running execution's masker, wherever it runs. */
  maskers: ExecutionMaskers;
  executions: ExecutionsRepository;
  variables: VariablesRepository;
  secrets: SecretsRepository;
  log: FastifyBaseLogger;
  sizes: { maxOutputBytes: number; maxVariableBytes: number };
  http: HttpTimeouts;
}

/** What the sandbox is told when its token is refused. */
function refusalMessage(r: TokenRefusal): string {
  switch (r.reason) {
    case 'invalid':
      return 'invalid execution token (bad signature, audience or claims)';
    case 'expired':
      return 'the execution token has expired';
    case 'unknown_execution':
    case 'earlier_attempt':
      return 'invalid execution token';
    case 'ended':
      return `execution ${r.row.id} has ended (${r.row.status}); its token is no longer valid`;
  }
}

const conditionBody = z.object({ value: z.boolean({ error: 'must be true or false' }) }).strict();

/**
 * The runtime API that sandboxes call back to. It listens only on the sandbox network's side and accepts only
 * execution tokens, each good for its own execution while that execution runs.
 */
export async function buildRuntimeApi(deps: RuntimeApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Sandboxes call often; per-request logs (info) would drown the server's own.
    loggerInstance: deps.log.child({ component: 'runtime-api' }, { level: deps.log.level === 'silent' ? 'silent' : 'warn' }),
    bodyLimit: Math.max(deps.sizes.maxOutputBytes, deps.sizes.maxVariableBytes) + 4096,
    routerOptions: { maxParamLength: 1000 },
    ...httpTimeoutOptions(deps.http),
  });
  installIdleTimeout(app, deps.http);
  installErrorHandling(app);
  acceptEmptyJsonBodies(app);
  refuseOversizedBodies(app, app.initialConfig.bodyLimit!);
  app.decorateRequest('claims', null as unknown as ExecutionClaims);
  app.decorateRequest('execution', null as unknown as ExecutionRow);
  app.decorateRequest('masker', null as unknown as Masker);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthorized('missing execution token: send "Authorization: Bearer $CRONIUM_TOKEN"');
    const token = m[1]!;
    if (token.startsWith('csk_')) throw unauthorized('the runtime API accepts only execution tokens, not API keys');
    const check = await deps.tokens.verify(token);
    if (!check.ok) throw unauthorized(refusalMessage(check));
    req.masker = await deps.maskers.of(check.row, token);
    req.claims = check.claims;
    req.execution = check.row;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!req.execution) return;
    await deps.executions
      .recordRuntimeCall({
        executionId: req.execution.id,
        method: req.method,
        path: recordedPath(req.url, req.masker),
        status: reply.statusCode,
        detail: req.callDetail === undefined ? null : req.masker.mask(req.callDetail),
      })
      .catch((err: unknown) => req.log.warn({ err }, 'could not record runtime call'));
  });

  const need = (req: FastifyRequest, scope: Scope) => {
    if (!req.claims.scopes.includes(scope)) throw new AppError('FORBIDDEN', 403, `this token lacks the scope ${scope}`);
  };
  const maskFor = (req: FastifyRequest) => (v: unknown) => req.masker.maskJson(v);
  /** A call on one variable: its scope checked, its key validated and recorded with the call. */
  const variableCall = (req: FastifyRequest, scope: Scope) => {
    need(req, scope);
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    req.callDetail = `variable:${key}`;
    return key;
  };

  app.get('/runtime/v1/input', async (req) => {
    need(req, 'input:read');
    return { input: req.execution.input ?? null };
  });

  app.get('/runtime/v1/context', async (req) => {
    need(req, 'context:read');
    const e = req.execution;
    return {
      executionId: e.id,
      userId: e.userId,
      language: e.language,
      deadline: e.deadlineAt?.toISOString() ?? null,
      attempt: e.attempt,
      event: e.event ?? null,
    };
  });

  app.put('/runtime/v1/output', async (req) => {
    need(req, 'output:write');
    const { value } = parse(valueOrNullBody, req.body ?? {});
    if (Buffer.byteLength(JSON.stringify(value ?? null)) > deps.sizes.maxOutputBytes) {
      throw tooLarge(`output is larger than the limit of ${deps.sizes.maxOutputBytes} bytes`, 'value');
    }
    await deps.executions.setOutput(req.execution.id, maskFor(req)(value ?? null));
    return { ok: true };
  });

  app.put('/runtime/v1/condition', async (req) => {
    need(req, 'condition:write');
    const { value } = parse(conditionBody, req.body ?? {});
    await deps.executions.update(req.execution.id, { condition: value });
    return { ok: true };
  });

  app.get('/runtime/v1/variables/:key', async (req) => {
    const key = variableCall(req, 'variables:read');
    const v = await deps.variables.get(req.execution.userId, key);
    if (!v) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return { key, value: v.value };
  });

  app.put('/runtime/v1/variables/:key', async (req) => {
    const key = variableCall(req, 'variables:write');
    // Keys are listed as they are wherever variables are shown: one that holds a secret is refused, not masked
    // (a masked key would be a different variable, and one the API could not name).
    if (req.masker.mask(key) !== key) {
      throw badRequest('key: contains the value of a secret granted to this execution; variable keys are never masked', 'key');
    }
    const { value } = parse(valueOrNullBody, req.body ?? {});
    checkVariableSize(value, deps.sizes.maxVariableBytes);
    const stored = maskFor(req)(value ?? null);
    // Saved at once: a later failure of the script does not undo it.
    await deps.variables.put(req.execution.userId, key, stored, req.execution.id);
    await deps.executions.recordVariableSet(req.execution.id, key, stored);
    return { ok: true };
  });

  app.delete('/runtime/v1/variables/:key', async (req) => {
    const key = variableCall(req, 'variables:write');
    const deleted = await deps.variables.delete(req.execution.userId, key);
    await deps.executions.recordVariableDeleted(req.execution.id, key);
    return { deleted };
  });

  app.get('/runtime/v1/secrets/:name', async (req) => {
    const name = parse(secretName, (req.params as { name: string }).name, 'name');
    req.callDetail = `secret:${name}`;
    if (!req.claims.scopes.includes('secrets:read') || !req.claims.secrets.includes(name) || !req.execution.secrets.includes(name)) {
      throw new AppError('SECRET_NOT_GRANTED', 403, `secret "${name}" was not granted to this execution (grant it with "secrets": ["${name}"])`);
    }
    const values = await deps.secrets.reveal(req.execution.userId, [name]);
    const value = values.get(name);
    if (value === undefined) throw new AppError('SECRET_NOT_FOUND', 404, `secret "${name}" no longer exists`);
    await deps.executions.recordSecretRead(req.execution.id, name);
    return { name, value };
  });

  return app;
}

/**
 * A call's path as recorded: secrets masked in it as sent and, since a client may percent-encode them, as decoded
 * (then recorded decoded, masked and encoded again).
 */
export function recordedPath(url: string, masker: Masker): string {
  const sent = masker.mask(url.split('?')[0]!);
  let decoded: string;
  try {
    decoded = decodeURIComponent(sent);
  } catch {
    return sent;
  }
  const masked = masker.mask(decoded);
  return masked === decoded ? sent : encodeURI(masked);
}
