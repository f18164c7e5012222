import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { type DockerSeccompProfile, kernelAtLeast, toOciSeccomp } from '../../src/sandbox/runc/seccomp-oci.js';

const root = new URL('../../..', import.meta.url).pathname;
const profile = JSON.parse(fs.readFileSync(`${root}/seccomp-profile.json`, 'utf8')) as DockerSeccompProfile;
/** What Docker 20.10 itself wrote into a sandbox container's OCI config.json for this profile on amd64. */
const docker = JSON.parse(fs.readFileSync(`${root}/server/test/fixtures/docker-20.10-seccomp-amd64.json`, 'utf8'));

describe('Docker seccomp profile -> OCI seccomp', () => {
  it('gives exactly what Docker 20.10 gives a container with no capabilities on amd64', () => {
    const oci = toOciSeccomp(profile, { arch: 'amd64', caps: [], kernel: '6.1.0' });
    const { defaultErrnoRet, ...rest } = oci;
    // Docker 20.10 drops defaultErrnoRet; runc's default errno for SCMP_ACT_ERRNO is EPERM (1) either way.
    assert.ok(defaultErrnoRet === undefined || defaultErrnoRet === 1);
    assert.deepEqual(rest, docker);
  });

  it('leaves ptrace out, so the default action (EPERM) refuses it', () => {
    const oci = toOciSeccomp(profile, { arch: 'amd64', kernel: '6.1.0' });
    assert.equal(oci.defaultAction, 'SCMP_ACT_ERRNO');
    assert.ok(!oci.syscalls.some((r) => r.names.includes('ptrace') && r.action === 'SCMP_ACT_ALLOW'));
    assert.deepEqual(oci.architectures, ['SCMP_ARCH_X86_64']);
  });

  const p: DockerSeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['kcmp'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE'] } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] }, args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
      { names: ['arm_fadvise64_64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['newsyscall'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.8' } },
      { names: ['oldfallback'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '5.8' } },
    ],
  };

  it('drops rules gated on capabilities the sandbox does not have, keeps cap-excluded ones', () => {
    const names = toOciSeccomp(p, { arch: 'amd64', caps: [], kernel: '6.1.0' }).syscalls.map((r) => r.names[0]);
    assert.deepEqual(names, ['read', 'personality', 'arch_prctl', 'clone3', 'newsyscall']);
    const withAdmin = toOciSeccomp(p, { arch: 'amd64', caps: ['CAP_SYS_ADMIN'], kernel: '6.1.0' }).syscalls.map((r) => r.names[0]);
    assert.ok(withAdmin.includes('mount') && !withAdmin.includes('personality') && !withAdmin.includes('clone3'));
  });

  it('keeps errnoRet and args, drops a zero valueTwo, and honours minKernel', () => {
    const oci = toOciSeccomp(p, { arch: 'amd64', kernel: '4.19.0' });
    assert.deepEqual(oci.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(oci.syscalls.find((r) => r.names[0] === 'clone3'), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    assert.deepEqual(oci.syscalls.find((r) => r.names[0] === 'personality')?.args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
    const names = oci.syscalls.map((r) => r.names[0]);
    assert.ok(!names.includes('newsyscall') && names.includes('oldfallback'));
  });

  it('compares kernel versions numerically', () => {
    assert.ok(kernelAtLeast('5.10.0-21-amd64', '5.8'));
    assert.ok(kernelAtLeast('5.8', '5.8'));
    assert.ok(!kernelAtLeast('4.19.0', '5.8'));
    assert.ok(kernelAtLeast('10.1', '9.9'));
  });
});
