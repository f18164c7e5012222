import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { ociSpec, type OciSpecContext } from '../../src/sandbox/runc/oci-spec.js';
import { parseSeccompProfile, sandboxSpec } from '../../src/sandbox/spec.js';

const root = new URL('../../..', import.meta.url).pathname;
const seccompProfile = fs.readFileSync(`${root}/seccomp-profile.json`, 'utf8');
/** The config.json Docker 20.10 wrote for a sandbox created from the same spec (then in Docker's terms, hardening.ts) (bash, 256 MB, 1 CPU, 128 pids, 64 MB tmpfs); seccomp is checked in seccomp-oci.test.ts. */
const docker = JSON.parse(fs.readFileSync(`${root}/server/test/fixtures/docker-20.10-config.json`, 'utf8'));

const id = 'a'.repeat(64);
const ctx: OciSpecContext = {
  id,
  image: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'], entrypoint: ['/usr/bin/tini', '--', '/usr/local/bin/cronium-launch'], cmd: [] },
  rootfs: '/run/cronium-runc/rootfs/sha256x',
  files: { hosts: '/b/hosts', hostname: '/b/hostname', resolvConf: '/b/resolv.conf' },
  netnsPath: '/var/run/netns/cr-aaaa',
  cgroupsPath: `/cronium-runc/${id}`,
  seccomp: { arch: 'amd64', kernel: '6.1.0' },
};
const job = { purpose: { kind: 'execution' as const, executionId: 'exec-1' }, language: 'bash' as const, limits: { memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 64 }, isolation: 'standard' as const };
const opts = { image: 'cronium/runtime-bash:latest', network: 'cronium-sandbox', nodeId: 'n1', seccomp: parseSeccompProfile(seccompProfile), gvisorRuntime: 'runsc' };

describe('OCI spec from the sandbox spec', () => {
  const spec = ociSpec(sandboxSpec(job, opts), ctx);

  it('matches what Docker generates, line for line, except for host paths, ids and the network namespace', () => {
    const { seccomp, ...linux } = spec.linux;
    assert.ok(seccomp);
    const ours = JSON.parse(JSON.stringify({ ...spec, linux }));
    const theirs = JSON.parse(JSON.stringify(docker));
    // What legitimately differs: where things live on the host, the id, and our network namespace by path.
    theirs.root.path = ctx.rootfs;
    theirs.hostname = id.slice(0, 12);
    theirs.process.env = theirs.process.env.map((e: string) => (e.startsWith('HOSTNAME=') ? `HOSTNAME=${id.slice(0, 12)}` : e));
    const bind: Record<string, string> = { '/etc/resolv.conf': '/b/resolv.conf', '/etc/hostname': '/b/hostname', '/etc/hosts': '/b/hosts' };
    for (const m of theirs.mounts) if (bind[m.destination]) m.source = bind[m.destination];
    theirs.linux.cgroupsPath = ctx.cgroupsPath;
    theirs.linux.namespaces = theirs.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: ctx.netnsPath } : n));
    // Docker disables IPv6 in the sandbox with a separate hook (set-ipv6); here it is part of the spec.
    theirs.linux.sysctl['net.ipv6.conf.all.disable_ipv6'] = '1';
    theirs.linux.sysctl['net.ipv6.conf.default.disable_ipv6'] = '1';
    // Docker keeps labels in its own store; runc keeps them as annotations (removeContainers reads them there).
    // Written out, not taken from sandboxSpec: what the sweep selects sandboxes by must not change unnoticed.
    theirs.annotations = { 'io.cronium.managed': 'true', 'io.cronium.execution-id': 'exec-1', 'io.cronium.node': 'n1', 'io.cronium.language': 'bash' };
    assert.deepEqual(ours, theirs);
  });

  it('has the security-relevant settings', () => {
    const p = spec.process as any;
    assert.deepEqual(p.user, { uid: 10001, gid: 10001, additionalGids: [10001] });
    assert.deepEqual(p.capabilities, {});
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.oomScoreAdj, 500);
    assert.equal(spec.root.readonly, true);
    const r = spec.linux.resources as any;
    assert.deepEqual(r.memory, { limit: 256 * 2 ** 20, swap: 256 * 2 ** 20, swappiness: 0, disableOOMKiller: false });
    assert.deepEqual(r.pids, { limit: 128 });
    assert.equal(r.cpu.quota, 100_000);
    const work = spec.mounts.find((m) => m.destination === '/work')!;
    assert.deepEqual(work.options, ['noexec', 'rprivate', 'rw', 'nosuid', 'nodev', 'size=64m', 'uid=10001', 'gid=10001', 'mode=0700']);
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.equal(spec.annotations['io.cronium.execution-id'], 'exec-1');
  });

  it('translates fractional CPUs to a CFS quota', () => {
    const s = ociSpec(sandboxSpec({ ...job, limits: { ...job.limits, cpus: 0.5 } }, opts), ctx);
    assert.deepEqual((s.linux.resources as any).cpu, { shares: 0, quota: 50_000, period: 100_000 });
  });

  it('refuses what it cannot translate instead of dropping it', () => {
    // Capabilities, devices, AppArmor, a TTY, an unconfined or missing seccomp profile in a standard sandbox:
    // the spec's types have no way to ask for them (spec.ts), so only these are left to refuse.
    const base = sandboxSpec(job, opts);
    // Exact messages: each case must be refused by the check meant for it, not by whichever check comes first.
    const refused = (s: typeof base, message: string, c: OciSpecContext = ctx) => assert.throws(() => ociSpec(s, c), { message });
    refused(sandboxSpec({ ...job, isolation: 'gvisor' }, opts), 'runtime runsc is not runc');
    const both = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }] });
    refused(sandboxSpec(job, { ...opts, seccomp: parseSeccompProfile(both) }), 'seccomp rule has both "name" and "names"');
    refused(base, 'unknown architecture mips', { ...ctx, seccomp: { ...ctx.seccomp, arch: 'mips' } });
  });

  it('a bind mount comes after the tmpfs it may sit in, read-only unless writable, nosuid and nodev', () => {
    const mounts = [{ source: '/bundles/abc/node_modules', target: '/work/node_modules', writable: false }];
    const all = ociSpec(sandboxSpec({ ...job, mounts }, opts), ctx).mounts;
    const at = all.findIndex((m) => m.destination === '/work/node_modules');
    assert.ok(at > all.findIndex((m) => m.destination === '/work'), 'after the /work tmpfs');
    assert.deepEqual(all[at], { destination: '/work/node_modules', type: 'bind', source: '/bundles/abc/node_modules', options: ['rbind', 'ro', 'nosuid', 'nodev', 'rprivate'] });
    const rw = ociSpec(sandboxSpec({ ...job, mounts: [{ ...mounts[0]!, writable: true }] }, opts), ctx).mounts;
    assert.deepEqual(rw.find((m) => m.destination === '/work/node_modules')!.options, ['rbind', 'rw', 'nosuid', 'nodev', 'rprivate']);
  });
});
