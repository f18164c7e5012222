import type { FastifyInstance } from 'fastify';
import type { RuntimeCatalog } from './catalog.js';

export interface RuntimeRoutesOptions {
  runtimes: RuntimeCatalog;
}

export async function runtimeRoutes(app: FastifyInstance, { runtimes }: RuntimeRoutesOptions) {
  app.get('/api/v1/runtimes', async () => ({ items: runtimes.list() }));
}
