import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import { AppError, notFound } from '../errors.js';
import { parse } from '../validation.js';
import { DependencyError } from './errors.js';
import { bundleKeyParam } from './schemas.js';

/** What the routes use of the dependency service. */
export interface BundleAdmin {
  list(): unknown[];
  remove(key: string): void;
}

export interface DependencyRoutesOptions {
  bundles: BundleAdmin;
}

/** Admin routes of the bundle cache: list the bundles, remove one (the next request for its set resolves again). */
export async function dependencyRoutes(app: FastifyInstance, { bundles }: DependencyRoutesOptions) {
  app.get('/api/v1/dependency-bundles', async (req) => {
    requireAdmin(req);
    return { items: bundles.list() };
  });

  app.delete('/api/v1/dependency-bundles/:key', async (req, reply) => {
    requireAdmin(req);
    const key = parse(bundleKeyParam, (req.params as { key: string }).key, 'key');
    try {
      bundles.remove(key);
    } catch (err) {
      if (err instanceof DependencyError && err.code === 'BUNDLE_NOT_FOUND') throw notFound(`dependency bundle ${key}`);
      if (err instanceof DependencyError && err.code === 'BUNDLE_IN_USE') throw new AppError('CONFLICT', 409, err.message);
      throw err;
    }
    return reply.code(204).send();
  });
}
