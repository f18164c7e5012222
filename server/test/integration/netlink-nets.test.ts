import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ADDON_PATH, loadNetlinkAddon, NetlinkSandboxNets } from '../../src/sandbox/runc/netlink-nets.js';
import { netNames } from '../../src/sandbox/runc/netns.js';
import { requireRunc, until } from '../helpers.js';

interface IpAddr {
  ifname: string;
  flags: string[];
  operstate: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** What a process inside the namespace sees (nsenter joins it through the same /proc path the OCI runtime uses). */
const inside = (path: string, ...args: string[]) => execFileSync('nsenter', [`--net=${path}`, 'ip', '-j', ...args], { encoding: 'utf8' });

/** Real namespaces and veth pairs, made by the native addon, on a bridge of the test's own. */
describe('NetlinkSandboxNets (runc driver: sandbox networks over rtnetlink)', { concurrency: false }, () => {
  const bridge = `crn${crypto.randomBytes(3).toString('hex')}`;
  const loaded = loadNetlinkAddon();
  const nets = 'addon' in loaded ? new NetlinkSandboxNets(loaded.addon) : null;
  const newId = () => crypto.randomBytes(32).toString('hex');
  const vethExists = (id: string) => fs.existsSync(`/sys/class/net/${netNames(id).veth}`);

  before((t) => {
    if (!requireRunc(t)) return;
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
  });
  after(() => execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' }));

  it('is built (npm run build:native): CI must not test the ip fallback alone', (t) => {
    if (!nets && process.env.CI !== 'true') return t.skip(`the addon is not built: ${(loaded as { error: string }).error}`);
    assert.ok(nets, `${ADDON_PATH} must load: ${JSON.stringify(loaded)}`);
  });

  it('makes a namespace with eth0 (the address, no default route) and lo up, its veth a port of the bridge', async (t) => {
    if (!nets) return t.skip('addon not built');
    const id = newId();
    const net = await nets.create(id, '10.253.0.77', 24, bridge);
    try {
      assert.match(net.path, new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
      assert.equal(fs.readlinkSync(net.path).startsWith('net:['), true, 'the path is a network namespace');
      assert.notEqual(fs.readlinkSync(net.path), fs.readlinkSync('/proc/self/ns/net'), 'not the host\'s');
      assert.equal(path2master(net.veth), bridge);
      assert.match(fs.readFileSync(`/sys/class/net/${net.veth}/operstate`, 'utf8'), /up/);

      const links = JSON.parse(inside(net.path, 'addr', 'show')) as IpAddr[];
      assert.deepEqual(links.map((l) => l.ifname).sort(), ['eth0', 'lo'], 'eth0 and lo, nothing else');
      const eth0 = links.find((l) => l.ifname === 'eth0')!;
      assert.ok(eth0.flags.includes('UP'), `eth0 is up: ${eth0.flags}`);
      assert.deepEqual(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['10.253.0.77/24']);
      assert.ok(links.find((l) => l.ifname === 'lo')!.flags.includes('UP'), 'lo is up');
      const routes = JSON.parse(inside(net.path, 'route', 'show')) as { dst: string }[];
      assert.deepEqual(routes.map((r) => r.dst), ['10.253.0.0/24'], 'only the subnet: no default route');
    } finally {
      await net.release();
    }
  });

  it('release resolves once the veth pair is gone, so the address can go to the next sandbox', async (t) => {
    if (!nets) return t.skip('addon not built');
    const id = newId();
    const net = await nets.create(id, '10.253.0.78', 24, bridge);
    const fd = Number(net.path.split('/').at(-1));
    assert.ok(vethExists(id));
    await net.release();
    assert.equal(vethExists(id), false, 'no veth once release resolved');
    assert.throws(() => fs.fstatSync(fd), /EBADF/, 'the namespace descriptor is closed');
    await net.release(); // twice is fine
  });

  it('deletes the veth pair itself when something still holds the namespace', async (t) => {
    if (!loaded || !('addon' in loaded)) return t.skip('addon not built');
    const quick = new NetlinkSandboxNets(loaded.addon, { freeTimeoutMs: 300 });
    const id = newId();
    const net = await quick.create(id, '10.253.0.79', 24, bridge);
    const holder = fs.openSync(net.path, 'r'); // as a process that outlived its sandbox's kill would
    try {
      await net.release();
      assert.equal(vethExists(id), false, 'the veth is deleted although the namespace lives on');
      assert.ok(fs.readlinkSync(`/proc/self/fd/${holder}`).startsWith('net:['), 'the namespace itself is still held');
    } finally {
      fs.closeSync(holder);
    }
  });

  it('refuses a missing bridge or a taken name with a clear error, and leaves nothing behind', async (t) => {
    if (!nets) return t.skip('addon not built');
    const ports = () => fs.readdirSync(`/sys/class/net/${bridge}/brif`);
    assert.deepEqual(ports(), []);
    const fds = fs.readdirSync('/proc/self/fd').length;
    await assert.rejects(nets.create(newId(), '10.253.0.79', 24, 'nosuchbridge0'), /find the bridge: No such device/);
    const id = newId();
    const net = await nets.create(id, '10.253.0.80', 24, bridge);
    await assert.rejects(nets.create(id, '10.253.0.81', 24, bridge), /create the veth pair: File exists/);
    await net.release();
    assert.throws(() => loaded && 'addon' in loaded && loaded.addon.create('x'.repeat(16), bridge, '10.253.0.82', 24), /invalid/);
    assert.throws(() => loaded && 'addon' in loaded && loaded.addon.create('vcrx', bridge, 'not-an-ip', 24), /invalid/);
    assert.deepEqual(ports(), [], 'no veth left on the bridge');
    assert.equal(fs.readdirSync('/proc/self/fd').length, fds, 'no descriptor left');
  });

  it('leaves nothing on the host when the process holding the namespaces is killed', async (t) => {
    if (!nets) return t.skip('addon not built');
    const ids = [newId(), newId(), newId()];
    const child = spawn(
      process.execPath,
      ['-e', `const a = require(${JSON.stringify(ADDON_PATH)}); Promise.all(${JSON.stringify(ids.map((id) => netNames(id).veth))}.map((v, i) => a.create(v, ${JSON.stringify(bridge)}, '10.253.0.' + (90 + i), 24))).then(() => console.log('ready'));`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its networks were made`)));
    });
    assert.ok(ids.every(vethExists), 'three veth pairs while it runs');
    child.kill('SIGKILL');
    // The kernel frees the namespaces, and their veth pairs with them, once their last holder is gone.
    await until(async () => !ids.some(vethExists), 10_000);
  });
});

const path2master = (veth: string) => fs.readlinkSync(`/sys/class/net/${veth}/master`).split('/').at(-1);
