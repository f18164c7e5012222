import type { Language } from '../../api/enums.js';
import { SandboxError } from '../driver.js';
import { type DockerEngine, isStatus } from './docker-engine.js';

/** The runtime images, one per language, as the Docker engine keeps them (both runtimes start from them). */
export class RuntimeImages {
  constructor(
    private readonly engine: DockerEngine,
    private readonly names: Record<Language, string>,
  ) {}

  name(language: Language): string {
    return this.names[language];
  }

  /** The images that are not built yet. */
  async missing(): Promise<string[]> {
    const missing: string[] = [];
    for (const image of new Set(Object.values(this.names))) {
      try {
        await this.engine.client.getImage(image).inspect();
      } catch (err) {
        if (isStatus(err, 404)) missing.push(image);
        else throw err;
      }
    }
    return missing;
  }

  /** What a sandbox fails with when its image is not built. */
  static missingError(image: string): SandboxError {
    return new SandboxError('IMAGE_MISSING', `runtime image ${image} is missing: run "npm run images"`);
  }
}
