import crypto from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/driver.js';
import { executions, runtimeCalls } from '../db/schema.js';
import { AppError, badRequest, tooLarge, unauthorized } from '../errors.js';
import type { ExecutionEngine } from '../executions/engine.js';
import { executionMaskers } from '../executions/maskers.js';
import type { Masker } from '../executions/masking.js';
import type { ExecutionRow, ExecutionsRepository } from '../executions/repository.js';
import { secretName } from '../executions/request.js';
import { acceptEmptyJsonBodies, installErrorHandling, refuseOversizedBodies } from '../http-errors.js';
import { httpTimeoutOptions, installIdleTimeout, type HttpTimeouts } from '../http-timeouts.js';
import type { SecretsRepository } from '../secrets/repository.js';
import { parse, storableJson } from '../validation.js';
import type { VariablesRepository } from '../variables/repository.js';
import { checkVariableSize, keySchema } from '../variables/routes.js';
import type { FastifyBaseLogger } from 'fastify';

export const TOKEN_AUDIENCE = 'cronium-runtime';
export const TOKEN_ISSUER = 'cronium';

export type Scope =
  | 'input:read'
  | 'context:read'
  | 'output:write'
  | 'condition:write'
  | 'variables:read'
  | 'variables:write'
  | 'secrets:read';

export interface ExecutionClaims {
  sub: string;
  exe: string;
  scopes: Scope[];
  secrets: string[];
  jti: string;
  exp: number;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: ExecutionClaims & { aud: string; iss: string };
    user: ExecutionClaims;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    execution: ExecutionRow;
    /** The execution's masker: whatever the call records (output, variables, the call itself) goes through it. */
    masker: Masker;
    callDetail?: string;
  }
}

export interface RuntimeServerDeps {
  db: Db;
  executions: ExecutionsRepository;
  variables: VariablesRepository;
  secrets: SecretsRepository;
  engine: ExecutionEngine;
  jwtSecret: Buffer;
  log: FastifyBaseLogger;
  sizes: { maxOutputBytes: number; maxVariableBytes: number };
  http: HttpTimeouts;
}

const valueBody = z.object({ value: storableJson }).strict();
const conditionBody = z.object({ value: z.boolean({ error: 'must be true or false' }) }).strict();

/**
 * The runtime API that sandboxes call back to. It listens only on the sandbox network's side and accepts only
 * execution tokens, each good for its own execution while that execution runs.
 */
