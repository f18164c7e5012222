import { z } from 'zod';
import { canonicalPythonName, validNpmName } from './specifiers.js';
import type { PackageLanguage } from './types.js';

/**
 * Which packages an admin lets executions install (the `packagePolicy` setting). The lists are per ecosystem:
 * Python names match after PEP 503 normalisation (`Typing_Extensions` is `typing-extensions`); npm names match
 * exactly, and an entry `@scope/*` matches every package of that scope. The policy is applied to the requested
 * names before anything is fetched and again to the fully resolved set, so an allowlist must also name the
 * dependencies of the packages it allows, and a denied package is refused even when it comes in transitively.
 */
export type PackagePolicy =
  | { mode: 'any' }
  | { mode: 'allowlist'; python: string[]; node: string[] }
  | { mode: 'denylist'; python: string[]; node: string[] };

const MAX_ENTRIES = 5000;

const pythonEntry = z
  .string()
  .min(1)
  .max(214)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'must be a Python package name (PEP 508)');
const nodeEntry = z
  .string()
  .min(1)
  .max(214)
  .refine((s) => validNpmName(s) || /^@[A-Za-z0-9~-][A-Za-z0-9._~-]*\/\*$/.test(s), 'must be an npm package name or `@scope/*`');

const lists = { python: z.array(pythonEntry).max(MAX_ENTRIES).default([]), node: z.array(nodeEntry).max(MAX_ENTRIES).default([]) };

export const packagePolicySchema = z
  .discriminatedUnion('mode', [
    z.object({ mode: z.literal('any') }).strict(),
    z.object({ mode: z.literal('allowlist'), ...lists }).strict(),
    z.object({ mode: z.literal('denylist'), ...lists }).strict(),
  ])
  .describe(
    'Which packages executions may install. any: all; allowlist: only the listed names (transitive dependencies too); denylist: all but the listed names. Python names match PEP 503-normalised, npm names exactly (`@scope/*` for a whole scope).',
  );

export const DEFAULT_PACKAGE_POLICY: PackagePolicy = { mode: 'any' };

export interface PolicyRefusal {
  name: string;
  reason: string;
}

function matches(language: PackageLanguage, entry: string, name: string): boolean {
  if (language === 'python') return canonicalPythonName(entry) === canonicalPythonName(name);
  if (entry.endsWith('/*')) return name.startsWith(entry.slice(0, -1));
  return entry === name;
}

/**
 * The names the policy refuses, each with a one-line reason; `via` names what pulled a transitive package in
 * (the resolved-set check), so the reason says why a package nobody asked for is there.
 */
export function checkPolicy(policy: PackagePolicy, language: PackageLanguage, names: string[], via?: (name: string) => string | undefined): PolicyRefusal[] {
  if (policy.mode === 'any') return [];
  const list = policy[language];
  const out: PolicyRefusal[] = [];
  for (const name of [...new Set(names)]) {
    const listed = list.some((e) => matches(language, e, name));
    const from = via?.(name);
    const suffix = from ? ` (a dependency of ${from})` : '';
    if (policy.mode === 'allowlist' && !listed) out.push({ name, reason: `${name}${suffix} is not on the admin's ${language} package allowlist` });
    if (policy.mode === 'denylist' && listed) out.push({ name, reason: `${name}${suffix} is on the admin's ${language} package denylist` });
  }
  return out;
}
