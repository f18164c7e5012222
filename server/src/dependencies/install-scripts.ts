import fs from 'node:fs';
import path from 'node:path';
import { BUILD_MOUNT, type BuildSandbox } from './build-sandbox.js';
import { DependencyError } from './errors.js';
import type { RuntimeTarget } from './types.js';

const EVENTS = ['preinstall', 'install', 'postinstall'] as const;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell program that runs one package's install scripts the way npm would (its dir, its .bin dirs on PATH, npm_* variables). */
export function installScriptCommand(lockKey: string, pkg: { name?: string; version?: string; scripts?: Record<string, string> }, hasGyp: boolean): string[] | null {
  const scripts = { ...(pkg.scripts ?? {}) };
  // npm's default for a native addon without an install script.
  if (hasGyp && !scripts.install && !scripts.preinstall) scripts.install = 'node-gyp rebuild';
  const events = EVENTS.filter((e) => scripts[e]);
  if (!events.length) return null;
  const dir = `${BUILD_MOUNT}/${lockKey}`;
  // Every node_modules/.bin from the package's own up to the bundle's, as npm puts them on PATH.
  const bins: string[] = [];
  for (let k = lockKey; ; ) {
    bins.push(`${BUILD_MOUNT}/${k}/node_modules/.bin`);
    const i = k.lastIndexOf('/node_modules/');
    if (i < 0) break;
    k = k.slice(0, i);
  }
  bins.push(`${BUILD_MOUNT}/node_modules/.bin`);
  const lines = [
    'set -e',
    `cd ${q(dir)}`,
    `export PATH=${q(bins.join(':'))}:"$PATH" HOME=/tmp npm_package_name=${q(pkg.name ?? '')} npm_package_version=${q(pkg.version ?? '')} npm_config_global=false npm_node_execpath="$(command -v node)"`,
    ...events.map((e) => `npm_lifecycle_event=${e} npm_lifecycle_script=${q(scripts[e]!)} sh -c ${q(scripts[e]!)}`),
  ];
  return ['sh', '-c', lines.join('\n')];
}

/**
 * Runs the install scripts of the packages that have them, dependencies first, each in its own sandbox with the
 * bundle's node dir as the only writable place. The first failure fails the bundle, naming the package.
 */
export async function runInstallScripts(
  sandbox: BuildSandbox,
  target: RuntimeTarget,
  nodeDir: string,
  lockKeys: string[],
  egressAllow: string[],
  log: (line: string) => void,
  timeoutMs: number,
): Promise<void> {
  for (const key of lockKeys) {
    const pkgDir = path.join(nodeDir, key);
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { name?: string; version?: string; scripts?: Record<string, string> };
    const command = installScriptCommand(key, pkg, fs.existsSync(path.join(pkgDir, 'binding.gyp')));
    if (!command) continue;
    const label = `${pkg.name}@${pkg.version}`;
    log(`[cronium] running the install script of ${label} in a sandbox`);
    const tail: string[] = [];
    const r = await sandbox.run({ language: 'node', runtime: target.id, writableDir: nodeDir, command, egressAllow, timeoutMs }, (line) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      log(`[cronium] ${pkg.name}: ${line}`);
    });
    if (r.timedOut) throw new DependencyError('INSTALL_SCRIPT_FAILED', `the install script of ${label} did not finish within ${Math.round(timeoutMs / 1000)} s`, pkg.name);
    if (r.exitCode !== 0) {
      const gyp = /node-gyp/.test(command[2]!) && tail.some((l) => /node-gyp: (not found|command not found)/.test(l));
      const why = gyp ? 'it needs to compile a native addon (node-gyp), which the node runtime cannot do' : `it exited with status ${r.exitCode}${tail.length ? `: ${tail[tail.length - 1]!.slice(0, 200)}` : ''}`;
      throw new DependencyError('INSTALL_SCRIPT_FAILED', `the install script of ${label} failed: ${why}`, pkg.name);
    }
  }
}
