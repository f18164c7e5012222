import fs from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { authPlugin } from './auth/plugin.js';
import type { UsersRepository } from './auth/users-repository.js';
import { type DependencyRoutesOptions, dependencyRoutes } from './dependencies/routes.js';
import { type ArtifactRoutesOptions, artifactRoutes } from './files/artifact-routes.js';
import { type EgressRoutesOptions, egressRoutes } from './egress/routes.js';
import { type ExecutionRoutesOptions, executionRoutes } from './executions/routes.js';
import { type HealthRoutesOptions, healthRoutes } from './health/routes.js';
import { acceptEmptyJsonBodies, installErrorHandling, refuseOversizedBodies } from './http-errors.js';
import { type HttpTimeouts, httpTimeoutOptions, installIdleTimeout } from './http-timeouts.js';
import { openApiDocument } from './api/operations.js';
import { type ImageRoutesOptions, imageRoutes } from './images/routes.js';
import { type RuntimeRoutesOptions, runtimeRoutes } from './runtimes/routes.js';
import { type SecretRoutesOptions, secretRoutes } from './secrets/routes.js';
import { type SettingsRoutesOptions, settingsRoutes } from './settings/routes.js';
import { type UserRoutesOptions, userRoutes } from './users/routes.js';
import { type VariableRoutesOptions, variableRoutes } from './variables/routes.js';

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

export interface PublicApiShell {
  log: FastifyBaseLogger;
  http: HttpTimeouts;
  /** The largest body a route takes (a script and its input, with room for the rest of the request). */
  bodyLimit: number;
}

/** What each plugin of the public API is given: only what it uses. */
export interface PublicApiPlugins {
  /** API keys are looked up in the users' repository. */
  auth: { users: UsersRepository };
  health: HealthRoutesOptions;
  executions: ExecutionRoutesOptions;
  users: UserRoutesOptions;
  settings: SettingsRoutesOptions;
  secrets: SecretRoutesOptions;
  variables: VariableRoutesOptions;
  egress: EgressRoutesOptions;
  runtimes: RuntimeRoutesOptions;
  images: ImageRoutesOptions;
  dependencies: DependencyRoutesOptions;
  artifacts: ArtifactRoutesOptions;
}

/**
 * The public API's server, before its routes: made first, so that the egress proxy (which must refuse the server's
 * own ports) can be given it before the routes that report the proxy's address exist.
 */
export function createPublicApi(shell: PublicApiShell): FastifyInstance {
  const app = Fastify({
    loggerInstance: shell.log,
    bodyLimit: shell.bodyLimit,
    trustProxy: false,
    routerOptions: { maxParamLength: 1000 },
    ...httpTimeoutOptions(shell.http),
  });
  const routes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method === 'HEAD' && r.exposeHeadRoute !== false && routes.some((x) => x.method === 'GET' && x.url === r.url)) continue;
      routes.push({ method, url: r.url });
    }
  });
  installIdleTimeout(app, shell.http);
  installErrorHandling(app);
  acceptEmptyJsonBodies(app);
  refuseOversizedBodies(app, app.initialConfig.bodyLimit!);
  return app;
}

/** The public API's routes: API keys only, never execution tokens. */
export async function registerPublicApi(app: FastifyInstance, p: PublicApiPlugins): Promise<void> {
  await app.register(authPlugin, p.auth);
  await app.register(healthRoutes, p.health);
  await app.register(executionRoutes, p.executions);
  await app.register(userRoutes, p.users);
  await app.register(settingsRoutes, p.settings);
  await app.register(secretRoutes, p.secrets);
  await app.register(variableRoutes, p.variables);
  await app.register(egressRoutes, p.egress);
  await app.register(runtimeRoutes, p.runtimes);
  await app.register(imageRoutes, p.images);
  await app.register(dependencyRoutes, p.dependencies);
  await app.register(artifactRoutes, p.artifacts);
  app.get('/api/v1/openapi.json', { config: { public: true } }, async () => openApiDocument());
  app.get('/', { config: { public: true } }, async () => ({
    name: 'Cronium Sandbox',
    api: '/api/v1',
    openapi: '/api/v1/openapi.json',
    health: '/health',
    version: JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string,
  }));
}