export async function createRuntimeServer(deps: RuntimeServerDeps): Promise<FastifyInstance> {
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
  await app.register(fastifyJwt, {
    secret: deps.jwtSecret,
    sign: { algorithm: 'HS256', aud: TOKEN_AUDIENCE, iss: TOKEN_ISSUER },
    verify: { algorithms: ['HS256'], allowedAud: TOKEN_AUDIENCE, allowedIss: TOKEN_ISSUER, requiredClaims: ['exe', 'sub', 'jti', 'exp'] },
  });

  app.decorateRequest('execution', null as unknown as ExecutionRow);
  app.decorateRequest('masker', null as unknown as Masker);
  const maskers = executionMaskers(deps);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthorized('missing execution token: send "Authorization: Bearer $CRONIUM_TOKEN"');
    if (m[1]!.startsWith('csk_')) throw unauthorized('the runtime API accepts only execution tokens, not API keys');
    try {
      await req.jwtVerify();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      throw unauthorized(
        code.includes('EXPIRED') ? 'the execution token has expired' : 'invalid execution token (bad signature, audience or claims)',
      );
    }
    const claims = req.user;
    const row = await deps.executions.get(claims.exe);
    // A token is worth something only while its own execution runs, in the attempt it was issued for.
    if (!row || row.userId !== claims.sub || row.tokenId !== claims.jti) throw unauthorized('invalid execution token');
    if (row.status !== 'running') throw unauthorized(`execution ${row.id} has ended (${row.status}); its token is no longer valid`);
    req.masker = await maskers.of(row, m[1]!);
    req.execution = row;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!req.execution) return;
    await deps.db
      .insert(runtimeCalls)
      .values({
        executionId: req.execution.id,
        method: req.method,
        path: recordedPath(req.url, req.masker),
        status: reply.statusCode,
        detail: req.callDetail === undefined ? null : req.masker.mask(req.callDetail),
      })
      .catch((err: unknown) => req.log.warn({ err }, 'could not record runtime call'));
  });

  const need = (req: FastifyRequest, scope: Scope) => {
    if (!req.user.scopes.includes(scope)) throw new AppError('FORBIDDEN', 403, `this token lacks the scope ${scope}`);
  };
  const maskFor = (req: FastifyRequest) => (v: unknown) => req.masker.maskJson(v);

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
    const { value } = parse(valueBody, req.body ?? {});
    if (Buffer.byteLength(JSON.stringify(value ?? null)) > deps.sizes.maxOutputBytes) {
      throw tooLarge(`output is larger than the limit of ${deps.sizes.maxOutputBytes} bytes`, 'value');
    }
    const masked = maskFor(req)(value ?? null);
    await deps.db
      .update(executions)
      .set({ output: masked === null ? sql`'null'::jsonb` : masked, hasOutput: true })
      .where(sql`${executions.id} = ${req.execution.id}`);
    return { ok: true };
  });

  app.put('/runtime/v1/condition', async (req) => {
    need(req, 'condition:write');
    const { value } = parse(conditionBody, req.body ?? {});
    await deps.executions.update(req.execution.id, { condition: value });
    return { ok: true };
  });

  app.get('/runtime/v1/variables/:key', async (req) => {
    need(req, 'variables:read');
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    req.callDetail = `variable:${key}`;
    const v = await deps.variables.get(req.execution.userId, key);
    if (!v) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return { key, value: v.value };
  });

  app.put('/runtime/v1/variables/:key', async (req) => {
    need(req, 'variables:write');
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    req.callDetail = `variable:${key}`;
    // Keys are listed as they are wherever variables are shown: one that holds a secret is refused, not masked
    // (a masked key would be a different variable, and one the API could not name).
    if (req.masker.mask(key) !== key) {
      throw badRequest('key: contains the value of a secret granted to this execution; variable keys are never masked', 'key');
    }
    const { value } = parse(valueBody, req.body ?? {});
    checkVariableSize(value, deps.sizes.maxVariableBytes);
    const stored = maskFor(req)(value ?? null);
    // Saved at once: a later failure of the script does not undo it.
    await deps.variables.put(req.execution.userId, key, stored, req.execution.id);
    await deps.db
      .update(executions)
      .set({ variablesSet: sql`${executions.variablesSet} || jsonb_build_object(${key}::text, ${JSON.stringify(stored)}::jsonb)` })
      .where(sql`${executions.id} = ${req.execution.id}`);
    return { ok: true };
  });

  app.delete('/runtime/v1/variables/:key', async (req) => {
    need(req, 'variables:write');
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    req.callDetail = `variable:${key}`;
    const deleted = await deps.variables.delete(req.execution.userId, key);
    await deps.db
      .update(executions)
      .set({ variablesSet: sql`${executions.variablesSet} - ${key}::text` })
      .where(sql`${executions.id} = ${req.execution.id}`);
    return { deleted };
  });

  app.get('/runtime/v1/secrets/:name', async (req) => {
    const name = parse(secretName, (req.params as { name: string }).name, 'name');
    req.callDetail = `secret:${name}`;
    if (!req.user.scopes.includes('secrets:read') || !req.user.secrets.includes(name) || !req.execution.secrets.includes(name)) {
      throw new AppError('SECRET_NOT_GRANTED', 403, `secret "${name}" was not granted to this execution (grant it with "secrets": ["${name}"])`);
    }
    const values = await deps.secrets.reveal(req.execution.userId, [name]);
    const value = values.get(name);
    if (value === undefined) throw new AppError('SECRET_NOT_FOUND', 404, `secret "${name}" no longer exists`);
    await deps.db
      .update(executions)
      .set({
        secretsRead: sql`case when ${executions.secretsRead} ? ${name}::text then ${executions.secretsRead} else ${executions.secretsRead} || jsonb_build_array(${name}::text) end`,
      })
      .where(sql`${executions.id} = ${req.execution.id}`);
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

export function signExecutionToken(app: FastifyInstance, row: ExecutionRow, expiresAt: Date): string {
  const scopes: Scope[] = ['input:read', 'context:read', 'output:write', 'condition:write', 'variables:read', 'variables:write'];
  if (row.secrets.length) scopes.push('secrets:read');
  return app.jwt.sign({
    sub: row.userId,
    exe: row.id,
    scopes,
    secrets: row.secrets,
    jti: row.tokenId ?? crypto.randomUUID(),
    exp: Math.floor(expiresAt.getTime() / 1000),
  } as ExecutionClaims & { aud: string; iss: string });
}
