import fs from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppContext } from './context.js';
import { authPlugin } from './auth/plugin.js';
import { egressRoutes } from './egress/routes.js';
import { executionRoutes } from './executions/routes.js';
import { healthRoutes } from './health/routes.js';
import { acceptEmptyJsonBodies, installErrorHandling, refuseOversizedBodies } from './http-errors.js';
import { httpTimeoutOptions, installIdleTimeout } from './http-timeouts.js';
import { openApiDocument } from './api/operations.js';
import { secretRoutes } from './secrets/routes.js';
import { settingsRoutes } from './settings/routes.js';
import { userRoutes } from './users/routes.js';
import { variableRoutes } from './variables/routes.js';

export interface RegisteredRoute {
  method: string;
  /** Fastify's spelling: `/api/v1/executions/:id`. */
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the public API serves (HEAD routes Fastify adds for GET routes left out): what the OpenAPI document must describe. */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

/** The public API: API keys only, never execution tokens. */
export async function buildPublicApi(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: ctx.config.sizes.maxScriptBytes + ctx.config.sizes.maxInputBytes + 256 * 1024,
    trustProxy: false,
    routerOptions: { maxParamLength: 1000 },
    ...httpTimeoutOptions(ctx.config.http),
  });
  const routes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method === 'HEAD' && r.exposeHeadRoute !== false && routes.some((x) => x.method === 'GET' && x.url === r.url)) continue;
      routes.push({ method, url: r.url });
    }
  });
  installIdleTimeout(app, ctx.config.http);
  installErrorHandling(app);
  acceptEmptyJsonBodies(app);
  refuseOversizedBodies(app, app.initialConfig.bodyLimit!);
  await app.register(authPlugin, { users: ctx.users });
  await app.register(healthRoutes, { ctx });
  await app.register(executionRoutes, { ctx });
  await app.register(userRoutes, { ctx });
  await app.register(settingsRoutes, { ctx });
  await app.register(secretRoutes, { ctx });
  await app.register(variableRoutes, { ctx });
  await app.register(egressRoutes, { ctx });
  app.get('/api/v1/openapi.json', { config: { public: true } }, async () => openApiDocument());
  app.get('/', { config: { public: true } }, async () => ({
    name: 'Cronium Sandbox',
    api: '/api/v1',
    openapi: '/api/v1/openapi.json',
    health: '/health',
    version: JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string,
  }));
  return app;
}
