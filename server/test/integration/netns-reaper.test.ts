import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CommandRunner, type RunCommand } from '../../src/sandbox/runc/command-runner.js';
import { createSandboxNet, deleteSandboxNet, netNames, SandboxNetReaper } from '../../src/sandbox/runc/netns.js';
import { requireRunc, until } from '../helpers.js';

/** Real namespaces and veth pairs on a bridge of the test's own (root and iproute2, as the runc driver needs). */
describe('SandboxNetReaper (runc driver: deleting sandbox networks)', { concurrency: false }, () => {
  const bridge = `crt${crypto.randomBytes(3).toString('hex')}`;
  const commands = new CommandRunner();
  const calls: string[][] = [];
  const counted: RunCommand = (argv, stdin) => {
    calls.push(argv);
    return commands.run(argv, stdin);
  };
  const exists = (id: string) => {
    const { netns, veth } = netNames(id);
    return fs.existsSync(`/var/run/netns/${netns}`) || fs.existsSync(`/sys/class/net/${veth}`);
  };
  const makeNets = async (n: number) => {
    const ids = Array.from({ length: n }, () => crypto.randomBytes(32).toString('hex'));
    for (const [i, id] of ids.entries()) await createSandboxNet(commands.run, id, `10.252.0.${10 + i}`, 24, bridge);
    assert.ok(ids.every(exists));
    return ids;
  };

  before((t) => {
    if (!requireRunc(t)) return;
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  });
  after(() => {
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    commands.close();
  });

  it('deletes every network asked for within its delay with one ip process', async () => {
    const ids = await makeNets(6);
    const reaper = new SandboxNetReaper(counted, { delayMs: 300 });
    calls.length = 0;
    const done: Promise<void>[] = [];
    for (const id of ids) {
      done.push(reaper.delete(id));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(done);
    assert.ok(ids.every((id) => !exists(id)), 'no namespace or veth is left');
    assert.equal(calls.length, 1, `six removals over ~120 ms, one process: ${JSON.stringify(calls)}`);
  });

  it('starts a batch at once when it is full, and on close', async () => {
    const ids = await makeNets(5);
    const reaper = new SandboxNetReaper(counted, { delayMs: 60_000, maxBatch: 3 });
    calls.length = 0;
    const full = ids.slice(0, 3).map((id) => reaper.delete(id));
    await Promise.all(full);
    assert.equal(calls.length, 1, 'three removals fill a batch: deleted without waiting for the delay');
    const rest = ids.slice(3).map((id) => reaper.delete(id));
    assert.ok(ids.slice(3).every(exists), 'the other two wait for the delay');
    await reaper.close();
    await Promise.all(rest);
    assert.ok(ids.every((id) => !exists(id)), 'close deleted what was pending');
    assert.equal(calls.length, 2);
  });

  it('still deletes each network when a batch fails, and reports only its own failure to each caller', async () => {
    const ids = await makeNets(3);
    let failed = 0;
    const reaper = new SandboxNetReaper(async (argv, stdin) => {
      // The batch of all three fails once.
      if (!failed && (stdin ?? '').trim().split('\n').length > 2) {
        failed++;
        return { code: 1, stderr: 'injected failure' };
      }
      return commands.run(argv, stdin);
    });
    await Promise.all(ids.map((id) => reaper.delete(id)));
    assert.equal(failed, 1, 'the batch failed once');
    assert.ok(ids.every((id) => !exists(id)));
  });

  it('deletes a network whose namespace the kernel is taking down at that moment (a sandbox just killed)', async () => {
    // As a start-up sweep finds it: the sandbox's last process has just been killed, and its namespace (not
    // bind-mounted, as the addon makes them) is freed asynchronously, the veth with it.
    for (let i = 0; i < 10; i++) {
      const id = crypto.randomBytes(32).toString('hex');
      const { veth } = netNames(id);
      const holder = spawn('unshare', ['--net', 'sleep', '100'], { stdio: 'ignore' });
      await until(() => {
        try {
          return fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net') && fs.readlinkSync(`/proc/${holder.pid}/exe`).endsWith('sleep');
        } catch {
          return false;
        }
      });
      execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `peer${i}`]);
      execFileSync('ip', ['link', 'set', `peer${i}`, 'netns', String(holder.pid)]);
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
      await deleteSandboxNet(commands.run, id);
      assert.ok(!exists(id), `round ${i}: the veth is gone`);
    }
  });

  it('runs no ip process for a network that is already gone', async () => {
    const reaper = new SandboxNetReaper(counted);
    calls.length = 0;
    await reaper.delete(crypto.randomBytes(32).toString('hex'));
    assert.equal(calls.length, 0);
  });
});
