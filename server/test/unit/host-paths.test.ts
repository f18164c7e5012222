import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runtimeTarget } from '../../src/executions/packages.js';
import { hostPathOf } from '../../src/sandbox/host/host-paths.js';

describe('a server path as the Docker host knows it', () => {
  const mounts = [
    { source: '/var/lib/docker/volumes/cronium_server-data/_data', destination: '/var/lib/cronium' },
    { source: '/srv/bundles', destination: '/var/lib/cronium/bundles' },
    { source: '/etc/hostname-of-container', destination: '/etc/hostname' },
  ];
  const cases: [string, string][] = [
    ['/var/lib/cronium/pgdata', '/var/lib/docker/volumes/cronium_server-data/_data/pgdata'],
    ['/var/lib/cronium/bundles/ab12/python', '/srv/bundles/ab12/python'], // the longest mount holding it
    ['/var/lib/cronium', '/var/lib/docker/volumes/cronium_server-data/_data'],
    ['/var/lib/cronium-other/x', '/var/lib/cronium-other/x'], // a prefix of the name is not a parent
    ['/tmp/x/../y', '/tmp/y'],
  ];
  for (const [p, want] of cases) it(`${p} → ${want}`, () => assert.equal(hostPathOf(mounts, p), want));
  it('is the path itself without mounts (a server on the host)', () => assert.equal(hostPathOf([], '/data/bundles/k'), '/data/bundles/k'));
});

describe('what a bundle is built for, from the runtime image', () => {
  const debian = (libc: string) => [{ name: 'libc6', version: libc, source: 'debian' as const }];
  it('python: the version line and the manylinux tag of the image glibc', () => {
    assert.deepEqual(runtimeTarget({ id: 'python@3.11', language: 'python', version: '3.11.2', contents: debian('2.36-9+deb12u13') }, 'x64'), {
      id: 'python@3.11',
      version: '3.11',
      platform: 'manylinux_2_36_x86_64',
    });
    assert.equal(runtimeTarget({ id: 'python@3.13', language: 'python', version: '3.13.5', contents: debian('2.41-12') }, 'arm64')!.platform, 'manylinux_2_41_aarch64');
  });
  it('node: the major version and the npm platform', () => {
    assert.deepEqual(runtimeTarget({ id: 'node@24', language: 'node', version: '24.22.3', contents: [] }, 'x64'), { id: 'node@24', version: '24', platform: 'linux-x64' });
  });
  it('none when the image does not say its glibc, for bash, or on an unknown machine', () => {
    assert.equal(runtimeTarget({ id: 'python@3.11', language: 'python', version: '3.11.2', contents: [] }, 'x64'), null);
    assert.equal(runtimeTarget({ id: 'bash@5.2', language: 'bash', version: '5.2.15', contents: debian('2.36-9') }, 'x64'), null);
    assert.equal(runtimeTarget({ id: 'node@24', language: 'node', version: '24.1.0', contents: [] }, 'mips'), null);
  });
});
