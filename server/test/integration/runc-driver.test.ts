import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LABEL_MANAGED, LABEL_NODE } from '../../src/sandbox/driver.js';
import { containerGone, logsOf, requireDocker, requireRunc, run, runcStateDir, startTestServer, stdoutOf, type TestServer, until } from '../helpers.js';

/** Everything a runc sandbox leaves on the host while it exists; none of it may outlive the sandbox. */
function traces() {
  const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d) : []);
  const cgroups: string[] = [];
  for (const c of ls('/sys/fs/cgroup')) for (const id of ls(path.join('/sys/fs/cgroup', c, 'cronium-runc'))) if (/^[0-9a-f]{64}$/.test(id)) cgroups.push(`${c}/${id}`);
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(runcStateDir + '/') && !m.startsWith(path.join(runcStateDir, 'rootfs') + '/'));
  return {
    netns: ls('/var/run/netns').filter((n) => n.startsWith('cr-')),
    veths: ls('/sys/class/net').filter((n) => n.startsWith('vcr')),
    runcState: ls(path.join(runcStateDir, 'runc')),
    bundles: ls(path.join(runcStateDir, 'bundles')),
    leases: ls(path.join(runcStateDir, 'ips')),
    cgroups,
    mounts,
    rootfs: fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(path.join(runcStateDir, 'rootfs') + '/')),
  };
}

const added = (before: string[], now: string[]) => now.filter((x) => !before.includes(x));

