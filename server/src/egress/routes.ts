import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { UsersRepository } from '../auth/users-repository.js';
import { AppError, badRequest, notFound } from '../errors.js';
import { parse } from '../validation.js';
import { validatePattern, validatePorts } from './policy.js';
import type { EgressRepository } from './repository.js';
import { createRuleSchema, egressLogQuery } from './schemas.js';

export interface EgressRoutesOptions {
  egress: EgressRepository;
  /** A user-scoped rule must name a user that exists. */
  users: UsersRepository;
}

export async function egressRoutes(app: FastifyInstance, { egress, users }: EgressRoutesOptions) {
  const serialize = (r: Awaited<ReturnType<typeof egress.get>>) =>
    r && { id: r.id, pattern: r.pattern, ports: r.ports ?? null, scope: r.scope, userId: r.userId, createdAt: r.createdAt.toISOString() };

  app.get('/api/v1/egress/rules', async (req) => {
    const rows = req.actor.role === 'admin' ? await egress.allRules() : await egress.rulesVisibleTo(req.actor.id);
    return { items: rows.map(serialize) };
  });

  app.post('/api/v1/egress/rules', async (req, reply) => {
    const body = parse(createRuleSchema, req.body ?? {});
    if (body.scope === 'global') requireAdmin(req);
    if (body.userId && body.userId !== req.actor.id) requireAdmin(req);
    const pattern = validatePattern(body.pattern);
    if (!pattern.ok) throw badRequest(`pattern: ${pattern.error.message}`, 'pattern');
    let ports: number[] | null = null;
    if (body.ports) {
      const p = validatePorts(body.ports);
      if (!p.ok) throw badRequest(`ports: ${p.error.message}`, 'ports');
      ports = p.ports;
    }
    const userId = body.scope === 'global' ? null : (body.userId ?? req.actor.id);
    if (userId) await users.get(userId);
    const made = await egress.create({ pattern: pattern.pattern, ports, scope: body.scope, userId, createdBy: req.actor.id });
    if (!made.created) {
      const e = made.existing;
      const shown = `${e.pattern}${e.ports ? ` on ${e.ports.join(', ')}` : ''}`;
      throw new AppError('EGRESS_RULE_EXISTS', 409, `the same rule exists already: ${shown} (${e.scope}), id ${e.id}`, 'pattern');
    }
    return reply.code(201).send(serialize(made.row));
  });

  app.delete('/api/v1/egress/rules/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const row = await egress.get(id);
    if (!row || (req.actor.role !== 'admin' && row.userId !== req.actor.id)) {
      if (row?.scope === 'global') throw new AppError('FORBIDDEN', 403, 'only admins may remove global rules');
      throw notFound(`egress rule ${id}`);
    }
    await egress.delete(id);
    return reply.code(204).send();
  });

  app.get('/api/v1/egress/log', async (req) => {
    const q = parse(egressLogQuery, req.query ?? {}, 'query');
    if (q.userId && q.userId !== req.actor.id) requireAdmin(req);
    const userId = req.actor.role === 'admin' ? q.userId : req.actor.id;
    const items = await egress.log({
      userId,
      executionId: q.executionId,
      allowed: q.decision === undefined ? undefined : q.decision === 'allowed',
      limit: q.limit,
    });
    return { items };
  });
}
