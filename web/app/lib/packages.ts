import type { Execution } from './types';

/** The packages an execution asked for, one specifier each, however the request gave them. */
export function requestedPackages(d: NonNullable<Execution['dependencies']>): string[] {
  const fromFile = (d.requirements ?? '')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  const fromPackageJson = Object.entries((d.packageJson?.dependencies ?? {}) as Record<string, string>).map(([n, v]) => `${n}@${v}`);
  return [...(d.dependencies?.python ?? []), ...(d.dependencies?.node ?? []), ...fromFile, ...fromPackageJson];
}
