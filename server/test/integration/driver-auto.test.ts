import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { apiFor, assertRunsBash, requireDocker, requireRunc, spawnServer, testEnv } from '../helpers.js';

/**
 * CRONIUM_SANDBOX_DRIVER=auto, the default, as `npm start` runs it (its own process): on this host (root, crun
 * installed by scripts/host-setup.sh) it picks crun, and where crun cannot be had it falls back and says why.
 * In CI a host without root, crun or iproute2 fails here instead of skipping (requireRunc).
 */
describe('the auto sandbox driver (the default)', () => {
  const procs: ChildProcess[] = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  /** A server with no CRONIUM_SANDBOX_DRIVER (nor CRONIUM_RUNC_BINARY, unless given) from anywhere; its /health, a bash run and its output. */
  async function startDefault(extra: Record<string, string> = {}) {
    const env = testEnv({ CRONIUM_POOL_SIZE: '0', CRONIUM_LOG_LEVEL: 'info', ...extra });
    delete env.CRONIUM_SANDBOX_DRIVER;
    const started = await spawnServer(env, { unset: ['CRONIUM_SANDBOX_DRIVER', ...(extra.CRONIUM_RUNC_BINARY ? [] : ['CRONIUM_RUNC_BINARY'])] });
    procs.push(started.proc);
    const api = apiFor(started.url, env.CRONIUM_ADMIN_KEY!);
    await assertRunsBash(api, 'auto ok');
    const health = await api('GET', '/health');
    started.proc.kill('SIGTERM');
    await new Promise((r) => started.proc.once('exit', r));
    // pino's JSON lines; the one that says which driver and why.
    const line = started
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; sandboxDriver?: unknown; probeMs?: number })
      .find((l) => l.msg?.startsWith('sandbox driver:'));
    return { driver: health.body.sandboxRuntime.driver, runtime: health.body.sandboxRuntime.runtime, line };
  }

  it('picks crun on this host, says why in /health and at start, and runs a script with it', async (t) => {
    if (!(await requireDocker(t)) || !requireRunc(t, 'crun')) return;
    const { driver, runtime, line } = await startDefault();
    assert.equal(runtime, 'runc', 'the runc driver runs standard sandboxes');
    assert.equal(driver.requested, 'auto');
    assert.equal(driver.chosen, 'crun', JSON.stringify(driver));
    assert.match(driver.reason, /^auto: crun runs here \(crun version /);
    assert.deepEqual(driver.passedOver, []);
    assert.ok(line, 'the start-up log says which driver');
    assert.match(line.msg!, /^sandbox driver: crun \(auto: crun runs here/);
    assert.deepEqual(line.sandboxDriver, { ...driver, runcBinary: 'crun', driver: 'runc' });
    assert.ok(typeof line.probeMs === 'number' && line.probeMs < 1000, `probing took ${line.probeMs} ms`);
  });

  it('falls back to docker, and says why, when the runtime CRONIUM_RUNC_BINARY names is missing', async (t) => {
    if (!(await requireDocker(t))) return;
    const { driver, runtime, line } = await startDefault({ CRONIUM_RUNC_BINARY: '/nonexistent/crun' });
    assert.equal(runtime, 'docker');
    assert.equal(driver.chosen, 'docker', JSON.stringify(driver));
    assert.equal(driver.reason, 'auto: docker, as crun (CRONIUM_RUNC_BINARY=/nonexistent/crun) cannot run here');
    // CRONIUM_RUNC_BINARY is honoured: only that runtime is tried, not the runc on PATH.
    assert.deepEqual(driver.passedOver, [{ driver: 'crun', code: 'RUNTIME_MISSING', why: '/nonexistent/crun is not installed' }]);
    assert.match(line?.msg ?? '', /^sandbox driver: docker .*; passed over: crun \(\/nonexistent\/crun is not installed\)$/);
  });

  it('takes runc when CRONIUM_RUNC_BINARY names it, crun not tried', async (t) => {
    if (!(await requireDocker(t)) || !requireRunc(t, 'runc')) return;
    const { driver, runtime } = await startDefault({ CRONIUM_RUNC_BINARY: 'runc' });
    assert.equal(runtime, 'runc');
    assert.equal(driver.chosen, 'runc', JSON.stringify(driver));
    assert.match(driver.reason, /^auto: runc \(CRONIUM_RUNC_BINARY=runc\) runs here \(runc version /);
    assert.deepEqual(driver.passedOver, []);
  });
});
