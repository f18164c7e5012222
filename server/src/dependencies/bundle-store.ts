import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chooseEvictions } from './bundle-key.js';
import { DependencyError } from './errors.js';
import type { LockedPackage, PackageLanguage, RequestedPackage, RuntimeTarget } from './types.js';

/**
 * Content-addressed, read-only dependency bundles on disk:
 *
 *   <root>/<key>/lock.json        what the bundle holds (BundleLock); written last, so a bundle without it is not one
 *   <root>/<key>/python|node/     what is mounted
 *   <root>/.tmp/<pid>-<random>/   bundles being built (renamed into place when complete)
 *   <root>/.requests/<rkey>.json  request key → bundle key (the resolution cache)
 *   <root>/.used/<key>            its mtime is the bundle's last use
 *   <root>/.leases/<key>/<pid>.<n> one per execution mounting it, so other server processes see it in use
 *   <root>/.locks/<rkey>.lock     held (with the holder's pid) while a request key is built
 *
 * Several server processes on one host may share the directory: builds of one request key are serialised by its
 * lock file (a holder that died is detected by its pid), leases are files, and every change is a rename.
 */

export interface BundleLock {
  key: string;
  language: PackageLanguage;
  runtime: RuntimeTarget;
  requested: RequestedPackage[];
  packages: LockedPackage[];
  /** Resolved package → the package that required it, so a policy refusal from the cache can say why it is there. */
  via?: Record<string, string>;
  sizeBytes: number;
  createdAt: string;
  /** Where the packages came from (the index URL, never credentials: see redactUrl). */
  index: string;
}

export interface BundleInfo {
  key: string;
  language: PackageLanguage;
  runtime: string;
  packages: { name: string; version: string }[];
  sizeBytes: number;
  createdAt: string;
  lastUsedAt: string;
  inUse: boolean;
}

export interface Lease {
  key: string;
  release(): void;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const KEY_RE = /^[0-9a-f]{64}$/;

/** Total bytes of the regular files under dir (what the bundle costs on disk, near enough). */
export function dirSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += dirSize(p);
    else if (e.isFile()) n += fs.lstatSync(p).size;
  }
  return n;
}

/** Read-only for everyone, readable (and directories searchable) by all, so the sandbox's uid 10001 can read it. */
function makeReadOnly(dir: string, top = true): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) makeReadOnly(p, false);
    else if (e.isFile()) fs.chmodSync(p, fs.statSync(p).mode & 0o111 ? 0o555 : 0o444);
  }
  if (!top) fs.chmodSync(dir, 0o555);
}

function makeWritable(dir: string): void {
  try {
    fs.chmodSync(dir, 0o755);
  } catch {
    return;
  }
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) makeWritable(path.join(dir, e.name));
}

export class BundleStore {
  private readonly leases = new Map<string, Set<string>>();
  private readonly building = new Map<string, Promise<unknown>>();
  private leaseCounter = 0;

  constructor(
    readonly root: string,
    readonly limitBytes: number,
  ) {
    for (const d of ['.tmp', '.requests', '.used', '.leases', '.locks']) fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
  }

  bundlePath(key: string): string {
    return path.join(this.root, key);
  }

  get(key: string): BundleLock | null {
    if (!KEY_RE.test(key)) return null;
    try {
      return JSON.parse(fs.readFileSync(path.join(this.root, key, 'lock.json'), 'utf8')) as BundleLock;
    } catch {
      return null;
    }
  }

  /** The bundle a request key resolved to, while that bundle exists: a resolution is trusted until its bundle is evicted or removed. */
  lookupRequest(rkey: string): { bundleKey: string; resolvedAt: string } | null {
    const file = path.join(this.root, '.requests', `${rkey}.json`);
    try {
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { bundleKey: string; resolvedAt: string };
      if (this.get(r.bundleKey)) return r;
      fs.rmSync(file, { force: true });
    } catch {
      /* not cached */
    }
    return null;
  }

