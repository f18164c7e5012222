import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { AppError, tooLarge } from '../errors.js';
import { parse } from '../validation.js';
import { keySchema, valueBody } from './schemas.js';

/** The runtime API (runtime/server.ts) imports the key's schema from here; it is defined with the other schemas. */
export { keySchema };

export function checkVariableSize(value: unknown, max: number) {
  if (Buffer.byteLength(JSON.stringify(value ?? null)) > max) throw tooLarge(`value is larger than the limit of ${max} bytes`, 'value');
}

export async function variableRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }) {
  app.get('/api/v1/variables', async (req) => ({ items: await ctx.variables.list(req.actor.id) }));

  app.get('/api/v1/variables/:key', async (req) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    const v = await ctx.variables.get(req.actor.id, key);
    if (!v) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return v;
  });

  app.put('/api/v1/variables/:key', async (req) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    const { value } = parse(valueBody, req.body ?? {});
    checkVariableSize(value, ctx.config.sizes.maxVariableBytes);
    await ctx.variables.put(req.actor.id, key, value);
    return (await ctx.variables.get(req.actor.id, key))!;
  });

  app.delete('/api/v1/variables/:key', async (req, reply) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    if (!(await ctx.variables.delete(req.actor.id, key))) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return reply.code(204).send();
  });
}
