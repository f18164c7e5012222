import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { containerGone, docker, logsOf, requireDocker, run, startTestServer, stdoutOf, type TestServer, until } from '../helpers.js';

describe('warm pool', { concurrency: false }, () => {
  let s: TestServer;
  const ready = async () => (await s.api('GET', '/health')).body.pool.ready as Record<string, number>;
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_POOL_SIZE: '2' });
    await until(async () => Object.values(await ready()).every((n) => n === 2), 60_000);
  });
  after(async () => s?.stop());

  it('gives every execution its own container, never reused', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => run(s.api, { language: 'bash', script: `echo run-${i}; hostname` })));
    assert.ok(results.every((e) => e.status === 'succeeded'));
    const ids = results.map((e) => e.containerId);
    assert.equal(new Set(ids).size, 6, 'six executions, six containers');
    const hostnames = await Promise.all(results.map(async (e) => stdoutOf(await logsOf(s.api, e.id)).split('\n')[1]));
    assert.equal(new Set(hostnames).size, 6);
    assert.ok(results.some((e) => e.pooled), 'warm containers were used');
    for (const e of results) assert.ok(await containerGone(e.containerId), 'each is destroyed after its one job');
    await until(async () => (await ready()).bash === 2, 60_000);
  });

  it('applies requested limits to a pooled container', async () => {
    const e = await run(s.api, {
      language: 'bash',
      resources: { memoryMb: 96, pids: 50, cpus: 0.5 },
      script: 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max',
    });
    assert.equal(e.status, 'succeeded');
    assert.equal(e.pooled, true);
    const [mem, pids] = stdoutOf(await logsOf(s.api, e.id)).split('\n');
    assert.equal(Number(mem), 96 * 1024 * 1024);
    assert.equal(Number(pids), 50);
  });

  it('recovers when pooled containers die', async () => {
    await until(async () => (await ready()).python === 2, 60_000);
    const pooled = await docker.listContainers({ filters: { label: ['io.cronium.pool=true', `io.cronium.node=${s.env.CRONIUM_NODE_ID}`, 'io.cronium.language=python'] } });
    assert.equal(pooled.length, 2);
    await Promise.all(pooled.map((c) => docker.getContainer(c.Id).kill().catch(() => undefined)));
    const e = await run(s.api, { language: 'python', script: 'print("after the pool died")' });
    assert.equal(e.status, 'succeeded', JSON.stringify(e));
    assert.ok(!pooled.some((c) => c.Id === e.containerId), 'a dead container is never handed out');
    await until(async () => (await ready()).python === 2, 60_000);
    const metrics = (await s.api('GET', '/metrics', undefined, null)).body as string;
    assert.match(metrics, /cronium_pool_ready\{language="python"\} 2/);
    assert.match(metrics, /cronium_pool_hits_total\{language="bash"\} [1-9]/);
  });

  it('drains on shutdown', async () => {
    const other = await startTestServer({ CRONIUM_POOL_SIZE: '1' });
    const node = other.env.CRONIUM_NODE_ID!;
    await until(async () => (await docker.listContainers({ filters: { label: [`io.cronium.node=${node}`] } })).length === 3, 60_000);
    await other.stop();
    const left = await docker.listContainers({ all: true, filters: { label: [`io.cronium.node=${node}`] } });
    assert.equal(left.length, 0);
  });
});