  recordRequest(rkey: string, bundleKey: string): void {
    const file = path.join(this.root, '.requests', `${rkey}.json`);
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, JSON.stringify({ bundleKey, resolvedAt: new Date().toISOString() }));
    fs.renameSync(tmp, file);
  }

  /** A fresh directory to build a bundle in, on the same filesystem so that commit is a rename. */
  tempDir(): string {
    return fs.mkdtempSync(path.join(this.root, '.tmp', `${process.pid}-`));
  }

  /** Removes what builders that are gone left behind (their temp dirs, their leases and locks). */
  sweep(): void {
    for (const d of fs.readdirSync(path.join(this.root, '.tmp'))) {
      const pid = Number(d.split('-')[0]);
      if (pid !== process.pid && !pidAlive(pid)) this.rmTree(path.join(this.root, '.tmp', d));
    }
    for (const key of fs.readdirSync(path.join(this.root, '.leases'))) this.liveLeases(key);
  }

  private rmTree(dir: string): void {
    if (!fs.existsSync(dir)) return;
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  discard(tmp: string): void {
    this.rmTree(tmp);
  }

  /**
   * Makes a built directory the bundle `lock.key`: read-only, then renamed into place. When the same bundle exists
   * already (another request resolved to the same set) the new copy is dropped. Refuses a bundle larger than the
   * whole cache.
   */
  commit(tmp: string, lock: Omit<BundleLock, 'sizeBytes' | 'createdAt'>): BundleLock {
    if (this.get(lock.key)) {
      this.rmTree(tmp);
      return this.get(lock.key)!;
    }
    const sizeBytes = dirSize(tmp);
    if (sizeBytes > this.limitBytes) {
      this.rmTree(tmp);
      throw new DependencyError('BUNDLE_TOO_LARGE', `the packages take ${mb(sizeBytes)} installed, more than the whole bundle cache (${mb(this.limitBytes)}, CRONIUM_BUNDLE_CACHE_MB)`);
    }
    const full: BundleLock = { ...lock, sizeBytes, createdAt: new Date().toISOString() };
    fs.writeFileSync(path.join(tmp, 'lock.json'), JSON.stringify(full, null, 2));
    makeReadOnly(tmp);
    fs.chmodSync(tmp, 0o755);
    const dest = this.bundlePath(lock.key);
    try {
      fs.renameSync(tmp, dest);
    } catch (err) {
      // Another process committed the same bundle between the check and the rename.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      this.rmTree(tmp);
      return this.get(lock.key)!;
    }
    fs.chmodSync(dest, 0o555);
    this.touch(lock.key);
    return full;
  }

  touch(key: string): void {
    const f = path.join(this.root, '.used', key);
    const now = new Date();
    try {
      fs.utimesSync(f, now, now);
    } catch {
      fs.writeFileSync(f, '');
    }
  }

  /** Marks a bundle mounted until release(): it is not evicted nor removed meanwhile. */
  acquire(key: string): Lease {
    const id = `${process.pid}.${++this.leaseCounter}`;
    const dir = path.join(this.root, '.leases', key);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, id), '');
    const mine = this.leases.get(key) ?? new Set();
    mine.add(id);
    this.leases.set(key, mine);
    this.touch(key);
    let released = false;
    return {
      key,
      release: () => {
        if (released) return;
        released = true;
        mine.delete(id);
        if (!mine.size) this.leases.delete(key);
        fs.rmSync(path.join(dir, id), { force: true });
        this.touch(key);
      },
    };
  }

  /** Lease files of live holders (this process's own by its in-memory record); dead holders' files are removed. */
  private liveLeases(key: string): number {
    const dir = path.join(this.root, '.leases', key);
    let files: string[];
    try {
      files = fs.readdirSync(dir);
    } catch {
      return 0;
    }
    let live = 0;
    for (const f of files) {
      const pid = Number(f.split('.')[0]);
      const alive = pid === process.pid ? !!this.leases.get(key)?.has(f) : pidAlive(pid);
      if (alive) live++;
      else fs.rmSync(path.join(dir, f), { force: true });
    }
    if (!live) fs.rmSync(dir, { recursive: true, force: true });
    return live;
  }

  inUse(key: string): boolean {
    return (this.leases.get(key)?.size ?? 0) > 0 || this.liveLeases(key) > 0;
  }

  private keys(): string[] {
    return fs.readdirSync(this.root).filter((k) => KEY_RE.test(k));
  }

  private lastUsed(key: string, fallback: string): number {
    try {
      return fs.statSync(path.join(this.root, '.used', key)).mtimeMs;
    } catch {
      return Date.parse(fallback);
    }
  }

  list(): BundleInfo[] {
    const out: BundleInfo[] = [];
    for (const key of this.keys()) {
      const lock = this.get(key);
      if (!lock) continue;
      out.push({
        key,
        language: lock.language,
        runtime: lock.runtime.id,
        packages: lock.packages.map((p) => ({ name: p.name, version: p.version })),
        sizeBytes: lock.sizeBytes,
        createdAt: lock.createdAt,
        lastUsedAt: new Date(this.lastUsed(key, lock.createdAt)).toISOString(),
        inUse: this.inUse(key),
      });
    }
    return out.sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? 1 : -1));
  }

  /** Removes a bundle (and the resolutions that point at it: the next such request resolves again). */
  remove(key: string): void {
    if (!this.get(key)) throw new DependencyError('BUNDLE_NOT_FOUND', `dependency bundle ${key} not found`);
    if (this.inUse(key)) throw new DependencyError('BUNDLE_IN_USE', `dependency bundle ${key} is mounted by a running execution`);
    // Out of sight first (a rename), then deleted: no execution ever sees a half-removed bundle.
    const trash = path.join(this.root, '.tmp', `${process.pid}-rm-${key.slice(0, 12)}-${crypto.randomBytes(4).toString('hex')}`);
    fs.chmodSync(this.bundlePath(key), 0o755);
    fs.renameSync(this.bundlePath(key), trash);
    this.rmTree(trash);
    fs.rmSync(path.join(this.root, '.used', key), { force: true });
    for (const f of fs.readdirSync(path.join(this.root, '.requests'))) {
      try {
        if (JSON.parse(fs.readFileSync(path.join(this.root, '.requests', f), 'utf8')).bundleKey === key) fs.rmSync(path.join(this.root, '.requests', f), { force: true });
      } catch {
        /* a record being written */
      }
    }
  }

  /** Evicts least recently used bundles until the total fits the limit; returns the keys removed. */
  evict(keep: ReadonlySet<string> = new Set()): string[] {
    const candidates = this.list().map((b) => ({ key: b.key, sizeBytes: b.sizeBytes, lastUsedAt: Date.parse(b.lastUsedAt), inUse: b.inUse }));
    const removed: string[] = [];
    for (const key of chooseEvictions(candidates, this.limitBytes, keep)) {
      try {
        this.remove(key);
        removed.push(key);
      } catch (err) {
        // Leased since the list was taken: it stays.
        if (!(err instanceof DependencyError)) throw err;
      }
    }
    return removed;
  }

  /**
   * Runs fn once per request key at a time: in this process by a shared promise, across processes on this host by
   * a lock file holding the builder's pid (a dead builder's lock is taken over).
   */
  async singleFlight<T>(rkey: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<{ value: T; shared: boolean }> {
    const running = this.building.get(rkey) as Promise<T> | undefined;
    // A waiter shares the outcome (shared: it did not build); only when the builder was cancelled does it build itself.
    if (running) {
      return running.then(
        (value) => ({ value, shared: true }),
        (err) => {
          if (err instanceof DependencyError && err.code === 'CANCELLED' && !signal?.aborted) return this.singleFlight(rkey, fn, signal);
          throw err;
        },
      );
    }
    const p = (async () => {
      const release = await this.lockFile(rkey, signal);
      try {
        return await fn();
      } finally {
        release();
      }
    })();
    this.building.set(rkey, p);
    try {
      return { value: await p, shared: false };
    } finally {
      this.building.delete(rkey);
    }
  }

  private async lockFile(rkey: string, signal?: AbortSignal): Promise<() => void> {
    const file = path.join(this.root, '.locks', `${rkey}.lock`);
    for (;;) {
      if (signal?.aborted) throw new DependencyError('CANCELLED', 'the execution was cancelled while its packages were being prepared');
      try {
        const fd = fs.openSync(file, 'wx');
        fs.writeSync(fd, String(process.pid));
        fs.closeSync(fd);
        return () => fs.rmSync(file, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let holder = NaN;
      let age = 0;
      try {
        holder = Number(fs.readFileSync(file, 'utf8').trim() || 'NaN');
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      // An empty file is a holder between open and write, unless it has been empty for long (it died there).
      const stale = Number.isFinite(holder) ? holder !== process.pid && !pidAlive(holder) : age > 10_000;
      if (stale) fs.rmSync(file, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** An index URL without user info, for locks and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
