import fs from 'node:fs';
import path from 'node:path';
import { BUILD_MOUNT, type BuildSandbox, SANDBOX_GID, SANDBOX_UID } from './build-sandbox.js';
import { bundleKey, requestKey } from './bundle-key.js';
import { type BundleInfo, type BundleLock, BundleStore, type Lease, redactUrl } from './bundle-store.js';
import { DependencyError } from './errors.js';
import { runInstallScripts } from './install-scripts.js';
import { installNode, type NpmRegistry, type NpmTools, resolveNode, resolveNpmRegistry } from './node.js';
import { checkPolicy, type PackagePolicy } from './policy.js';
import { downloadWheels, installWheels, type PipIndex, type PipTools, resolvePipIndex } from './python.js';
import { runTool } from './run-tool.js';
import type { DependencySet, LockedPackage, PackageLanguage, RuntimeTarget } from './types.js';

/** Where a python bundle is mounted in the sandbox (and put on PYTHONPATH). */
export const PYTHON_MOUNT = '/opt/cronium/deps/python';
/**
 * Where a node bundle's node_modules is mounted: next to the script (/work/main.mjs or main.cjs), so both
 * `require()` and ESM `import` find it by walking up from the script; ESM ignores NODE_PATH. The SDK at
 * /node_modules/cronium is still found one level further up.
 */
export const NODE_MOUNT = '/work/node_modules';

export interface DependencyServiceOptions {
  /** Where bundles live (CRONIUM_BUNDLE_DIR, default <data dir>/bundles). */
  bundleDir: string;
  /** The cache's size limit (CRONIUM_BUNDLE_CACHE_MB). */
  cacheBytes: number;
  /** CRONIUM_PIP_INDEX_URL: unset, the host's pip configuration, else PyPI. */
  pipIndexUrl?: string;
  /** CRONIUM_NPM_REGISTRY: unset, the host's npm configuration, else registry.npmjs.org. */
  npmRegistry?: string;
  python?: string;
  npm?: string;
  /** Runs the steps that execute code (byte-compiling, npm install scripts); without one, packages with install scripts fail. */
  buildSandbox?: BuildSandbox | null;
  /** How long one sandboxed build step may take. */
  stepTimeoutMs?: number;
}

export interface PrepareRequest {
  language: PackageLanguage;
  runtime: RuntimeTarget;
  set: DependencySet;
  policy: PackagePolicy;
}

export interface PreparedBundle {
  bundle: { key: string; hostPath: string; mountPath: string; env: Record<string, string> };
  installed: { name: string; version: string }[];
  cached: boolean;
  release(): void;
}

export interface ToolStatus {
  ok: boolean;
  /** The version found, or why the tool is unusable ("pip is not installed on the server"). */
  detail: string;
}

const short = (key: string) => key.slice(0, 12);
const listed = (ps: { name: string; version: string }[], max = 8) =>
  ps.slice(0, max).map((p) => `${p.name}${p.version ? `==${p.version}` : ''}`).join(', ') + (ps.length > max ? `, … (${ps.length - max} more)` : '');
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * Turns a requested set into a read-only bundle an execution mounts: the resolution cache answers a request seen
 * before without the index; otherwise the set is resolved and fetched on the host (downloads only), checked
 * against the policy as resolved, anything that must execute is run in a build sandbox, and the result is
 * committed under its content address. Concurrent requests for one set build it once.
 */
export class DependencyService {
  readonly store: BundleStore;
  private readonly python: string;
  private readonly npm: string;
  private readonly home: string;
  private pipIndex: Promise<PipIndex> | null = null;
  private npmRegistry: Promise<NpmRegistry> | null = null;

  constructor(private readonly opts: DependencyServiceOptions) {
    this.store = new BundleStore(opts.bundleDir, opts.cacheBytes);
    this.store.sweep();
    this.python = opts.python ?? 'python3';
    this.npm = opts.npm ?? 'npm';
    this.home = path.join(opts.bundleDir, '.home');
    fs.mkdirSync(this.home, { recursive: true, mode: 0o700 });
  }

