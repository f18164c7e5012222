import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { chooseDriver, describeChoice, type DriverIntent, driverIntent, type HostFacts, type PassOverCode, runcCandidates } from '../../src/sandbox/choose-driver.js';

const CRUN = 'crun version 1.8.1';
const RUNC = 'runc version 1.1.5+ds1';
const missing = (binary: string) => ({ ok: false as const, error: `${binary} on PATH is not installed` });

/** This CI host: root with every capability, no AppArmor, v1 with an empty v2 mount, crun and runc, the addon built. */
const good: HostFacts = {
  uid: 0,
  capabilities: { sysAdmin: true, netAdmin: true },
  apparmorEnabled: false,
  hybridV2Controllers: [],
  iproute2: { ok: true, value: 'ip utility, iproute2-6.1.0' },
  netlinkAddon: { ok: true, value: true },
  runtimes: [
    { binary: 'crun', version: { ok: true, value: CRUN } },
    { binary: 'runc', version: { ok: true, value: RUNC } },
  ],
};
const auto: DriverIntent = { requested: 'auto', runcNetwork: 'auto' };
const withRuntimes = (crun: string | null, runc: string | null): HostFacts['runtimes'] => [
  { binary: 'crun', version: crun ? { ok: true, value: crun } : missing('crun') },
  { binary: 'runc', version: runc ? { ok: true, value: runc } : missing('runc') },
];

interface Row {
  name: string;
  intent?: Partial<DriverIntent>;
  facts?: Partial<HostFacts>;
  chosen: 'crun' | 'runc' | 'docker';
  binary?: string;
  passedOver: [string, PassOverCode][];
  reason?: RegExp;
}

