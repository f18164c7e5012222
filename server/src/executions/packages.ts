import type { DependencyRequest } from '../db/schema.js';
import { DependencyError } from '../dependencies/errors.js';
import type { PackagePolicy } from '../dependencies/policy.js';
import type { DependencyService } from '../dependencies/service.js';
import { parseDependencies } from '../dependencies/specifiers.js';
import type { PackageLanguage, RuntimeTarget } from '../dependencies/types.js';
import type { RuntimeEntry } from '../runtimes/catalog.js';
import type { SandboxMount } from '../sandbox/driver.js';
import type { ExecutionRow } from './repository.js';

/** An execution's dependency bundle, ready to mount; `release` lets the cache evict it again. */
export interface PreparedPackages {
  mounts: SandboxMount[];
  env: Record<string, string>;
  installed: { name: string; version: string }[];
  bundleKey: string;
  release(): void;
}

/** What the runner needs to give an execution its packages (throws a DependencyError, whose message is the reason). */
export interface ExecutionPackages {
  /** Null when the request, as parsed, names no package (an empty package.json). */
  prepare(row: ExecutionRow, log: (line: string) => void, signal: AbortSignal): Promise<PreparedPackages | null>;
}

const MACHINE: Partial<Record<NodeJS.Architecture, string>> = { x64: 'x86_64', arm64: 'aarch64' };

/**
 * What a bundle is built for, from what the runtime's image says of itself (its contents label): the
 * interpreter's version line and, for wheels, the manylinux tag of the image's glibc.
 */
export function runtimeTarget(runtime: Pick<RuntimeEntry, 'id' | 'language' | 'version' | 'contents'>, arch: NodeJS.Architecture = process.arch): RuntimeTarget | null {
  const machine = MACHINE[arch];
  if (!machine) return null;
  if (runtime.language === 'node') return { id: runtime.id, version: runtime.version.split('.')[0]!, platform: `linux-${arch}` };
  if (runtime.language !== 'python') return null;
  const [major, minor] = runtime.version.split('.');
  const glibc = /^(\d+)\.(\d+)/.exec(runtime.contents.find((c) => c.source === 'debian' && c.name === 'libc6')?.version ?? '');
  if (!major || !minor || !glibc) return null;
  return { id: runtime.id, version: `${major}.${minor}`, platform: `manylinux_${glibc[1]}_${glibc[2]}_${machine}` };
}

export interface ExecutionPackagesOptions {
  service: Pick<DependencyService, 'prepare'>;
  /** The runtimes as the server offers them now (their versions and contents are read from the images). */
  runtimes: { list(): RuntimeEntry[] };
  policy(): Promise<PackagePolicy>;
  /** The path the Docker host knows a server path by (they differ when the server runs in a container). */
  hostPath(serverPath: string): string;
}

/**
 * Gives an execution the bundle of the packages its request asked for (validated when it was accepted), built
 * for the runtime it runs in, under the administrator's package policy as it is now.
 */
export function executionPackages(o: ExecutionPackagesOptions): ExecutionPackages {
  return {
    async prepare(row, log, signal) {
      const request: DependencyRequest = row.dependencyRequest ?? {};
      const language = row.language as PackageLanguage;
      const parsed = parseDependencies(row.language, request);
      if (!parsed.ok) throw new DependencyError('RESOLUTION_FAILED', `the packages asked for are not valid: ${parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (!parsed.set.packages.length) return null;
      const runtime = o.runtimes.list().find((r) => r.id === row.runtime);
      const target = runtime && runtimeTarget(runtime);
      if (!target) throw new DependencyError('RESOLUTION_FAILED', `packages cannot be installed for ${row.runtime ?? row.language}: its image does not say what it was built on`);
      const p = await o.service.prepare({ language, runtime: target, set: parsed.set, policy: await o.policy() }, log, signal);
      return {
        mounts: [{ source: o.hostPath(p.bundle.hostPath), target: p.bundle.mountPath, writable: false }],
        env: p.bundle.env,
        installed: p.installed,
        bundleKey: p.bundle.key,
        release: p.release,
      };
    },
  };
}
