import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { parse } from '../validation.js';
import type { VariablesRepository } from './repository.js';
import { keySchema, valueBody } from './schemas.js';
import { checkVariableSize } from './validation.js';

export interface VariableRoutesOptions {
  variables: VariablesRepository;
  maxVariableBytes: number;
}

export async function variableRoutes(app: FastifyInstance, { variables, maxVariableBytes }: VariableRoutesOptions) {
  app.get('/api/v1/variables', async (req) => ({ items: await variables.list(req.actor.id) }));

  app.get('/api/v1/variables/:key', async (req) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    const v = await variables.get(req.actor.id, key);
    if (!v) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return v;
  });

  app.put('/api/v1/variables/:key', async (req) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    const { value } = parse(valueBody, req.body ?? {});
    checkVariableSize(value, maxVariableBytes);
    await variables.put(req.actor.id, key, value);
    return (await variables.get(req.actor.id, key))!;
  });

  app.delete('/api/v1/variables/:key', async (req, reply) => {
    const key = parse(keySchema, (req.params as { key: string }).key, 'key');
    if (!(await variables.delete(req.actor.id, key))) throw new AppError('VARIABLE_NOT_FOUND', 404, `variable "${key}" is not set`);
    return reply.code(204).send();
  });
}