const table: Row[] = [
  { name: 'everything there: crun', chosen: 'crun', binary: 'crun', passedOver: [], reason: /^auto: crun runs here \(crun version 1\.8\.1; .*native addon\)$/ },
  { name: 'no crun: runc', facts: { runtimes: withRuntimes(null, RUNC) }, chosen: 'runc', binary: 'runc', passedOver: [['crun', 'RUNTIME_MISSING']] },
  { name: 'neither: docker', facts: { runtimes: withRuntimes(null, null) }, chosen: 'docker', passedOver: [['crun', 'RUNTIME_MISSING'], ['runc', 'RUNTIME_MISSING']], reason: /^auto: docker, as crun and runc cannot run here$/ },
  { name: 'not root (the compose server, uid 10000): docker', facts: { uid: 10000, runtimes: withRuntimes(null, null) }, chosen: 'docker', passedOver: [['crun', 'NOT_ROOT'], ['runc', 'NOT_ROOT']] },
  { name: 'no user ids (not Linux): docker', facts: { uid: null }, chosen: 'docker', passedOver: [['crun', 'NOT_ROOT'], ['runc', 'NOT_ROOT']] },
  { name: 'root without CAP_SYS_ADMIN (a container): docker', facts: { capabilities: { sysAdmin: false, netAdmin: true } }, chosen: 'docker', passedOver: [['crun', 'NO_CAPABILITIES'], ['runc', 'NO_CAPABILITIES']] },
  { name: 'root without CAP_NET_ADMIN: docker', facts: { capabilities: { sysAdmin: true, netAdmin: false } }, chosen: 'docker', passedOver: [['crun', 'NO_CAPABILITIES'], ['runc', 'NO_CAPABILITIES']] },
  { name: 'capabilities unknown: docker', facts: { capabilities: null }, chosen: 'docker', passedOver: [['crun', 'NO_CAPABILITIES'], ['runc', 'NO_CAPABILITIES']] },
  { name: 'AppArmor enabled: docker (it applies docker-default)', facts: { apparmorEnabled: true }, chosen: 'docker', passedOver: [['crun', 'APPARMOR_ENABLED'], ['runc', 'APPARMOR_ENABLED']] },
  { name: 'hybrid cgroups with hugetlb on the v2 mount: runc (crun refuses the layout)', facts: { hybridV2Controllers: ['hugetlb'] }, chosen: 'runc', binary: 'runc', passedOver: [['crun', 'CGROUP_LAYOUT']] },
  { name: 'hybrid cgroups, no runc: docker', facts: { hybridV2Controllers: ['hugetlb'], runtimes: withRuntimes(CRUN, null) }, chosen: 'docker', passedOver: [['crun', 'CGROUP_LAYOUT'], ['runc', 'RUNTIME_MISSING']] },
  { name: 'no iproute2: docker', facts: { iproute2: missing('ip') }, chosen: 'docker', passedOver: [['crun', 'NO_IPROUTE2'], ['runc', 'NO_IPROUTE2']] },
  { name: 'no addon, network auto: crun over ip processes', facts: { netlinkAddon: { ok: false, error: 'not built' } }, chosen: 'crun', binary: 'crun', passedOver: [], reason: /networks by ip processes \(the native addon is not built\)\)$/ },
  { name: 'no addon, CRONIUM_RUNC_NETWORK=netlink: docker', intent: { runcNetwork: 'netlink' }, facts: { netlinkAddon: { ok: false, error: 'not built' } }, chosen: 'docker', passedOver: [['crun', 'NO_NETLINK_ADDON'], ['runc', 'NO_NETLINK_ADDON']] },
  { name: 'CRONIUM_RUNC_NETWORK=ip: the addon is not looked for', intent: { runcNetwork: 'ip' }, facts: { netlinkAddon: null }, chosen: 'crun', binary: 'crun', passedOver: [], reason: /CRONIUM_RUNC_NETWORK=ip/ },
  { name: 'not root and AppArmor: docker, the first blocker\'s code', facts: { uid: 1000, apparmorEnabled: true }, chosen: 'docker', passedOver: [['crun', 'NOT_ROOT'], ['runc', 'NOT_ROOT']] },
  // CRONIUM_RUNC_BINARY with auto: that runtime alone, then docker.
  { name: 'CRONIUM_RUNC_BINARY=runc: runc, crun not tried', intent: { runcBinary: 'runc' }, facts: { runtimes: [{ binary: 'runc', version: { ok: true, value: RUNC } }] }, chosen: 'runc', binary: 'runc', passedOver: [], reason: /^auto: runc \(CRONIUM_RUNC_BINARY=runc\) runs here/ },
  { name: 'CRONIUM_RUNC_BINARY missing: docker, runc not tried', intent: { runcBinary: '/nonexistent/crun' }, facts: { runtimes: [{ binary: '/nonexistent/crun', version: { ok: false, error: '/nonexistent/crun is not installed' } }] }, chosen: 'docker', passedOver: [['crun', 'RUNTIME_MISSING']], reason: /^auto: docker, as crun \(CRONIUM_RUNC_BINARY=\/nonexistent\/crun\) cannot run here$/ },
  { name: 'CRONIUM_RUNC_BINARY=/opt/oci, which is crun: crun\'s rules', intent: { runcBinary: '/opt/oci' }, facts: { hybridV2Controllers: ['hugetlb'], runtimes: [{ binary: '/opt/oci', version: { ok: true, value: CRUN } }] }, chosen: 'docker', passedOver: [['crun', 'CGROUP_LAYOUT']] },
  { name: 'CRONIUM_RUNC_BINARY of another OCI runtime: taken as runc', intent: { runcBinary: 'youki' }, facts: { runtimes: [{ binary: 'youki', version: { ok: true, value: 'youki version 0.3.0' } }] }, chosen: 'runc', binary: 'youki', passedOver: [] },
];

