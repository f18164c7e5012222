import type { FastifyInstance } from 'fastify';
import { notFound, tooLarge } from '../errors.js';
import { parse } from '../validation.js';
import type { SecretsRepository } from './repository.js';
import { putSecretSchema, secretName } from './schemas.js';

export interface SecretRoutesOptions {
  secrets: SecretsRepository;
  maxSecretBytes: number;
}

/** Secret values go in and never come back out of this API. */
export async function secretRoutes(app: FastifyInstance, { secrets, maxSecretBytes }: SecretRoutesOptions) {
  app.get('/api/v1/secrets', async (req) => ({ items: await secrets.list(req.actor.id) }));

  app.put('/api/v1/secrets/:name', async (req, reply) => {
    const name = parse(secretName, (req.params as { name: string }).name, 'name');
    const { value } = parse(putSecretSchema, req.body ?? {});
    if (Buffer.byteLength(value) > maxSecretBytes) {
      throw tooLarge(`value is larger than the limit of ${maxSecretBytes} bytes`, 'value');
    }
    const { created, info } = await secrets.put(req.actor.id, name, value);
    return reply.code(created ? 201 : 200).send(info);
  });

  app.delete('/api/v1/secrets/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!(await secrets.delete(req.actor.id, name))) throw notFound(`secret ${name}`);
    return reply.code(204).send();
  });
}
