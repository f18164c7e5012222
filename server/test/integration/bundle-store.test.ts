import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BundleStore } from '../../src/dependencies/bundle-store.js';
import { DependencyError } from '../../src/dependencies/errors.js';

const target = { id: 'python@3.11', version: '3.11', platform: 'manylinux_2_36_x86_64' };
const dirs: string[] = [];
after(() => {
  for (const d of dirs) {
    spawnSync('chmod', ['-R', 'u+w', d]);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function store(limitBytes: number): BundleStore {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-test-store-'));
  dirs.push(d);
  return new BundleStore(d, limitBytes);
}

/** Commits a bundle of `kb` KiB under a key made of the digit c. */
function put(s: BundleStore, c: string, kb: number): string {
  const key = c.repeat(64);
  const tmp = s.tempDir();
  fs.mkdirSync(path.join(tmp, 'python'));
  fs.writeFileSync(path.join(tmp, 'python', 'mod.py'), Buffer.alloc(kb * 1024, 'x'));
  s.commit(tmp, { key, language: 'python', runtime: target, requested: [], packages: [{ name: `p${c}`, version: '1', hash: 'sha256:00', source: 'x.whl' }], index: 'http://i/simple' });
  return key;
}

const setUsed = (s: BundleStore, key: string, secondsAgo: number) => {
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(path.join(s.root, '.used', key), t, t);
};

async function throwsCode(fn: () => unknown, code: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof DependencyError);
    assert.equal(err.code, code);
    return;
  }
  assert.fail(`expected ${code}`);
}

describe('bundle store on a real filesystem', () => {
  it('evicts least recently used bundles over the limit, never one in use', () => {
    const s = store(250 * 1024);
    const a = put(s, 'a', 100);
    const b = put(s, 'b', 100);
    setUsed(s, a, 30);
    setUsed(s, b, 20);
    const lease = s.acquire(a); // a is the oldest, but mounted
    setUsed(s, a, 30);
    const c = put(s, 'c', 100);
    assert.deepEqual(s.evict(new Set([c])), [b]);
    assert.deepEqual(s.list().map((x) => x.key).sort(), [a, c]);
    assert.equal(s.list().find((x) => x.key === a)!.inUse, true);
    lease.release(); // a use: it touches the bundle
    assert.ok(Date.parse(s.list().find((x) => x.key === a)!.lastUsedAt) > Date.now() - 5000);
    setUsed(s, a, 30);
    const d = put(s, 'd', 100);
    assert.deepEqual(s.evict(new Set([d])), [a]);
    assert.equal(fs.existsSync(path.join(s.root, a)), false);
  });

  it('list reports packages, sizes and times; remove refuses while in use and for unknown keys, and drops the resolution', async () => {
    const s = store(10 * 1024 * 1024);
    const a = put(s, 'a', 10);
    s.recordRequest('r'.repeat(64), a);
    const [info] = s.list();
    assert.equal(info!.key, a);
    assert.equal(info!.runtime, 'python@3.11');
    assert.deepEqual(info!.packages, [{ name: 'pa', version: '1' }]);
    assert.ok(info!.sizeBytes >= 10 * 1024);
    assert.ok(Date.parse(info!.createdAt) > 0 && Date.parse(info!.lastUsedAt) > 0);
    const lease = s.acquire(a);
    await throwsCode(() => s.remove(a), 'BUNDLE_IN_USE');
    lease.release();
    lease.release(); // twice is harmless
    s.remove(a);
    assert.equal(s.lookupRequest('r'.repeat(64)), null);
    await throwsCode(() => s.remove(a), 'BUNDLE_NOT_FOUND');
    await throwsCode(() => s.remove('../etc'), 'BUNDLE_NOT_FOUND');
  });

  it('refuses a bundle larger than the whole cache, leaving nothing behind', async () => {
    const s = store(50 * 1024);
    await throwsCode(() => put(s, 'e', 100), 'BUNDLE_TOO_LARGE');
    assert.deepEqual(fs.readdirSync(path.join(s.root, '.tmp')), []);
  });

  it("another process's lease keeps a bundle in use until that process ends", async () => {
    const s = store(10 * 1024 * 1024);
    const a = put(s, 'a', 1);
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { BundleStore } = await import(${JSON.stringify(new URL('../../src/dependencies/bundle-store.ts', import.meta.url).pathname)});
      new BundleStore(${JSON.stringify(s.root)}, 1e9).acquire(${JSON.stringify(a)});
      console.log('leased'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('leased') && resolve()));
    assert.equal(s.inUse(a), true);
    await throwsCode(() => s.remove(a), 'BUNDLE_IN_USE');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    assert.equal(s.inUse(a), false, 'a dead holder no longer counts');
    s.remove(a);
  });

  it('single flight across processes: a live holder of the lock file makes others wait; a dead one is taken over', async () => {
    const s = store(10 * 1024 * 1024);
    const rkey = 'f'.repeat(64);
    const lockFile = path.join(s.root, '.locks', `${rkey}.lock`);
    const sleeper = spawn('sleep', ['30']);
    fs.writeFileSync(lockFile, String(sleeper.pid));
    let ran = false;
    const waiting = s.singleFlight(rkey, async () => (ran = true));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(ran, false, 'ran while another live process held the lock');
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.on('exit', r));
    await waiting;
    assert.equal(ran, true);
    assert.equal(fs.existsSync(lockFile), false);
    // In one process: the second caller shares the first one's run.
    let runs = 0;
    const [x, y] = await Promise.all([1, 2].map(() => s.singleFlight('e'.repeat(64), async () => ++runs)));
    assert.equal(runs, 1);
    assert.deepEqual([x!.shared, y!.shared].sort(), [false, true]);
  });

  it('sweep removes the temp dirs of builders that are gone', () => {
    const s = store(10 * 1024 * 1024);
    const dead = path.join(s.root, '.tmp', '999999999-abc');
    fs.mkdirSync(path.join(dead, 'python'), { recursive: true });
    fs.chmodSync(path.join(dead, 'python'), 0o555);
    const mine = s.tempDir();
    s.sweep();
    assert.equal(fs.existsSync(dead), false);
    assert.equal(fs.existsSync(mine), true);
  });
});
