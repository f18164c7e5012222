import type { Language } from '../../api/enums.js';
import { SandboxError } from '../driver.js';
import { type DockerEngine, isStatus } from './docker-engine.js';

/** An image's configuration as the registration check of custom images reads it. */
export interface ImageFacts {
  id: string;
  entrypoint: string[];
  /** As the image says: "10001:10001", "10001", "root", or "" (root). */
  user: string;
  labels: Record<string, string>;
}

/** The runtime images, one per language, as the Docker engine keeps them (both runtimes start from them). */
export class RuntimeImages {
  constructor(
    private readonly engine: DockerEngine,
    private readonly names: Record<Language, string>,
    /** Images of runtimes other than the languages' defaults: reported missing too, never pooled. */
    private readonly others: readonly string[] = [],
  ) {}

  name(language: Language): string {
    return this.names[language];
  }

  /** The images that are not built yet. */
  async missing(): Promise<string[]> {
    const missing: string[] = [];
    for (const image of new Set([...Object.values(this.names), ...this.others])) {
      try {
        await this.engine.client.getImage(image).inspect();
      } catch (err) {
        if (isStatus(err, 404)) missing.push(image);
        else throw err;
      }
    }
    return missing;
  }

  /** What the engine knows of an image, or null when it does not have it. */
  async inspect(image: string): Promise<ImageFacts | null> {
    try {
      const i = await this.engine.client.getImage(image).inspect();
      const entrypoint = i.Config?.Entrypoint;
      return {
        id: i.Id,
        entrypoint: Array.isArray(entrypoint) ? entrypoint : entrypoint ? [entrypoint] : [],
        user: i.Config?.User ?? '',
        labels: i.Config?.Labels ?? {},
      };
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  /** What a sandbox fails with when its image is not built. */
  static missingError(image: string): SandboxError {
    return new SandboxError('IMAGE_MISSING', `runtime image ${image} is missing: run "npm run images"`);
  }
}
