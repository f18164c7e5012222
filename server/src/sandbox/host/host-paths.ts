import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';

/** A mount of the server's own container: where the Docker host keeps what the server sees at `destination`. */
export interface OwnMount {
  source: string;
  destination: string;
}

/**
 * Translates a path of the server's into the path the Docker host knows it by, for bind mounts into sandboxes:
 * the longest of the server's own mounts that holds it, else the path unchanged (a server on the host itself).
 * Pure; ownMounts reads the mounts.
 */
export function hostPathOf(mounts: readonly OwnMount[], serverPath: string): string {
  const p = path.resolve(serverPath);
  const holder = [...mounts]
    .filter((m) => p === m.destination || p.startsWith(m.destination.endsWith('/') ? m.destination : `${m.destination}/`))
    .sort((a, b) => b.destination.length - a.destination.length)[0];
  return holder ? path.join(holder.source, path.relative(holder.destination, p)) : p;
}

/** The id of the Docker container this process runs in, from the files Docker binds into it (its hostname, hosts). */
function ownContainerId(): string {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\s/.exec(mountinfo)?.[1] ?? os.hostname();
}

/**
 * The mounts of the container this server runs in, as the Docker engine reports them; none when the server does
 * not run in a container of that engine (on the host, or in a container beside which the engine runs: either
 * way the engine sees the server's paths as they are).
 */
export async function ownMounts(client: Docker): Promise<OwnMount[]> {
  if (!fs.existsSync('/.dockerenv')) return [];
  const info = await client
    .getContainer(ownContainerId())
    .inspect()
    .catch((err: unknown) => {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw new Error(`cannot read this server's own container from the Docker engine, to mount its dependency bundles into sandboxes: ${(err as Error).message}`);
    });
  return (info?.Mounts ?? []).filter((m) => m.Source && m.Destination).map((m) => ({ source: m.Source, destination: m.Destination }));
}
