import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DependencyError } from './errors.js';
import { baseToolEnv, runTool } from './run-tool.js';
import { canonicalPythonName } from './specifiers.js';
import type { LockedPackage, RequestedPackage, RuntimeTarget } from './types.js';

/**
 * Python packages on the host, downloading only: `pip download --only-binary=:all:` for the runtime's interpreter
 * and platform (never the host's), then `pip install --no-deps --no-index --target` of those wheels, which only
 * unpacks them. No sdist is ever built, so no setup.py or build backend runs anywhere; a package without a wheel
 * for the target fails with NO_WHEEL.
 */

export interface PipIndex {
  indexUrl: string;
  extraIndexUrls: string[];
  trustedHosts: string[];
  cert?: string;
  /** Where the index came from, for the logs and the admin. */
  source: 'CRONIUM_PIP_INDEX_URL' | 'host pip configuration' | 'pip default';
}

export const PYPI = 'https://pypi.org/simple';

/**
 * The index to use. CRONIUM_PIP_INDEX_URL (an internal mirror) replaces everything. Unset, the host's own pip
 * configuration is read once (`pip config list`: index-url, extra-index-url, trusted-host and cert only, so
 * find-links, constraints and the rest never change a bundle), else PyPI. pip itself then runs with
 * PIP_CONFIG_FILE=/dev/null and these as flags, so what it uses is exactly what was read here.
 */
export async function resolvePipIndex(python: string, configured: string | undefined, home: string): Promise<PipIndex> {
  const http = (urls: string[]) => urls.filter((u) => u.startsWith('http://')).map((u) => new URL(u).host);
  if (configured) return { indexUrl: configured, extraIndexUrls: [], trustedHosts: http([configured]), source: 'CRONIUM_PIP_INDEX_URL' };
  // Read as the server's user: their own pip.conf (~/.config/pip, ~/.pip) is part of the host's configuration.
  const own = { ...(process.env.HOME ? { HOME: process.env.HOME } : {}), ...(process.env.XDG_CONFIG_HOME ? { XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME } : {}) };
  const r = await runTool(python, ['-m', 'pip', 'config', 'list'], { env: { ...baseToolEnv(home), ...own, ...pipHostEnv() }, timeoutMs: 30_000 }).catch(() => null);
  const values = parsePipConfigList(r?.code === 0 ? r.lines : []);
  const indexUrl = values['index-url']?.[0] ?? PYPI;
  const extraIndexUrls = values['extra-index-url'] ?? [];
  const trustedHosts = [...new Set([...(values['trusted-host'] ?? []), ...http([indexUrl, ...extraIndexUrls])])];
  const found = values['index-url'] || values['extra-index-url'];
  return { indexUrl, extraIndexUrls, trustedHosts, cert: values.cert?.[0], source: found ? 'host pip configuration' : 'pip default' };
}

/** The host's PIP_* variables, which `pip config list` reports as `:env:` settings. */
function pipHostEnv(host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(host).filter(([k, v]) => k.startsWith('PIP_') && v !== undefined)) as Record<string, string>;
}

