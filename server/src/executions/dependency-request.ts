import type { DependencyRequest } from '../db/schema.js';
import type { Language } from '../sandbox/driver.js';
import type { CreateExecutionRequest } from './request.js';

export type DependencyRequestCheck = { ok: true; request: DependencyRequest | null } | { ok: false; field: string; message: string };

/**
 * The packages a request asks for, if they fit its language: pip specifiers and a requirements.txt for Python, npm
 * specs and a package.json for Node, nothing for bash. Each entry's own syntax is checked by the dependency
 * service's parser (dependencies/specifiers.ts).
 */
export function dependencyRequestOf(language: Language, body: Pick<CreateExecutionRequest, 'dependencies' | 'requirements' | 'packageJson'>): DependencyRequestCheck {
  const { dependencies, requirements, packageJson } = body;
  for (const key of ['python', 'node'] as const) {
    if (dependencies?.[key] && key !== language) return { ok: false, field: `dependencies.${key}`, message: `${key} packages cannot be installed for a ${language} execution` };
  }
  if (requirements !== undefined && language !== 'python') return { ok: false, field: 'requirements', message: `a requirements.txt is for python executions, not ${language}` };
  if (packageJson !== undefined && language !== 'node') return { ok: false, field: 'packageJson', message: `a package.json is for node executions, not ${language}` };
  const request: DependencyRequest = {
    ...(dependencies?.[language as 'python' | 'node']?.length ? { dependencies: { [language]: dependencies[language as 'python' | 'node'] } } : {}),
    ...(requirements?.trim() ? { requirements } : {}),
    ...(packageJson !== undefined ? { packageJson } : {}),
  };
  return { ok: true, request: Object.keys(request).length ? request : null };
}