  /** Whether pip and npm can be run here (for the startup report; prepare fails with TOOL_MISSING either way). */
  async checkTools(): Promise<Record<PackageLanguage, ToolStatus>> {
    const probe = async (cmd: string, args: string[], what: string): Promise<ToolStatus> => {
      const r = await runTool(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home }, timeoutMs: 30_000 }).catch(() => null);
      if (r?.code === 0) return { ok: true, detail: r.lines.join(' ').trim().split(' from ')[0]! };
      return { ok: false, detail: `${what} is not installed on the server` };
    };
    return { python: await probe(this.python, ['-m', 'pip', '--version'], 'pip'), node: await probe(this.npm, ['--version'], 'npm') };
  }

  list(): BundleInfo[] {
    return this.store.list();
  }

  remove(key: string): void {
    this.store.remove(key);
  }

  private pipTools(): PipTools {
    return { python: this.python, home: this.home, cacheDir: path.join(this.opts.bundleDir, '.cache', 'pip') };
  }

  private npmTools(): NpmTools {
    return { npm: this.npm, home: this.home, cacheDir: path.join(this.opts.bundleDir, '.cache', 'npm') };
  }

  private index(language: PackageLanguage): Promise<PipIndex | NpmRegistry> {
    if (language === 'python') return (this.pipIndex ??= resolvePipIndex(this.python, this.opts.pipIndexUrl, this.home));
    return (this.npmRegistry ??= resolveNpmRegistry(this.npm, this.opts.npmRegistry, this.home));
  }

  async prepare(req: PrepareRequest, log: (line: string) => void, signal?: AbortSignal): Promise<PreparedBundle> {
    const { language, runtime, set, policy } = req;
    if (set.language !== language) throw new TypeError(`a ${set.language} dependency set for a ${language} runtime`);
    if (!set.packages.length) throw new TypeError('prepare needs at least one package');
    refuse(checkPolicy(policy, language, set.packages.map((p) => p.name)));

    const index = await this.index(language);
    const indexKey = 'indexUrl' in index ? { pip: [index.indexUrl, ...index.extraIndexUrls] } : { npm: index.url };
    const rkey = requestKey(set, runtime, indexKey);

    const fromCache = () => {
      const hit = this.store.lookupRequest(rkey);
      const lock = hit && this.store.get(hit.bundleKey);
      if (!lock) return null;
      // The policy may have changed since the set was resolved: the resolved names are checked every time.
      refuse(checkPolicy(policy, language, lock.packages.map((p) => p.name), (n) => lock.via?.[n]));
      return lock;
    };
    let lock: BundleLock | null = null;
    let cached = true;
    let lease: Lease | null = null;
    // A bundle can be evicted by another process between the lookup and the lease: then it is looked up again.
    for (let attempt = 0; !lease; attempt++) {
      lock = fromCache();
      if (!lock) {
        const flight = await this.store.singleFlight(
          rkey,
          async () => {
            const again = fromCache();
            if (again) return { lock: again, built: false };
            const built = await this.build(req, index, log, signal);
            this.store.recordRequest(rkey, built.key);
            return { lock: built, built: true };
          },
          signal,
        );
        lock = flight.value.lock;
        cached = !flight.value.built || flight.shared;
      }
      const l = this.store.acquire(lock.key);
      if (this.store.get(lock.key) || attempt > 3) lease = l;
      else l.release();
    }
    if (!cached) {
      const evicted = this.store.evict(new Set([lock!.key]));
      if (evicted.length) log(`[cronium] bundle cache over its limit: evicted ${plural(evicted.length, 'least recently used bundle')}`);
    }
    if (!lock) throw new Error('unreachable');
    if (cached) log(`[cronium] bundle ${short(lock.key)} reused: ${plural(lock.packages.length, 'package')} (${listed(lock.packages)})`);
    return {
      bundle: this.mount(lock),
      installed: lock.packages.map((p) => ({ name: p.name, version: p.version })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      cached,
      release: lease.release,
    };
  }

  private mount(lock: BundleLock): PreparedBundle['bundle'] {
    const dir = this.store.bundlePath(lock.key);
    if (lock.language === 'python') return { key: lock.key, hostPath: path.join(dir, 'python'), mountPath: PYTHON_MOUNT, env: { PYTHONPATH: PYTHON_MOUNT } };
    return { key: lock.key, hostPath: path.join(dir, 'node', 'node_modules'), mountPath: NODE_MOUNT, env: {} };
  }

  private async build(req: PrepareRequest, index: PipIndex | NpmRegistry, log: (line: string) => void, signal?: AbortSignal): Promise<BundleLock> {
    const { language, runtime, set, policy } = req;
    const tmp = this.store.tempDir();
    const started = Date.now();
    try {
      let locked: LockedPackage[];
      let via: Map<string, string>;
      let indexUrl: string;
      if (language === 'python') {
        const pip = index as PipIndex;
        indexUrl = pip.indexUrl;
        log(`[cronium] resolving ${plural(set.packages.length, 'python package')} (${set.packages.map((p) => p.spec).join(', ')}) for ${runtime.id} from ${redactUrl(pip.indexUrl)}`);
        const wheels = path.join(tmp, '.wheels');
        fs.mkdirSync(wheels);
        const r = await downloadWheels(this.pipTools(), pip, runtime, set.packages, wheels, log, signal);
        refuse(checkPolicy(policy, language, r.locked.map((p) => p.name), (n) => r.via.get(n)));
        locked = r.locked;
        via = r.via;
        log(`[cronium] installing ${plural(locked.length, 'package')}: ${listed(locked)}`);
        const target = path.join(tmp, 'python');
        await installWheels(this.pipTools(), runtime, wheels, target, signal);
        fs.rmSync(wheels, { recursive: true, force: true });
        await this.compilePython(runtime, target, pip, log);
      } else {
        const npm = index as NpmRegistry;
        indexUrl = npm.url;
        log(`[cronium] resolving ${plural(set.packages.length, 'npm package')} (${set.packages.map((p) => p.spec).join(', ')}) from ${redactUrl(npm.url)}`);
        const dir = path.join(tmp, 'node');
        const r = await resolveNode(this.npmTools(), npm, runtime, set.packages, dir, log, signal);
        refuse(checkPolicy(policy, language, r.locked.map((p) => p.name), (n) => r.via.get(n)));
        locked = r.locked;
        via = r.via;
        log(`[cronium] installing ${plural(locked.length, 'package')}: ${listed(locked)}`);
        await installNode(this.npmTools(), npm, runtime, dir, signal);
        if (r.withInstallScripts.length) {
          const sandbox = this.opts.buildSandbox;
          if (!sandbox) {
            const first = r.locked.find((p) => p.source === r.withInstallScripts[0])!;
            throw new DependencyError('INSTALL_SCRIPT_FAILED', `${first.name}@${first.version} has an install script, and this server has no build sandbox to run it in`, first.name);
          }
          await this.asSandboxUser(dir, { language: 'node', runtime: runtime.id }, () =>
            runInstallScripts(sandbox, runtime, dir, r.withInstallScripts, egressHosts([npm.url]), log, this.opts.stepTimeoutMs ?? 5 * 60_000),
          );
        }
        if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.mkdirSync(path.join(dir, 'node_modules'));
      }
      const key = bundleKey(language, runtime, locked);
      const lock = this.store.commit(tmp, { key, language, runtime, requested: set.packages, packages: locked, via: Object.fromEntries(via), index: redactUrl(indexUrl) });
      log(`[cronium] bundle ${short(key)} built in ${((Date.now() - started) / 1000).toFixed(1)} s (${(lock.sizeBytes / 1024 / 1024).toFixed(1)} MiB)`);
      return lock;
    } catch (err) {
      this.store.discard(tmp);
      throw err;
    }
  }

  /**
   * Byte-compiles the bundle inside a sandbox with the runtime's own interpreter, so a read-only bundle imports
   * without compiling every module on every run. compileall only compiles (no package code is imported); paths
   * in the .pyc files name the mount point the executions see. A failure only costs speed, so it is logged.
   */
  private async compilePython(runtime: RuntimeTarget, dir: string, pip: PipIndex, log: (line: string) => void): Promise<void> {
    const sandbox = this.opts.buildSandbox;
    if (!sandbox || !fs.existsSync(dir)) return;
    const command = ['python3', '-m', 'compileall', '-q', '-s', BUILD_MOUNT, '-p', PYTHON_MOUNT, BUILD_MOUNT];
    const r = await this.asSandboxUser(dir, { language: 'python', runtime: runtime.id }, () =>
      sandbox.run({ language: 'python', runtime: runtime.id, writableDir: dir, command, egressAllow: egressHosts([pip.indexUrl]), timeoutMs: this.opts.stepTimeoutMs ?? 5 * 60_000 }, () => {}),
    );
    if (r.exitCode !== 0) log(`[cronium] byte-compiling the bundle did not complete (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}): imports will compile in memory`);
  }

  /**
   * The sandbox runs as uid 10001, so a build step's directory is its for the step and the server's again after
   * (so the committed bundle cannot be changed by that uid). A server that is not root cannot chown: the
   * directory is then made writable for all for the step (it is inside the bundle dir's private .tmp).
   */
  private async asSandboxUser<T>(dir: string, step: { language: PackageLanguage; runtime: string }, fn: () => Promise<T>): Promise<T> {
    const root = process.getuid?.() === 0;
    const walk = (d: string, f: (p: string) => void) => {
      f(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p, f);
        else f(p);
      }
    };
    if (root) walk(dir, (p) => fs.lchownSync(p, SANDBOX_UID, SANDBOX_GID));
    else walk(dir, (p) => !fs.lstatSync(p).isSymbolicLink() && fs.chmodSync(p, fs.statSync(p).mode | 0o666 | (fs.statSync(p).isDirectory() ? 0o111 : 0)));
    try {
      return await fn();
    } finally {
      if (root) walk(dir, (p) => fs.lchownSync(p, process.getuid!(), process.getgid!()));
      else await this.reclaim(dir, step);
    }
  }

  /**
   * Without root, what the sandbox wrote belongs to uid 10001: the sandbox opens it up to all, and the server
   * copies the tree into files of its own (which it can make read-only and later delete) in place of the original.
   */
  private async reclaim(dir: string, step: { language: PackageLanguage; runtime: string }): Promise<void> {
    const sandbox = this.opts.buildSandbox!;
    await sandbox.run({ ...step, writableDir: dir, command: ['chmod', '-R', 'a+rwX', BUILD_MOUNT], egressAllow: [], timeoutMs: 60_000 }, () => {});
    const own = `${dir}.own`;
    fs.cpSync(dir, own, { recursive: true, verbatimSymlinks: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(own, dir);
  }
}

function refuse(refusals: { name: string; reason: string }[]): void {
  if (!refusals.length) return;
  throw new DependencyError('POLICY_REFUSED', `refused by the package policy: ${refusals.map((r) => r.reason).join('; ')}`, refusals[0]!.name);
}

/** The hosts of the index URLs a build step may reach (file:// indexes have none). */
function egressHosts(urls: string[]): string[] {
  return [...new Set(urls.flatMap((u) => (/^https?:/.test(u) ? [new URL(u).host] : [])))];
}
