import fs from 'node:fs';
import path from 'node:path';
import { DependencyError } from './errors.js';
import { baseToolEnv, runTool } from './run-tool.js';
import type { LockedPackage, RequestedPackage, RuntimeTarget } from './types.js';

/**
 * npm packages on the host, downloading only: the set is resolved into a lockfile first (`--package-lock-only`:
 * registry metadata only, so the policy sees the whole tree before any tarball is fetched), then `npm ci
 * --ignore-scripts` unpacks exactly that lock. npm never runs a lifecycle script here (`--ignore-scripts` also
 * makes npm 11's install-script approvals irrelevant); the packages that have one are run afterwards in a sandbox
 * (install-scripts.ts).
 */

export interface NpmRegistry {
  url: string;
  cafile?: string;
  source: 'CRONIUM_NPM_REGISTRY' | 'host npm configuration' | 'npm default';
}

export const NPMJS = 'https://registry.npmjs.org/';

/** CRONIUM_NPM_REGISTRY, else the registry (and cafile) the host's npm is configured with, else npmjs. */
export async function resolveNpmRegistry(npm: string, configured: string | undefined, home: string): Promise<NpmRegistry> {
  if (configured) return { url: configured.endsWith('/') ? configured : `${configured}/`, source: 'CRONIUM_NPM_REGISTRY' };
  const env = { ...baseToolEnv(process.env.HOME ?? home), ...Object.fromEntries(Object.entries(process.env).filter(([k]) => /^npm_config_/i.test(k))) } as Record<string, string>;
  const get = async (key: string) => {
    const r = await runTool(npm, ['config', 'get', key], { env, timeoutMs: 30_000 }).catch(() => null);
    const v = r?.code === 0 ? r.lines.join('').trim() : '';
    return v && v !== 'undefined' && v !== 'null' ? v : undefined;
  };
  const url = (await get('registry')) ?? NPMJS;
  const cafile = await get('cafile');
  return { url: url.endsWith('/') ? url : `${url}/`, cafile, source: url === NPMJS ? 'npm default' : 'host npm configuration' };
}

export interface NpmTools {
  npm: string;
  home: string;
  cacheDir: string;
}

/** npm with nothing of the host's configuration: an empty userconfig and globalconfig, our cache, the one registry. */
function npmArgs(tools: NpmTools, registry: NpmRegistry, target: RuntimeTarget): string[] {
  const user = path.join(tools.home, 'npmrc');
  const global = path.join(tools.home, 'npmrc-global');
  for (const f of [user, global]) if (!fs.existsSync(f)) fs.writeFileSync(f, '');
  const [os, cpu] = target.platform.split('-');
  return [
    '--userconfig', user,
    '--globalconfig', global,
    '--cache', tools.cacheDir,
    '--registry', registry.url,
    ...(registry.cafile ? ['--cafile', registry.cafile] : []),
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--no-update-notifier',
    '--omit=dev',
    '--install-links=false',
    '--engine-strict=false',
    // Optional platform packages (esbuild's, sharp's) are chosen for the sandbox's platform, not the host's.
    ...(os && cpu ? [`--os=${os}`, `--cpu=${cpu}`, '--libc=glibc'] : []),
    '--loglevel=warn',
    '--no-color',
  ];
}