/** `pip config list` lines → the index settings, the most specific source first (environment, download, install, global). */
export function parsePipConfigList(lines: string[]): Record<string, string[]> {
  const rank = (section: string) => [':env:', 'download', 'install', 'global'].indexOf(section);
  const best: Record<string, { rank: number; values: string[] }> = {};
  for (const line of lines) {
    const m = /^([^.=\s]+)\.([a-z-]+)=(['"]?)(.*)\3$/.exec(line.trim());
    if (!m) continue;
    const [, section, key, , value] = m as unknown as [string, string, string, string, string];
    if (!['index-url', 'extra-index-url', 'trusted-host', 'cert'].includes(key) || rank(section) < 0) continue;
    if (best[key] && best[key].rank <= rank(section)) continue;
    best[key] = { rank: rank(section), values: value.split(/\s+/).filter(Boolean) };
  }
  return Object.fromEntries(Object.entries(best).map(([k, v]) => [k, v.values]));
}

/**
 * The platform tags a wheel may carry to run on the runtime image: every manylinux glibc version up to the image's
 * (PEP 600) and the legacy aliases (manylinux2014 = 2.17, 2010 = 2.12, 1 = 2.5), newest first. pip does not expand
 * `manylinux_2_36` itself, so all of them are passed. Pure-Python `none-any` wheels are always accepted.
 */
export function pipPlatformTags(platform: string): string[] {
  const m = /^manylinux_2_(\d+)_([a-z0-9_]+)$/.exec(platform);
  if (!m) throw new Error(`unsupported python platform ${platform}: expected manylinux_2_<glibc minor>_<arch>`);
  const minor = Number(m[1]);
  const arch = m[2]!;
  const tags: string[] = [];
  for (let v = minor; v >= 5; v--) {
    tags.push(`manylinux_2_${v}_${arch}`);
    if (v === 17) tags.push(`manylinux2014_${arch}`);
    if (v === 12) tags.push(`manylinux2010_${arch}`);
    if (v === 5) tags.push(`manylinux1_${arch}`);
  }
  return tags;
}

/** The flags that make pip choose for the runtime's interpreter and platform instead of the host's. */
export function pipTargetArgs(target: RuntimeTarget): string[] {
  const [major, minor] = target.version.split('.');
  const xy = `${major}${minor}`;
  return ['--only-binary=:all:', '--python-version', target.version, '--implementation', 'cp', '--abi', `cp${xy}`, ...pipPlatformTags(target.platform).flatMap((p) => ['--platform', p])];
}

function indexArgs(index: PipIndex): string[] {
  return [
    '--index-url',
    index.indexUrl,
    ...index.extraIndexUrls.flatMap((u) => ['--extra-index-url', u]),
    ...index.trustedHosts.flatMap((h) => ['--trusted-host', h]),
    ...(index.cert ? ['--cert', index.cert] : []),
  ];
}

/** `name-version(-build)?-py-abi-platform.whl` → name (canonical) and version. */
export function parseWheelName(file: string): { name: string; version: string } | null {
  const parts = file.replace(/\.whl$/, '').split('-');
  if (!file.endsWith('.whl') || (parts.length !== 5 && parts.length !== 6)) return null;
  return { name: canonicalPythonName(parts[0]!), version: parts[1]! };
}

export interface PipTools {
  python: string;
  /** Scratch HOME and pip's download cache (wheels are verified by hash against the index either way). */
  home: string;
  cacheDir: string;
}

const pipEnv = (tools: PipTools) => ({
  ...baseToolEnv(tools.home),
  PIP_CONFIG_FILE: '/dev/null',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_INPUT: '1',
  PYTHONDONTWRITEBYTECODE: '1',
  // Debian's pip refuses installs into its system Python (PEP 668); ours only ever go to a bundle's --target.
  PIP_BREAK_SYSTEM_PACKAGES: '1',
});

export interface PythonResolution {
  locked: LockedPackage[];
  /** Resolved package → the package that required it (absent for the ones asked for). */
  via: Map<string, string>;
}

/** Resolves and downloads the wheels of a set into wheelsDir (nothing else is written or run). */
export async function downloadWheels(
  tools: PipTools,
  index: PipIndex,
  target: RuntimeTarget,
  packages: RequestedPackage[],
  wheelsDir: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<PythonResolution> {
  const via = new Map<string, string>();
  const args = ['-m', 'pip', 'download', '--dest', wheelsDir, '--cache-dir', tools.cacheDir, '--progress-bar', 'off', '--no-color', '--retries', '1', '--timeout', '30', ...pipTargetArgs(target), ...indexArgs(index), '--', ...packages.map((p) => p.spec)];
  const r = await runTool(tools.python, args, {
    env: pipEnv(tools),
    signal,
    timeoutMs: 10 * 60_000,
    onLine: (line) => {
      const m = /^Collecting (\S+?)(?:\s+\(from ([^)]+)\))?(?:\s|$)/.exec(line.trim());
      if (!m) return;
      const name = canonicalPythonName(/^[A-Za-z0-9._-]+/.exec(m[1]!)?.[0] ?? m[1]!);
      if (m[2]) via.set(name, canonicalPythonName(/^[A-Za-z0-9._-]+/.exec(m[2])?.[0] ?? m[2]));
      log(`[cronium] pip: collecting ${m[1]}${m[2] ? ` (for ${m[2]})` : ''}`);
    },
  });
  if (r.code !== 0) throw await explainPipFailure(r.lines, index, target);
  const locked: LockedPackage[] = [];
  for (const file of fs.readdirSync(wheelsDir).sort()) {
    const w = parseWheelName(file);
    if (!w) continue;
    const hex = crypto.createHash('sha256').update(fs.readFileSync(path.join(wheelsDir, file))).digest('hex');
    locked.push({ name: w.name, version: w.version, hash: `sha256:${hex}`, source: file });
  }
  return { locked, via };
}

/** Unpacks the downloaded wheels into dir: pip installs a wheel by copying its files; no package code runs. */
export async function installWheels(tools: PipTools, target: RuntimeTarget, wheelsDir: string, dir: string, signal?: AbortSignal): Promise<void> {
  const wheels = fs.readdirSync(wheelsDir).filter((f) => f.endsWith('.whl')).map((f) => path.join(wheelsDir, f));
  const args = ['-m', 'pip', 'install', '--no-deps', '--no-index', '--no-compile', '--no-warn-script-location', '--no-color', '--progress-bar', 'off', '--target', dir, ...pipTargetArgs(target), '--', ...wheels];
  const r = await runTool(tools.python, args, { env: pipEnv(tools), signal, timeoutMs: 10 * 60_000 });
  if (r.code !== 0) throw new DependencyError('RESOLUTION_FAILED', `unpacking the wheels failed: ${lastError(r.lines)}`);
}

const lastError = (lines: string[]) =>
  (lines.filter((l) => /^ERROR:/.test(l)).pop() ?? lines.filter(Boolean).pop() ?? 'no output').replace(/^ERROR:\s*/, '').slice(0, 300);

const UNREACHABLE = /NewConnectionError|Connection refused|Failed to establish a new connection|Name or service not known|Temporary failure in name resolution|ConnectTimeoutError|Read timed out|SSLError|ProxyError/;

/** What pip's failure means, as one sentence naming the package (pip's output is never shown as is). */
export async function explainPipFailure(lines: string[], index: PipIndex, target: RuntimeTarget, lookup = lookupIndex): Promise<DependencyError> {
  const text = lines.join('\n');
  if (/No module named pip/.test(text)) return new DependencyError('TOOL_MISSING', 'pip is not installed on the server (python3 -m pip)');
  const notFound = /Could not find a version that satisfies the requirement (\S+)(?: \(from ([^)]*)\))*? \(from versions: ([^)]*)\)/.exec(text);
  const where = index.source === 'CRONIUM_PIP_INDEX_URL' ? `the configured index ${index.indexUrl}` : `the package index ${index.indexUrl}`;
  if (notFound) {
    const req = notFound[1]!;
    const name = canonicalPythonName(/^[A-Za-z0-9._-]+/.exec(req)?.[0] ?? req);
    const versions = notFound[3]!.trim();
    if (UNREACHABLE.test(text)) {
      const why = /Connection refused/.test(text) ? 'connection refused' : /Name or service not known|Temporary failure in name resolution/.test(text) ? 'its name does not resolve' : /SSLError/.test(text) ? 'a TLS error' : 'no answer';
      return new DependencyError('INDEX_UNREACHABLE', `${where} could not be reached (${why}) while looking up ${name}`, name);
    }
    if (versions && versions !== 'none') {
      return new DependencyError('NO_MATCHING_VERSION', `${name}: no version matches ${req} (versions with a wheel for Python ${target.version}: ${versions})`, name);
    }
    const files = await lookup(index, name).catch(() => null);
    const runtime = `CPython ${target.version} on ${target.platform.replace(/^manylinux_2_\d+_/, 'Linux ')}`;
    if (files === null) return new DependencyError('PACKAGE_NOT_FOUND', `${name} has no wheel for ${runtime} on ${where} (it may not exist there, or be published only as a source distribution)`, name);
    if (!files.length) return new DependencyError('PACKAGE_NOT_FOUND', `${name} was not found on ${where}`, name);
    const wheels = files.filter((f) => f.endsWith('.whl'));
    if (!wheels.length) {
      const latest = files.map((f) => /-(\d[^-]*?)(?:\.tar\.gz|\.zip|\.tar\.bz2)$/.exec(f)?.[1]).filter(Boolean).pop();
      return new DependencyError('NO_WHEEL', `${name}${latest ? ` ${latest}` : ''} is published only as a source distribution; Cronium installs wheels only`, name);
    }
    const tags = [...new Set(wheels.map((f) => f.replace(/\.whl$/, '').split('-').slice(-2).join('-')))].slice(0, 4);
    return new DependencyError('NO_WHEEL', `${name} has no wheel for ${runtime} (its wheels are for ${tags.join(', ')})`, name);
  }
  if (/ResolutionImpossible|conflicting dependencies/.test(text)) {
    const cannot = /Cannot install ([^\n]+?) because these package versions have conflicting dependencies/.exec(text);
    return new DependencyError('RESOLUTION_FAILED', `the requested packages have conflicting dependencies${cannot ? `: ${cannot[1]}` : ''}`);
  }
  if (/DO NOT MATCH THE HASHES/.test(text)) return new DependencyError('RESOLUTION_FAILED', `a downloaded archive did not match the hash the index published`);
  if (UNREACHABLE.test(text)) return new DependencyError('INDEX_UNREACHABLE', `${where} could not be reached`);
  const invalid = /ERROR: Invalid requirement: '?([^'\n]+)'?/.exec(text);
  if (invalid) return new DependencyError('RESOLUTION_FAILED', `pip refused the requirement ${invalid[1]}`);
  return new DependencyError('RESOLUTION_FAILED', `pip could not resolve the packages: ${lastError(lines)}`);
}

/**
 * The file names an index lists for a project (to tell "does not exist" from "no wheel for this runtime"): [] when
 * no index has it, null when none could be asked.
 */
export async function lookupIndex(index: PipIndex, name: string): Promise<string[] | null> {
  let asked = 0;
  const files: string[] = [];
  for (const base of [index.indexUrl, ...index.extraIndexUrls]) {
    const url = `${base.replace(/\/+$/, '')}/${name}/`;
    try {
      let html: string | null;
      if (url.startsWith('file://')) {
        const dir = new URL(url).pathname;
        html = fs.existsSync(path.join(dir, 'index.html')) ? fs.readFileSync(path.join(dir, 'index.html'), 'utf8') : null;
      } else {
        const res = await fetch(url, { signal: AbortSignal.timeout(15_000), headers: { accept: 'text/html' } });
        html = res.status === 404 ? null : res.ok ? await res.text() : (() => { throw new Error(String(res.status)); })();
      }
      asked++;
      if (html) for (const m of html.matchAll(/<a\b[^>]*>([^<]+)<\/a>/gi)) files.push(m[1]!.trim());
    } catch {
      /* this index could not be asked */
    }
  }
  return asked ? files : null;
}
