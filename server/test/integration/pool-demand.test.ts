import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireDocker, run, startTestServer, type TestServer, until } from '../helpers.js';

/**
 * The warm pool with its default settings (sized by demand, pool-sizing.ts): a stream of back-to-back executions
 * raises the bash target above the floor, the pool follows it, and /health and /metrics show why.
 */
describe('warm pool sized by demand (default settings)', { concurrency: false }, () => {
  let s: TestServer;
  const pool = async () => (await s.api('GET', '/health')).body.pool;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
    await until(async () => Object.values((await pool()).ready as Record<string, number>).every((n) => n >= 1), 60_000);
  });
  after(async () => s?.stop());

  it('holds the floor of one per language while nothing runs', async () => {
    const p = await pool();
    assert.equal(p.min, 1);
    assert.equal(p.size, 8);
    assert.equal(p.refillAt, 'claim');
    assert.deepEqual(p.target, { bash: 1, python: 1, node: 1 });
    assert.deepEqual(p.arrivalRate, { bash: 0, python: 0, node: 0 });
  });

  it('raises the bash target above the floor under 30 back-to-back executions, and grows to it', async () => {
    let highestTarget = 0;
    let mostHeld = 0;
    let pooled = 0;
    for (let i = 0; i < 30; i++) {
      const e = await run(s.api, { language: 'bash', script: 'echo hi' });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      if (e.pooled) pooled++;
      const p = await pool();
      highestTarget = Math.max(highestTarget, p.target.bash);
      mostHeld = Math.max(mostHeld, p.ready.bash + p.warming.bash + p.starting.bash);
    }
    const p = await pool();
    assert.ok(highestTarget > p.min, `the bash target rose above the floor (${p.min}): at most ${highestTarget}`);
    assert.ok(mostHeld > p.min, `the pool started members beyond the floor: at most ${mostHeld}`);
    assert.ok(p.arrivalRate.bash > 0, JSON.stringify(p.arrivalRate));
    assert.ok(p.refillSeconds.bash > 0, JSON.stringify(p.refillSeconds));
    assert.equal(p.target.python, 1, 'python saw no demand');
    assert.equal(p.hits.bash + p.misses.bash, 30);
    assert.equal(p.hits.bash, pooled);
    assert.ok(pooled > 0, 'warm sandboxes were used');

    const metrics = (await s.api('GET', '/metrics', undefined, null)).body as string;
    const gauge = (name: string) => Number(new RegExp(`^${name}\\{language="bash"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(gauge('cronium_pool_target') >= 1, metrics);
    assert.ok(gauge('cronium_pool_arrival_rate') > 0, metrics);
    assert.ok(gauge('cronium_pool_refill_seconds') > 0, metrics);
    assert.match(metrics, /^cronium_pool_target\{language="node"\} 1$/m);
    assert.match(metrics, /^cronium_pool_hits_total\{language="bash"\} [1-9]/m, 'the existing lines are still there');
    assert.match(metrics, /^cronium_pool_size 8$/m);
  });
});