describe('runc driver: cleanup and limits', { concurrency: false }, () => {
  let s: TestServer;
  let ok = true;
  before(async (t) => {
    await requireDocker();
    ok = requireRunc(t as never);
  });
  after(async () => s?.stop());

  const cases = [
    { binary: 'runc', network: 'netlink' },
    { binary: 'crun', network: 'netlink' },
    { binary: 'crun', network: 'ip' },
  ] as const;
  for (const { binary, network } of cases) it(`leaves no netns, veth, runtime state, cgroup, bundle, lease or mount behind after 30 executions (${binary}, networks by ${network})`, async (t) => {
    if (!requireRunc(t, binary)) return;
    const t0 = traces();
    s = await startTestServer({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: binary, CRONIUM_RUNC_NETWORK: network, CRONIUM_POOL_SIZE: '2', CRONIUM_MAX_CONCURRENCY: '4', CRONIUM_MAX_CONCURRENCY_PER_USER: '4' });
    // Named namespaces are the ip way's; the netlink way holds them by descriptor. Watched while the jobs run.
    let named = 0;
    const watch = setInterval(() => (named = Math.max(named, added(t0.netns, traces().netns).length)), 20);
    const jobs = Array.from({ length: 30 }, (_, i) =>
      i % 10 === 9
        ? { language: 'bash', script: 'sleep 30', timeoutMs: 500 } // killed at its timeout
        : i % 3 === 0
          ? { language: 'python', script: `print(${i})` }
          : { language: 'bash', script: `echo ${i}`, resources: i % 2 ? { memoryMb: 128 } : undefined },
    );
    const results = await Promise.all(jobs.map((j) => run(s.api, j))).finally(() => clearInterval(watch));
    assert.equal(results.filter((e) => e.status === 'succeeded').length, 27, JSON.stringify(results.map((e) => e.status)));
    if (network === 'ip') assert.ok(named > 0, 'the ip way names its namespaces');
    else assert.equal(named, 0, 'the netlink way names no namespace');
    assert.equal(results.filter((e) => e.status === 'timed_out').length, 3);
    assert.ok(results.some((e) => e.pooled) && results.some((e) => !e.pooled));
    for (const e of results) assert.ok(await containerGone(e.containerId));
    await s.stop();
    const t1 = traces();
    for (const k of ['netns', 'veths', 'runcState', 'bundles', 'leases', 'cgroups', 'mounts'] as const) {
      assert.deepEqual(added(t0[k], t1[k]), [], `leftover ${k}`);
    }
    // Only the shared per-image roots stay mounted (one per runtime image).
    assert.ok(t1.rootfs.length <= 3 + t0.rootfs.length, `image roots: ${t1.rootfs.join(', ')}`);
  });

  for (const binary of ['runc', 'crun'] as const) it(`applies requested limits to a pooled sandbox (${binary} update)`, async (t) => {
    if (!ok || !requireRunc(t, binary)) return;
    s = await startTestServer({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: binary, CRONIUM_POOL_SIZE: '1' });
    await until(async () => (await s.api('GET', '/health')).body.pool.ready.bash === 1, 60_000);
    const e = await run(s.api, {
      language: 'bash',
      resources: { memoryMb: 96, pids: 50, cpus: 0.5 },
      // One labelled line per file, so that a missing file shows as the line it should have been, never as a shift.
      script: 'for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us; do echo "$f=$(cat /sys/fs/cgroup/$f 2>&1)"; done',
    });
    assert.equal(e.status, 'succeeded', JSON.stringify(e));
    assert.equal(e.pooled, true);
    const lines = stdoutOf(await logsOf(s.api, e.id)).split('\n');
    assert.equal(lines[0], `memory/memory.limit_in_bytes=${96 * 1024 * 1024}`);
    // Always checked: a sandbox without a swap limit could use swap beyond its memory limit.
    assert.equal(lines[1], `memory/memory.memsw.limit_in_bytes=${96 * 1024 * 1024}`, 'swap limit = memory limit');
    assert.equal(lines[2], 'pids/pids.max=50');
    assert.equal(lines[3], 'cpu/cpu.cfs_quota_us=50000');
    assert.equal(lines.length, 4, lines.join('\n'));
    await s.stop();
  });

  it('keeps one empty freezer cgroup frozen, so that freezing a sandbox does not switch the kernel\'s freezer on and off', async (t) => {
    const dir = '/sys/fs/cgroup/freezer/cronium-keep-frozen';
    if (!fs.existsSync('/sys/fs/cgroup/freezer/cgroup.procs')) {
      // CI's host has the cgroup v1 hierarchies (scripts/host-setup.sh; the limits test above reads them too).
      if (process.env.CI === 'true') assert.fail('CI must have the cgroup v1 freezer hierarchy (scripts/host-setup.sh)');
      return t.skip('no cgroup v1 freezer hierarchy on this host');
    }
    if (!requireRunc(t)) return;
    // As on a fresh host: the driver itself must create it.
    if (fs.existsSync(dir)) fs.rmdirSync(dir);
    const fresh = await startTestServer({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_POOL_SIZE: '0' });
    try {
      assert.equal(fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim(), 'FROZEN');
      assert.equal(fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim(), '', 'it holds no process');
    } finally {
      await fresh.stop();
    }
  });

  it('removes abandoned bundles and their address leases at start, whichever server left them', async (t) => {
    if (!ok || !requireRunc(t)) return;
    const bundles = path.join(runcStateDir, 'bundles');
    const plant = (opts: { spec?: object; ageMin: number }) => {
      const id = crypto.randomBytes(32).toString('hex');
      const dir = path.join(bundles, id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const f of ['hosts', 'hostname', 'resolv.conf']) fs.writeFileSync(path.join(dir, f), '');
      if (opts.spec) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(opts.spec));
      const lease = path.join(runcStateDir, 'ips', `192.0.2.${crypto.randomInt(1, 255)}-${id.slice(0, 8)}`);
      fs.writeFileSync(lease, id);
      const then = new Date(Date.now() - opts.ageMin * 60_000);
      fs.utimesSync(dir, then, then);
      return { id, dir, lease };
    };
    // A server killed while making a sandbox (no spec yet: no labels), and one of a node no server will sweep.
    const halfMade = plant({ ageMin: 20 });
    const foreign = plant({ ageMin: 20, spec: { annotations: { [LABEL_MANAGED]: 'true', [LABEL_NODE]: 'gone-for-good' } } });
    // Young: a server may be making it this moment.
    const young = plant({ ageMin: 0 });
    const fresh = await startTestServer({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_POOL_SIZE: '0' });
    try {
      for (const b of [halfMade, foreign]) {
        assert.ok(!fs.existsSync(b.dir), 'the abandoned bundle was removed');
        assert.ok(!fs.existsSync(b.lease), 'its address lease was released');
      }
      assert.ok(fs.existsSync(young.dir) && fs.existsSync(young.lease), 'a bundle made moments ago is left alone');
    } finally {
      await fresh.stop();
      fs.rmSync(young.dir, { recursive: true, force: true });
      fs.rmSync(young.lease, { force: true });
    }
  });

  it('refuses to start without root or runc, with a clear message', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `
      import('${new URL('../../src/sandbox/create-driver.ts', import.meta.url).pathname}').then(async ({ createDriver }) => {
        const { loadConfig } = await import('${new URL('../../src/config.ts', import.meta.url).pathname}');
        const { resolveDriver } = await import('${new URL('../../src/sandbox/probe-host.ts', import.meta.url).pathname}');
        const { driverIntent } = await import('${new URL('../../src/sandbox/choose-driver.ts', import.meta.url).pathname}');
        const c = loadConfig({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: '/nonexistent/runc' });
        const choice = await resolveDriver(driverIntent(c.sandbox));
        try { createDriver(c, {}, choice); console.log('STARTED'); } catch (e) { console.log('REFUSED', e.message); }
      });`], { encoding: 'utf8' });
    // The root check comes first: as root the missing binary is the refusal, otherwise the missing root.
    const why = process.getuid?.() === 0 ? 'the runc binary' : 'the server to run as root';
    assert.match(out, new RegExp(`REFUSED CRONIUM_SANDBOX_DRIVER=runc needs ${why}`), out);
  });
});
