import { LABEL_MANAGED } from '../driver.js';
import type { DockerEngine } from './docker-engine.js';

/** Removes the Docker engine's Cronium containers whose labels `select` picks; returns how many. */
export async function removeLabelledContainers(engine: DockerEngine, select: (labels: Record<string, string>) => boolean): Promise<number> {
  const list = await engine.client.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
  let n = 0;
  for (const c of list) {
    if (!select(c.Labels ?? {})) continue;
    await engine.client
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .then(() => n++)
      .catch(() => undefined);
  }
  return n;
}
