import type { Language } from '../../api/enums.js';
import { DockerEngine } from './docker-engine.js';
import { RuntimeImages } from './images.js';
import { SandboxNetwork } from './network.js';

/** The host's services every runtime is handed: built once (create-driver.ts), never by a runtime itself. */
export interface HostServices {
  engine: DockerEngine;
  images: RuntimeImages;
  network: SandboxNetwork;
}

export function createHostServices(o: { socketPath: string; images: Record<Language, string>; otherImages?: string[]; network: string; subnet?: string }): HostServices {
  const engine = new DockerEngine(o.socketPath);
  return { engine, images: new RuntimeImages(engine, o.images, o.otherImages ?? []), network: new SandboxNetwork(engine, o.network, o.subnet) };
}
