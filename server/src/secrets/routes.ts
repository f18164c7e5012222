import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { notFound, tooLarge } from '../errors.js';
import { parse } from '../validation.js';
import { putSecretSchema, secretName } from './schemas.js';

/** Secret values go in and never come back out of this API. */
export async function secretRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }) {
  app.get('/api/v1/secrets', async (req) => ({ items: await ctx.secrets.list(req.actor.id) }));

  app.put('/api/v1/secrets/:name', async (req, reply) => {
    const name = parse(secretName, (req.params as { name: string }).name, 'name');
    const { value } = parse(putSecretSchema, req.body ?? {});
    if (Buffer.byteLength(value) > ctx.config.sizes.maxSecretBytes) {
      throw tooLarge(`value is larger than the limit of ${ctx.config.sizes.maxSecretBytes} bytes`, 'value');
    }
    const { created, info } = await ctx.secrets.put(req.actor.id, name, value);
    return reply.code(created ? 201 : 200).send(info);
  });

  app.delete('/api/v1/secrets/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!(await ctx.secrets.delete(req.actor.id, name))) throw notFound(`secret ${name}`);
    return reply.code(204).send();
  });
}
