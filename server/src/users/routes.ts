import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { UsersRepository } from '../auth/users-repository.js';
import { parse } from '../validation.js';
import type { UserManagement } from './management.js';
import { createKeySchema, createUserSchema, updateUserSchema } from './schemas.js';

export interface UserRoutesOptions {
  users: UsersRepository;
  /** Disabling and deleting users (their queued and running executions go with them). */
  manage: UserManagement;
}

export async function userRoutes(app: FastifyInstance, { users, manage }: UserRoutesOptions) {
  app.get('/api/v1/me', async (req) => req.actor);

  app.get('/api/v1/users', async (req) => {
    requireAdmin(req);
    return { items: await users.list() };
  });

  app.post('/api/v1/users', async (req, reply) => {
    requireAdmin(req);
    const body = parse(createUserSchema, req.body ?? {});
    const user = await users.create(body.name, body.role);
    return reply.code(201).send(user);
  });

  /** Disable or enable, promote or demote; a disabled user's queued and running executions are cancelled. */
  app.patch('/api/v1/users/:id', async (req) => {
    requireAdmin(req);
    const body = parse(updateUserSchema, req.body ?? {});
    return manage.update((req.params as { id: string }).id, body);
  });

  /** The user's executions stay (attributed to the deleted user); keys, secrets, variables and own rules go. */
  app.delete('/api/v1/users/:id', async (req, reply) => {
    requireAdmin(req);
    await manage.delete((req.params as { id: string }).id);
    return reply.code(204).send();
  });

  app.get('/api/v1/users/:id/keys', async (req) => {
    const { id } = req.params as { id: string };
    if (id !== req.actor.id) requireAdmin(req);
    return { items: await users.listKeys(id) };
  });

  /** The key itself is in this answer only; the server keeps its hash. */
  app.post('/api/v1/users/:id/keys', async (req, reply) => {
    requireAdmin(req);
    const { id } = req.params as { id: string };
    const body = parse(createKeySchema, req.body ?? {});
    await users.get(id);
    const key = await users.issueKey(id, body.name);
    return reply.code(201).send({ ...key, userId: id, name: body.name });
  });

  app.delete('/api/v1/keys/:id', async (req, reply) => {
    requireAdmin(req);
    await users.revokeKey((req.params as { id: string }).id);
    return reply.code(204).send();
  });
}
