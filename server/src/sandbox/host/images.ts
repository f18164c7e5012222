import type { Language } from '../../api/enums.js';
import { SandboxError } from '../driver.js';
import { type DockerEngine, isStatus } from './docker-engine.js';

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

  /** An image's labels, or null when the engine does not have it. */
  async labels(image: string): Promise<Record<string, string> | null> {
    try {
      return (await this.engine.client.getImage(image).inspect()).Config?.Labels ?? {};
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
