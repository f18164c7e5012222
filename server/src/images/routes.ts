import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import { AppError, notFound } from '../errors.js';
import type { SandboxDriver } from '../sandbox/driver.js';
import { parse } from '../validation.js';
import { checkImage } from './check.js';
import type { CustomImageRow, CustomImagesRepository } from './repository.js';
import { imageNameParam, registerImageSchema } from './schemas.js';

export interface ImageRoutesOptions {
  images: CustomImagesRepository;
  /** Runs the registration check's test sandbox. */
  driver: Pick<SandboxDriver, 'inspectImage' | 'start'>;
  tmpfsMb: number;
}

export const serializeImage = (r: CustomImageRow) => ({
  name: r.name,
  language: r.language,
  image: r.image,
  imageId: r.check.imageId,
  version: r.check.version,
  contents: r.check.contents,
  registeredBy: r.registeredBy,
  createdAt: r.createdAt.toISOString(),
});

export async function imageRoutes(app: FastifyInstance, { images, driver, tmpfsMb }: ImageRoutesOptions) {
  app.get('/api/v1/images', async () => ({ items: (await images.list()).map(serializeImage) }));

  app.post('/api/v1/images', async (req, reply) => {
    requireAdmin(req);
    const body = parse(registerImageSchema, req.body ?? {});
    if (await images.get(body.name)) throw new AppError('IMAGE_EXISTS', 409, `an image named ${body.name} is registered already`, 'name');
    const check = await checkImage(driver, { image: body.image, language: body.language, tmpfsMb });
    if (!check.ok) throw new AppError(check.status === 400 ? 'VALIDATION_FAILED' : 'IMAGE_CHECK_FAILED', check.status, check.message, 'image');
    const row = await images.create({
      name: body.name,
      language: body.language,
      image: body.image,
      registeredBy: req.actor.id,
      check: { imageId: check.imageId, version: check.probe.version, contents: check.probe.contents },
    });
    if (!row) throw new AppError('IMAGE_EXISTS', 409, `an image named ${body.name} is registered already`, 'name');
    return reply.code(201).send(serializeImage(row));
  });

  app.delete('/api/v1/images/:name', async (req, reply) => {
    requireAdmin(req);
    const name = parse(imageNameParam, (req.params as { name: string }).name, 'name');
    if (!(await images.delete(name))) throw notFound(`image ${name}`);
    return reply.code(204).send();
  });
}
