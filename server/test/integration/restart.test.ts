import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { apiFor, containerExists, requireDocker, spawnServer, driverEnv, runcStateDir, testDrivers, testEnv, until } from '../helpers.js';

const readOr = (f: string, or = '') => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return or;
  }
};
const pids = () => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
/** A process by pid and start time (field 22 of /proc/<pid>/stat): a reused pid is another process. */
const startTime = (pid: string) => readOr(`/proc/${pid}/stat`).replace(/^.*\) /, '').split(' ')[19] ?? '';
const netnsOf = (pid: string) => {
  try {
    return fs.statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return null;
  }
};

/**
 * What a runc sandbox's network consists of on the host, in both ways of making it (runc/netns.ts: a named
 * namespace made by `ip`; runc/netlink-nets.ts: an unnamed one the server holds by descriptor): its veth, its
 * name under /var/run/netns (ip only), and the namespace itself, identified by the processes in it. A namespace
 * lives while any process is in it, so those processes (and the cgroup they sit in) must be gone, not only the
 * names; namespace inode numbers are reused, so processes are identified by pid and start time, or by the
 * sandbox's own cgroup.
 */
function sandboxNet(id: string) {
  const short = id.slice(0, 12);
  const cgroups = ['', ...fs.readdirSync('/sys/fs/cgroup')].map((c) => path.join('/sys/fs/cgroup', c, 'cronium-runc', id)).filter((d) => fs.existsSync(d));
  const inOurCgroup = (pid: string) => readOr(`/proc/${pid}/cgroup`).includes(`/cronium-runc/${id}`);
  return {
    veth: fs.existsSync(`/sys/class/net/vcr${short}`),
    named: fs.existsSync(`/var/run/netns/cr-${short}`),
    cgroups,
    leases: fs.readdirSync(path.join(runcStateDir, 'ips')).filter((ip) => readOr(path.join(runcStateDir, 'ips', ip)) === id),
    /** Processes in the namespace `ino`, as pid:starttime. */
    members: (ino: number) => pids().filter((p) => netnsOf(p) === ino).map((p) => `${p}:${startTime(p)}`),
    inOurCgroup: () => pids().filter(inOurCgroup),
  };
}

const variants = testDrivers(['docker', 'runc']).flatMap((driver) =>
  driver === 'docker' ? [{ driver, network: null }] : (['netlink', 'ip'] as const).map((network) => ({ driver, network })),
);

for (const { driver, network } of variants) describe(`durable queue across a server crash (${driver} driver${network ? `, networks by ${network}` : ''})`, () => {
  const procs: ChildProcess[] = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  it('runs a queued execution after a restart and reports the interrupted one, never leaving it running', async () => {
    await requireDocker();
    const env = testEnv({ CRONIUM_MAX_CONCURRENCY: '1', ...driverEnv(driver), ...(network ? { CRONIUM_RUNC_NETWORK: network } : {}) });
    const first = await spawnServer(env);
    procs.push(first.proc);
    const api = apiFor(first.url, env.CRONIUM_ADMIN_KEY!);
    const long = await api('POST', '/api/v1/executions', { language: 'bash', script: 'echo working; sleep 1000' });
    await until(async () => (await api('GET', `/api/v1/executions/${long.body.id}`)).body.status === 'running');
    const containerId = await until(async () => {
      const e = (await api('GET', `/api/v1/executions/${long.body.id}`)).body;
      return e.containerId && (await containerExists(e.containerId)) && e.containerId;
    });
    // The sandbox's network while it runs, the positive control for what must be gone after the restart.
    let netns = 0;
    let members: string[] = [];
    if (network) {
      const pid = (await until(async () => readOr(path.join(runcStateDir, 'bundles', containerId, 'pid')).trim())).trim();
      netns = netnsOf(pid)!;
      assert.ok(netns, `the sandbox's init (pid ${pid}) has a network namespace`);
      members = await until(async () => sandboxNet(containerId).members(netns).length >= 2 && sandboxNet(containerId).members(netns));
      const live = sandboxNet(containerId);
      assert.equal(live.veth, true, 'its veth is on the host');
      assert.equal(live.named, network === 'ip', 'only the ip way names its namespace');
      assert.ok(live.cgroups.length > 0, 'it has its cgroups');
      assert.equal(live.leases.length, 1, 'it holds one address');
      assert.deepEqual(live.inOurCgroup().sort(), members.map((m) => m.split(':')[0]).sort(), 'the processes of its cgroup are those of its namespace');
    }
    const queued = await api('POST', '/api/v1/executions', { language: 'bash', script: 'echo ran after restart' });
    assert.equal(queued.body.status, 'queued');

    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));

    const second = await spawnServer(env);
    procs.push(second.proc);
    const api2 = apiFor(second.url, env.CRONIUM_ADMIN_KEY!);
    const interrupted = (await api2('GET', `/api/v1/executions/${long.body.id}`)).body;
    assert.equal(interrupted.status, 'error');
    assert.match(interrupted.error, /restarted while this execution was running/);
    assert.equal(await containerExists(containerId), false, 'the orphaned container was removed');
    if (network) {
      const left = sandboxNet(containerId);
      assert.equal(left.named, false, 'its network namespace was removed');
      assert.equal(left.veth, false, 'its veth was removed');
      const alive = left.members(netns).filter((m) => members.includes(m));
      assert.deepEqual(alive, [], 'no process of the sandbox is left to hold its network namespace');
      assert.deepEqual(left.inOurCgroup(), [], 'no process is left in its cgroup');
      assert.deepEqual(left.cgroups, [], 'its cgroups were removed');
      assert.deepEqual(left.leases, [], 'its address went back');
    }

    const done = await until(async () => {
      const e = (await api2('GET', `/api/v1/executions/${queued.body.id}`)).body;
      return ['succeeded', 'failed', 'error'].includes(e.status) && e;
    }, 60_000);
    assert.equal(done.status, 'succeeded');
    const logs = (await api2('GET', `/api/v1/executions/${queued.body.id}/logs`)).body.entries;
    assert.deepEqual(logs.map((l: any) => l.text), ['ran after restart']);
    second.proc.kill('SIGTERM');
    await new Promise((r) => second.proc.once('exit', r));
  });
});
