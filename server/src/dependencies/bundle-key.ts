import crypto from 'node:crypto';
import type { DependencySet, LockedPackage, RuntimeTarget } from './types.js';

/** Bumped when a bundle's layout changes, so old bundles are never mounted by code that expects the new one. */
export const BUNDLE_FORMAT = 1;

const sha256 = (value: unknown) => crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * A bundle's content address: language, runtime version, platform and the fully resolved set with versions and
 * hashes. Two requests that resolve to the same packages share a bundle whatever they asked for.
 */
export function bundleKey(language: DependencySet['language'], target: RuntimeTarget, locked: LockedPackage[]): string {
  const packages = [...locked].map((p) => [p.name, p.version, p.hash, p.source]).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
  return sha256({ format: BUNDLE_FORMAT, language, runtime: target.version, platform: target.platform, packages });
}

/**
 * The request's key: what was asked for, for which runtime, from which index. It maps to the bundle it resolved to,
 * so the same request again is served without asking the index (see BundleStore.lookupRequest for how long).
 */
export function requestKey(set: DependencySet, target: RuntimeTarget, indexConfig: unknown): string {
  return sha256({ format: BUNDLE_FORMAT, language: set.language, runtime: target.id, version: target.version, platform: target.platform, packages: set.packages.map((p) => p.spec), index: indexConfig });
}

export interface EvictionCandidate {
  key: string;
  sizeBytes: number;
  lastUsedAt: number;
  inUse: boolean;
}

/**
 * Which bundles to remove so the total fits the limit: least recently used first, never one in use nor the ones
 * kept. May leave the total above the limit when everything else is in use.
 */
export function chooseEvictions(bundles: EvictionCandidate[], limitBytes: number, keep: ReadonlySet<string> = new Set()): string[] {
  let total = bundles.reduce((n, b) => n + b.sizeBytes, 0);
  const out: string[] = [];
  for (const b of [...bundles].sort((a, z) => a.lastUsedAt - z.lastUsedAt || (a.key < z.key ? -1 : 1))) {
    if (total <= limitBytes) break;
    if (b.inUse || keep.has(b.key)) continue;
    out.push(b.key);
    total -= b.sizeBytes;
  }
  return out;
}