describe('sandbox driver choice (CRONIUM_SANDBOX_DRIVER=auto)', () => {
  for (const row of table) {
    it(row.name, () => {
      const c = chooseDriver({ ...auto, ...row.intent }, { ...good, ...row.facts });
      assert.equal(c.requested, 'auto');
      assert.equal(c.chosen, row.chosen);
      assert.equal(c.driver, row.chosen === 'docker' ? 'docker' : 'runc');
      if (c.driver === 'runc') assert.equal(c.runcBinary, row.binary);
      assert.deepEqual(
        c.passedOver.map((p) => [p.driver, p.code]),
        row.passedOver,
      );
      for (const p of c.passedOver) assert.ok(p.why.length > 10, p.why);
      if (row.reason) assert.match(c.reason, row.reason);
    });
  }

  it('probes crun before runc, or only the binary CRONIUM_RUNC_BINARY names', () => {
    assert.deepEqual(runcCandidates({ requested: 'auto', runcNetwork: 'auto' }), ['crun', 'runc']);
    assert.deepEqual(runcCandidates({ requested: 'auto', runcNetwork: 'auto', runcBinary: '/opt/bin/runc' }), ['/opt/bin/runc']);
  });

  it('says why in words an operator can act on', () => {
    const compose = chooseDriver(auto, { ...good, uid: 10000, runtimes: withRuntimes(null, null) });
    assert.equal(
      describeChoice(compose),
      'sandbox driver: docker (auto: docker, as crun and runc cannot run here); passed over: crun (the server does not run as root (uid 10000)), runc (the server does not run as root (uid 10000))',
    );
    const hybrid = chooseDriver(auto, { ...good, hybridV2Controllers: ['hugetlb'] });
    assert.match(hybrid.passedOver[0]!.why, /hugetlb on the v2 mount.*scripts\/host-setup\.sh/);
    const both = chooseDriver(auto, { ...good, apparmorEnabled: true, iproute2: missing('ip') });
    assert.match(both.passedOver[0]!.why, /AppArmor.*; iproute2/, 'every host blocker is named');
  });
});

describe('an explicit CRONIUM_SANDBOX_DRIVER is taken as it is', () => {
  it('docker, whatever the host', () => {
    const c = chooseDriver({ requested: 'docker', runcNetwork: 'auto' }, good);
    assert.deepEqual(c, { requested: 'docker', driver: 'docker', chosen: 'docker', reason: 'CRONIUM_SANDBOX_DRIVER=docker', passedOver: [] });
  });

  it('runc, even where it cannot run (the driver then refuses with its own error)', () => {
    const c = chooseDriver({ requested: 'runc', runcNetwork: 'auto' }, { ...good, uid: 1000 });
    assert.deepEqual(c, { requested: 'runc', driver: 'runc', runcBinary: 'runc', chosen: 'runc', reason: 'CRONIUM_SANDBOX_DRIVER=runc with CRONIUM_RUNC_BINARY=runc (the default)', passedOver: [] });
    const crun = chooseDriver({ requested: 'runc', runcBinary: '/usr/bin/crun', runcNetwork: 'auto' }, good);
    assert.equal(crun.chosen, 'crun');
    assert.equal(crun.driver === 'runc' && crun.runcBinary, '/usr/bin/crun');
  });
});

describe('configuration', () => {
  it('defaults to auto, with no runtime binary of its own', () => {
    const s = loadConfig({}).sandbox;
    assert.deepEqual(driverIntent(s), { requested: 'auto', runcBinary: undefined, runcNetwork: 'auto' });
  });

  it('keeps an explicit driver and binary', () => {
    assert.deepEqual(driverIntent(loadConfig({ CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: 'crun' }).sandbox), { requested: 'runc', runcBinary: 'crun', runcNetwork: 'auto' });
    assert.equal(loadConfig({ CRONIUM_SANDBOX_DRIVER: 'docker' }).sandbox.driver, 'docker');
    assert.throws(() => loadConfig({ CRONIUM_SANDBOX_DRIVER: 'podman' }), /CRONIUM_SANDBOX_DRIVER/);
  });
});
