import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ownerTag, SandboxFirewall } from '../../src/egress/firewall.js';
import { logsOf, requireDocker, run, spawnServer, startTestServer, stdoutOf, testEnv, until } from '../helpers.js';

/** iptables needs root; CI runs as root, so there the tests never skip. */
function needRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') throw new Error('CI runs as root: the host guard must be tested');
  t.skip('needs root for iptables');
  return false;
}

const rules = (chain: string) => execFileSync('iptables', ['-w', '-S', chain], { encoding: 'utf8' });
const acceptPorts = (chain: string) =>
  [...rules(chain).matchAll(/--dport (\d+) .*-j ACCEPT/g)].map((m) => Number(m[1])).sort((a, b) => a - b);

/**
 * The host guard's ACCEPT rules belong to the servers that added them. A server that dies cannot remove its
 * own, and the port it leaves behind can be bound by any host service later: the rules of dead servers must go.
 */
describe('host guard: rules of servers that died', { concurrency: false }, () => {
  before(async () => {
    await requireDocker();
  });

  describe('SandboxFirewall on a chain of its own', () => {
    const networkId = `t${crypto.randomBytes(6).toString('hex')}`;
    const bridge = `crg${crypto.randomBytes(3).toString('hex')}`;
    const chain = `CRONIUM-${networkId.slice(0, 12)}`;
    let alive: ChildProcess | null = null;
    after(() => {
      alive?.kill('SIGKILL');
      if (process.getuid?.() !== 0) return;
      execFileSync('iptables', ['-w', '-D', 'INPUT', '-i', bridge, '-j', chain], { stdio: 'ignore' });
      execFileSync('iptables', ['-w', '-F', chain], { stdio: 'ignore' });
      execFileSync('iptables', ['-w', '-X', chain], { stdio: 'ignore' });
    });

    it('removes rules of dead and unnamed owners at start, keeps those of live ones, and its own until it stops', async (t) => {
      if (!needRoot(t)) return;
      execFileSync('iptables', ['-w', '-N', chain]);
      alive = spawn('sleep', ['600'], { stdio: 'ignore' });
      const liveTag = ownerTag(alive.pid!)!;
      assert.ok(liveTag);
      const add = (port: number, comment?: string) =>
        execFileSync('iptables', ['-w', '-A', chain, '-p', 'tcp', '--dport', String(port), ...(comment ? ['-m', 'comment', '--comment', comment] : []), '-j', 'ACCEPT']);
      add(40001); // an older server's rule: names no owner
      add(40002, 'cronium:999999999:1'); // a pid that does not exist
      add(40003, `cronium:${process.pid}:1`); // a live pid with another start time: the pid was reused
      add(40004, liveTag); // another server that still runs

      const fw = new SandboxFirewall({ bridge, networkId, ports: [40010, 40011], mode: 'auto' });
      const state = await fw.install();
      assert.equal(state.installed, true, JSON.stringify(state));
      assert.deepEqual(acceptPorts(chain), [40004, 40010, 40011]);
      assert.match(rules(chain), /-A \S+ -j DROP\s*$/, 'DROP stays the last rule');
      await fw.uninstall();
      assert.deepEqual(acceptPorts(chain), [40004], 'its own rules are gone, the live server\'s stay');
    });

    it('a running server removes the rules of one that died meanwhile, and restores its own', async (t) => {
      if (!needRoot(t)) return;
      const fw = new SandboxFirewall({ bridge, networkId, ports: [40020], mode: 'auto', sweepMs: 100 });
      await fw.install();
      alive!.kill('SIGKILL');
      await new Promise((r) => alive!.once('exit', r));
      execFileSync('iptables', ['-w', '-D', chain, '-p', 'tcp', '--dport', '40020', '-m', 'comment', '--comment', ownerTag(process.pid)!, '-j', 'ACCEPT']);
      await until(async () => JSON.stringify(acceptPorts(chain)) === '[40020]', 5000, 50);
      await fw.uninstall();
      assert.deepEqual(acceptPorts(chain), []);
    });
  });

  it('from inside a sandbox: a host service on the port of a killed server is out of reach', async (t) => {
    if (!needRoot(t)) return;
    // A server that dies without cleaning up (SIGKILL), leaving the ports of its runtime API and proxy free.
    const env = testEnv({ CRONIUM_POOL_SIZE: '0' });
    const dead = await spawnServer(env);
    const health = (await (await fetch(`${dead.url}/health`)).json()) as { runtimeApi: { url: string } };
    const freedPort = Number(new URL(health.runtimeApi.url).port);
    dead.proc.kill('SIGKILL');
    await new Promise((r) => dead.proc.once('exit', r));
    // Any host service may now bind that port, on all interfaces.
    const service = http.createServer((_req, res) => res.end('host secret'));
    await new Promise<void>((r) => service.listen(freedPort, '0.0.0.0', r));
    const s = await startTestServer();
    try {
      assert.equal((service.address() as AddressInfo).port, freedPort);
      const gateway = (await s.api('GET', '/health')).body.sandboxNetwork.gateway as string;
      const e = await run(s.api, {
        language: 'python',
        script: [
          'import socket',
          'try:',
          `    socket.create_connection(("${gateway}", ${freedPort}), timeout=2).close()`,
          '    print("CONNECTED")',
          'except OSError:',
          '    print("BLOCKED")',
        ].join('\n'),
      });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      assert.equal(stdoutOf(await logsOf(s.api, e.id)).trim(), 'BLOCKED');
    } finally {
      await s.stop();
      service.close();
    }
  });
});
