import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import { badRequest } from '../errors.js';
import { parse } from '../validation.js';
import type { ExecutionEngine } from '../executions/engine.js';
import { settingsPatchSchema } from './schemas.js';
import type { SettingsService } from './service.js';

export interface SettingsRoutesOptions {
  settings: SettingsService;
  /** Woken when limits change, so queued work is claimed by the new ones. */
  engine: ExecutionEngine;
  gvisorAvailable: boolean;
}

export async function settingsRoutes(app: FastifyInstance, { settings, engine, gvisorAvailable }: SettingsRoutesOptions) {
  app.get('/api/v1/settings', async (req) => {
    requireAdmin(req);
    return { ...(await settings.get()), gvisorAvailable: gvisorAvailable };
  });

  app.patch('/api/v1/settings', async (req) => {
    requireAdmin(req);
    const patch = parse(settingsPatchSchema, req.body ?? {});
    if (patch.defaultIsolation === 'gvisor' && !gvisorAvailable) {
      throw badRequest('defaultIsolation: gvisor is not installed in this Docker engine', 'defaultIsolation');
    }
    const result = await settings.update(patch);
    if ('field' in result) throw badRequest(`${result.field}: ${result.message}`, result.field);
    engine.wake();
    return { ...result, gvisorAvailable: gvisorAvailable };
  });
}
