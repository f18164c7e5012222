import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { AppContext } from '../context.js';
import { badRequest } from '../errors.js';
import { parse } from '../validation.js';
import { settingsPatchSchema } from './schemas.js';

export async function settingsRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }) {
  app.get('/api/v1/settings', async (req) => {
    requireAdmin(req);
    return { ...(await ctx.settings.get()), gvisorAvailable: ctx.gvisorAvailable };
  });

  app.patch('/api/v1/settings', async (req) => {
    requireAdmin(req);
    const patch = parse(settingsPatchSchema, req.body ?? {});
    if (patch.defaultIsolation === 'gvisor' && !ctx.gvisorAvailable) {
      throw badRequest('defaultIsolation: gvisor is not installed in this Docker engine', 'defaultIsolation');
    }
    const result = await ctx.settings.update(patch);
    if ('field' in result) throw badRequest(`${result.field}: ${result.message}`, result.field);
    ctx.engine.wake();
    return { ...result, gvisorAvailable: ctx.gvisorAvailable };
  });
}
