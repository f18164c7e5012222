import type { FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';
import type { ExecutionRow, ExecutionsRepository } from './repository.js';

/** The `:id` of a request's path, if it can be an execution's. */
function executionIdParam(req: FastifyRequest): string {
  const id = (req.params as { id: string }).id;
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound(`execution ${id}`);
  return id;
}

/** The execution of `:id` as the caller may see it: someone else's is reported as missing, so ids cannot be probed. */
export async function visibleExecution(executions: Pick<ExecutionsRepository, 'get'>, req: FastifyRequest): Promise<ExecutionRow> {
  const id = executionIdParam(req);
  const row = await executions.get(id);
  if (!row || (req.actor.role !== 'admin' && row.userId !== req.actor.id)) throw notFound(`execution ${id}`);
  return row;
}
