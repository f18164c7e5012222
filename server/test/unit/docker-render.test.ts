import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { dockerCreateOptions } from '../../src/sandbox/docker/render.js';
import { parseSeccompProfile, sandboxSpec } from '../../src/sandbox/spec.js';

const root = new URL('../../..', import.meta.url).pathname;
const seccompText = fs.readFileSync(`${root}/seccomp-profile.json`, 'utf8');
const opts = { image: 'cronium/runtime-bash:latest', network: 'cronium-sandbox', nodeId: 'n1', seccomp: parseSeccompProfile(seccompText), gvisorRuntime: 'runsc' };

/** The Docker create options hardening.ts gave before the spec existed, written out so that none changes unnoticed. */
const ulimits = [
  { Name: 'nofile', Soft: 1024, Hard: 1024 },
  { Name: 'nproc', Soft: 4096, Hard: 4096 },
  { Name: 'core', Soft: 0, Hard: 0 },
];
const attach = { OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false };
/** A sandbox's limits as Docker takes them: swap equal to memory (none), no swappiness. */
const limitFields = (memoryMb: number, nanoCpus: number, pids: number) => ({
  Memory: memoryMb * 2 ** 20,
  MemorySwap: memoryMb * 2 ** 20,
  MemorySwappiness: 0,
  NanoCpus: nanoCpus,
  PidsLimit: pids,
  Ulimits: ulimits,
});
const fixed = { NetworkMode: 'cronium-sandbox', IpcMode: 'private', Privileged: false, LogConfig: { Type: 'none', Config: {} }, OomScoreAdj: 500 };

describe('Docker create options from the sandbox spec', () => {
  it('a standard execution: no capabilities, no new privileges, our seccomp profile as read, runc', () => {
    const job = { purpose: { kind: 'execution' as const, executionId: 'exec-1' }, language: 'bash' as const, limits: { memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 64 }, isolation: 'standard' as const };
    assert.deepEqual(dockerCreateOptions(sandboxSpec(job, opts)), {
      Image: 'cronium/runtime-bash:latest',
      User: '10001:10001',
      WorkingDir: '/work',
      ...attach,
      Env: [],
      Labels: { 'io.cronium.managed': 'true', 'io.cronium.execution-id': 'exec-1', 'io.cronium.node': 'n1', 'io.cronium.language': 'bash' },
      HostConfig: {
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m,mode=1777', '/work': 'rw,nosuid,nodev,size=64m,uid=10001,gid=10001,mode=0700' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true', `seccomp=${seccompText}`],
        ...limitFields(256, 1e9, 128),
        ...fixed,
        Runtime: 'runc',
        AutoRemove: false,
      },
    });
  });

  it('a pooled gVisor sandbox: prestart and ready mark, the pool label, runsc and no seccomp profile of ours', () => {
    const job = { purpose: { kind: 'pool' as const }, language: 'python' as const, limits: { memoryMb: 16, cpus: 0.01, pids: 8, tmpfsMb: 16 }, isolation: 'gvisor' as const };
    assert.deepEqual(dockerCreateOptions(sandboxSpec(job, { ...opts, image: 'cronium/runtime-python:latest' })), {
      Image: 'cronium/runtime-python:latest',
      User: '10001:10001',
      WorkingDir: '/work',
      ...attach,
      Env: ['CRONIUM_PRESTART=1', 'CRONIUM_READY_MARK=1'],
      Labels: { 'io.cronium.managed': 'true', 'io.cronium.execution-id': '', 'io.cronium.node': 'n1', 'io.cronium.language': 'python', 'io.cronium.pool': 'true' },
      HostConfig: {
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=16m,mode=1777', '/work': 'rw,nosuid,nodev,size=16m,uid=10001,gid=10001,mode=0700' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        ...limitFields(16, 1e7, 8),
        ...fixed,
        Runtime: 'runsc',
        AutoRemove: false,
      },
    });
  });

  it('a bind mount: read-only unless writable, Docker’s own propagation (rprivate; rslave inside its root, where it refuses rprivate); none given, no Mounts at all', () => {
    const job = { purpose: { kind: 'execution' as const, executionId: 'exec-1' }, language: 'python' as const, limits: { memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 64 }, isolation: 'standard' as const };
    const mounts = [{ source: '/var/lib/cronium/bundles/abc', target: '/opt/cronium/deps', writable: false }];
    assert.deepEqual(dockerCreateOptions(sandboxSpec({ ...job, mounts }, opts)).HostConfig!.Mounts, [
      { Type: 'bind', Source: '/var/lib/cronium/bundles/abc', Target: '/opt/cronium/deps', ReadOnly: true },
    ]);
    const rw = [{ source: '/tmp/build-1', target: '/opt/cronium/build', writable: true }];
    assert.equal(dockerCreateOptions(sandboxSpec({ ...job, mounts: rw }, opts)).HostConfig!.Mounts![0]!.ReadOnly, false);
    assert.equal('Mounts' in dockerCreateOptions(sandboxSpec(job, opts)).HostConfig!, false);
  });
});