const npmEnv = (tools: NpmTools) => ({ ...baseToolEnv(tools.home), NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false' });

interface LockEntry {
  name?: string;
  version?: string;
  integrity?: string;
  resolved?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  hasInstallScript?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface NodeResolution {
  locked: LockedPackage[];
  via: Map<string, string>;
  /** node_modules paths (`node_modules/a/node_modules/b`) of packages with install scripts, dependencies first. */
  withInstallScripts: string[];
}

const nameOf = (key: string, e: LockEntry) => e.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Where Node's resolution finds `dep` when required from the package at `from` (a lock key, '' for the root). */
function resolveIn(packages: Record<string, LockEntry>, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${dep}`;
    if (packages[key]) return key;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** The lock's packages as locked entries, who pulled each in, and the install-script packages in dependency order. */
export function readLock(lock: { packages?: Record<string, LockEntry> }, installed: (key: string) => boolean): NodeResolution {
  const packages = lock.packages ?? {};
  const keys = Object.keys(packages).filter((k) => k && !packages[k]!.dev && !packages[k]!.link && installed(k));
  const locked = keys
    .map((k) => ({ name: nameOf(k, packages[k]!), version: packages[k]!.version ?? '', hash: packages[k]!.integrity ?? '', source: k }))
    .sort((a, b) => (a.source < b.source ? -1 : 1));
  const via = new Map<string, string>();
  const deps = (k: string) => {
    const e = packages[k]!;
    return Object.keys({ ...e.dependencies, ...e.optionalDependencies, ...e.peerDependencies })
      .map((d) => resolveIn(packages, k, d))
      .filter((x): x is string => !!x && keys.includes(x));
  };
  // Breadth-first from the root, so each package is attributed to the nearest requested package that needs it.
  const queue = Object.keys({ ...packages['']?.dependencies }).map((d) => resolveIn(packages, '', d)).filter((x): x is string => !!x);
  const seen = new Set(queue);
  while (queue.length) {
    const k = queue.shift()!;
    for (const d of deps(k)) {
      if (seen.has(d)) continue;
      seen.add(d);
      via.set(nameOf(d, packages[d]!), nameOf(k, packages[k]!));
      queue.push(d);
    }
  }
  // Dependencies before dependents, as npm runs install scripts; cycles are broken where they close.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (k: string) => {
    if (state.has(k)) return;
    state.set(k, 'visiting');
    for (const d of deps(k)) visit(d);
    state.set(k, 'done');
    order.push(k);
  };
  for (const k of [...keys].sort()) visit(k);
  return { locked, via, withInstallScripts: order.filter((k) => packages[k]!.hasInstallScript) };
}

/** Resolves the set into dir/package-lock.json (registry metadata only) and returns the resolution it locks. */
export async function resolveNode(
  tools: NpmTools,
  registry: NpmRegistry,
  target: RuntimeTarget,
  packages: RequestedPackage[],
  dir: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<NodeResolution> {
  const dependencies = Object.fromEntries(packages.map((p) => [p.name, p.spec.slice(p.name.length + 1)]));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'cronium-bundle', version: '0.0.0', private: true, dependencies }, null, 2));
  const r = await runTool(tools.npm, ['install', '--package-lock-only', ...npmArgs(tools, registry, target)], { env: npmEnv(tools), cwd: dir, signal, timeoutMs: 10 * 60_000 });
  if (r.code !== 0) throw explainNpmFailure(r.lines, registry);
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'));
  const resolution = readLock(lock, (k) => !lock.packages[k].optional || platformMatches(lock.packages[k], target));
  log(`[cronium] npm: resolved ${resolution.locked.length} package${resolution.locked.length === 1 ? '' : 's'}`);
  return resolution;
}

/** Whether an optional package's os/cpu fields let npm install it on the target (npm skips it otherwise). */
function platformMatches(e: LockEntry & { os?: string[]; cpu?: string[] }, target: RuntimeTarget): boolean {
  const [os, cpu] = target.platform.split('-');
  const ok = (list: string[] | undefined, v: string | undefined) =>
    !list || !v || (list.some((x) => x === v) || (list.every((x) => x.startsWith('!')) && !list.includes(`!${v}`)));
  return ok(e.os, os) && ok(e.cpu, cpu);
}

/** Downloads and unpacks exactly the lock in dir (`npm ci --ignore-scripts`). */
export async function installNode(tools: NpmTools, registry: NpmRegistry, target: RuntimeTarget, dir: string, signal?: AbortSignal): Promise<void> {
  const r = await runTool(tools.npm, ['ci', ...npmArgs(tools, registry, target)], { env: npmEnv(tools), cwd: dir, signal, timeoutMs: 10 * 60_000 });
  if (r.code !== 0) throw explainNpmFailure(r.lines, registry);
}

/** npm's failure as one sentence naming the package. */
export function explainNpmFailure(lines: string[], registry: NpmRegistry): DependencyError {
  const text = lines.join('\n');
  const where = registry.source === 'CRONIUM_NPM_REGISTRY' ? `the configured registry ${registry.url}` : `the npm registry ${registry.url}`;
  const code = /npm (?:error|ERR!) code (\S+)/.exec(text)?.[1];
  const decode = (s: string) => decodeURIComponent(s).replace(/^\/+/, '');
  if (code === 'E404') {
    const spec = /'([^']+)' is not in this registry/.exec(text)?.[1];
    const url = /404 Not Found - GET (\S+)/.exec(text)?.[1];
    const name = spec ? spec.replace(/@[^@/]*$/, '') || spec : url ? decode(new URL(url).pathname.slice(new URL(registry.url).pathname.length)) : undefined;
    return new DependencyError('PACKAGE_NOT_FOUND', `${name ?? 'a package'} was not found on ${where}`, name);
  }
  if (code === 'ETARGET') {
    const spec = /No matching version found for (\S+?)\.?$/m.exec(text)?.[1];
    const name = spec?.replace(/@[^@/]*$/, '');
    return new DependencyError('NO_MATCHING_VERSION', `${name ?? 'a package'}: no published version matches ${spec ?? 'the requested range'}`, name);
  }
  if (code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN|CERT_\w+)$/.test(code)) {
    return new DependencyError('INDEX_UNREACHABLE', `${where} could not be reached (${code})`);
  }
  if (code === 'ERESOLVE') return new DependencyError('RESOLUTION_FAILED', 'the requested packages have conflicting peer dependencies');
  if (code === 'EINTEGRITY') return new DependencyError('RESOLUTION_FAILED', 'a downloaded tarball did not match the integrity hash the registry published');
  const first = lines.map((l) => l.replace(/^npm (?:error|ERR!)\s*/, '')).find((l, i) => /^npm (?:error|ERR!)/.test(lines[i]!) && l && !/^(code|A complete log|Log files)/.test(l));
  return new DependencyError('RESOLUTION_FAILED', `npm could not resolve the packages: ${(first ?? lines.filter(Boolean).pop() ?? 'no output').slice(0, 300)}`);
}
