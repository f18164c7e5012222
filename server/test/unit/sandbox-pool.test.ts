import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxJob, SandboxLimits } from '../../src/sandbox/driver.js';
import { SandboxPool, type WaitingSandbox } from '../../src/sandbox/sandbox-pool.js';
import type { RefillMoment } from '../../src/sandbox/warm-pool.js';

const limits: SandboxLimits = { memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 64 };
const job = (over: Partial<SandboxJob> = {}): SandboxJob => ({
  executionId: 'e1', language: 'bash', script: 'echo', filename: 'main.sh', argv: ['bash', 'main.sh'], env: {}, limits, isolation: 'standard', ...over,
});

function pool(update: (p: WaitingSandbox, l: SandboxLimits) => Promise<void>, size = 1, refillAt: RefillMoment = 'claim') {
  const removed: WaitingSandbox[] = [];
  const p = new SandboxPool<WaitingSandbox>({
    sizing: { min: size, max: size, memoryMb: 512, idleMs: 0, refillAt },
    limits,
    prepare: async () => {
      const m: WaitingSandbox = { limits: { ...limits }, alive: () => true, remove: async () => void removed.push(m) };
      return m;
    },
    update,
    defaultImage: (l) => `img-${l}`,
  });
  return { p, removed };
}

const ready = async (p: SandboxPool<WaitingSandbox>) => {
  p.start();
  for (let i = 0; i < 100 && (p.stats()?.ready.bash ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 5));
};

describe('SandboxPool (the drivers\' use of the warm pool)', () => {
  it('hands a pooled sandbox to a standard job with the pool\'s limits, without an update', async () => {
    let updates = 0;
    const { p } = pool(async () => void updates++);
    await ready(p);
    assert.ok(await p.take(job()));
    assert.equal(updates, 0);
    await p.drain();
  });

  it('never pools gVisor jobs, another tmpfs size, or a job with mounts (pooled sandboxes have none)', async () => {
    const { p } = pool(async () => undefined);
    await ready(p);
    assert.equal(await p.take(job({ isolation: 'gvisor' })), null);
    assert.equal(await p.take(job({ limits: { ...limits, tmpfsMb: 128 } })), null);
    assert.equal(await p.take(job({ mounts: [{ source: '/b', target: '/opt/cronium/deps', writable: false }] })), null);
    assert.ok(await p.take(job()), 'the pooled sandbox is still there for a job without mounts');
    await p.drain();
  });

  it('applies other limits live, and goes cold (removing the sandbox) when the runtime refuses', async () => {
    const ok = pool(async () => undefined);
    await ready(ok.p);
    const got = await ok.p.take(job({ limits: { ...limits, memoryMb: 96 } }));
    assert.equal(got?.limits.memoryMb, 96);
    await ok.p.drain();

    const refused = pool(async () => {
      throw new Error('cannot lower memory below usage');
    });
    await ready(refused.p);
    assert.equal(await refused.p.take(job({ limits: { ...limits, memoryMb: 16 } })), null);
    assert.equal(refused.removed.length, 1, 'the refused sandbox is destroyed, not handed out or returned');
    await refused.p.drain();
  });

  it('replaces a pooled sandbox at once, while the execution that took it runs (refillAt claim, the default)', async () => {
    const { p } = pool(async () => undefined, 2);
    p.start();
    for (let i = 0; i < 100 && (p.stats()?.ready.bash ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const done = new Promise<void>(() => undefined);
    const run = await p.run(job(), () => assert.fail('the pool has one'), (_s, pooled) => ({ pooled, done, accepted: Promise.resolve(true) }));
    assert.equal(run.pooled, true);
    for (let i = 0; i < 100 && (p.stats()?.ready.bash ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(p.stats()?.ready.bash, 2, 'replaced while the execution still runs');
    await p.drain();
  });

  it('with refillAt end, replaces a pooled sandbox once the execution that took it has ended, not while it runs (others being ready)', async () => {
    const { p } = pool(async () => undefined, 2, 'end');
    p.start();
    for (let i = 0; i < 100 && (p.stats()?.ready.bash ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 5));
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    const run = await p.run(job(), () => assert.fail('the pool has one'), (_s, pooled) => ({ pooled, done, accepted: Promise.resolve(true) }));
    assert.equal(run.pooled, true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(p.stats()?.ready.bash, 1, 'no replacement starts while the execution runs (within the delay)');
    end();
    for (let i = 0; i < 100 && (p.stats()?.ready.bash ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(p.stats()?.ready.bash, 2, 'replaced right after the execution ended');
    await p.drain();
  });

  it('gives the job to a fresh sandbox when the pooled one ended before it took the job', async () => {
    const { p, removed } = pool(async () => undefined);
    await ready(p);
    const handed: boolean[] = [];
    const run = await p.run(
      job(),
      async () => ({ limits: { ...limits }, alive: () => true, remove: async () => undefined }),
      (_s, pooled) => {
        handed.push(pooled);
        return { pooled, done: Promise.resolve(), accepted: Promise.resolve(pooled ? false : true) };
      },
    );
    assert.deepEqual(handed, [true, false], 'handed to the pooled sandbox, then to a cold one');
    assert.equal(run.pooled, false);
    assert.equal(removed.length, 1, 'the dead pooled sandbox is removed');
    await p.drain();
  });

  it('never moves a job that a pooled sandbox took, even if it then fails', async () => {
    const { p } = pool(async () => undefined);
    await ready(p);
    const run = await p.run(job(), () => assert.fail('no cold start for a job a sandbox has'), (_s, pooled) => ({
      pooled,
      done: Promise.reject(new Error('died while running')).catch(() => undefined),
      accepted: Promise.resolve(true),
    }));
    assert.equal(run.pooled, true);
    await p.drain();
  });

  it('is off without sizing', async () => {
    const p = new SandboxPool<WaitingSandbox>({ prepare: async () => assert.fail('no pool'), update: async () => undefined, defaultImage: (l) => `img-${l}` });
    assert.equal(p.stats(), null);
    assert.equal(await p.take(job()), null);
  });
});
