import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { apiFor, containerExists, requireDocker, spawnServer, driverEnv, testDrivers, testEnv, until } from '../helpers.js';

for (const driver of testDrivers(['docker', 'runc'])) describe(`durable queue across a server crash (${driver} driver)`, () => {
  const procs: ChildProcess[] = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  it('runs a queued execution after a restart and reports the interrupted one, never leaving it running', async () => {
    await requireDocker();
    const env = testEnv({ CRONIUM_MAX_CONCURRENCY: '1', ...driverEnv(driver) });
    const first = await spawnServer(env);
    procs.push(first.proc);
    const api = apiFor(first.url, env.CRONIUM_ADMIN_KEY!);
    const long = await api('POST', '/api/v1/executions', { language: 'bash', script: 'echo working; sleep 1000' });
    await until(async () => (await api('GET', `/api/v1/executions/${long.body.id}`)).body.status === 'running');
    const containerId = await until(async () => {
      const e = (await api('GET', `/api/v1/executions/${long.body.id}`)).body;
      return e.containerId && (await containerExists(e.containerId)) && e.containerId;
    });
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
    if (driver === 'runc') {
      assert.ok(!fs.existsSync(`/var/run/netns/cr-${containerId.slice(0, 12)}`), 'its network namespace was removed');
      assert.ok(!fs.existsSync(`/sys/class/net/vcr${containerId.slice(0, 12)}`), 'its veth was removed');
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
