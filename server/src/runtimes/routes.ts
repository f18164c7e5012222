import type { FastifyInstance } from 'fastify';
import type { CustomImagesRepository } from '../images/repository.js';
import type { RuntimeCatalog } from './catalog.js';

export interface RuntimeRoutesOptions {
  runtimes: RuntimeCatalog;
  /** Registered custom images are listed too, as image:<name>. */
  images: Pick<CustomImagesRepository, 'list'>;
}

export async function runtimeRoutes(app: FastifyInstance, { runtimes, images }: RuntimeRoutesOptions) {
  app.get('/api/v1/runtimes', async () => {
    const custom = (await images.list()).map((r) => ({
      id: `image:${r.name}`,
      language: r.language,
      version: r.check.version,
      image: r.image,
      default: false,
      contents: r.check.contents,
    }));
    return { items: [...runtimes.list(), ...custom] };
  });
}
