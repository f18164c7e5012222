import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SandboxJob } from '../../src/sandbox/driver.js';
import { docker, driverEnv, requireDocker, runcStateDir, startTestServer, testDrivers, type TestServer, until } from '../helpers.js';

/** The pooled bash sandbox of this server, as its runtime knows it. */
async function pooledBash(driver: string, node: string): Promise<string> {
  if (driver === 'docker') {
    const list = await docker.listContainers({ filters: { label: ['io.cronium.pool=true', `io.cronium.node=${node}`, 'io.cronium.language=bash'] } });
    assert.equal(list.length, 1);
    return list[0]!.Id;
  }
  const bundles = path.join(runcStateDir, 'bundles');
  // A bundle outlives its sandbox for a moment (its clean-up runs after the result); a running one has state.
  const ids = fs.readdirSync(bundles).filter((id) => {
    if (!fs.existsSync(path.join(runcStateDir, 'runc', id))) return false;
    try {
      const a = (JSON.parse(fs.readFileSync(path.join(bundles, id, 'config.json'), 'utf8')) as { annotations?: Record<string, string> }).annotations ?? {};
      return a['io.cronium.pool'] === 'true' && a['io.cronium.node'] === node && a['io.cronium.language'] === 'bash';
    } catch {
      return false;
    }
  });
  assert.equal(ids.length, 1);
  return ids[0]!;
}

/**
 * Kills a sandbox synchronously: the server (in this process) cannot learn of the death before the next job is
 * handed out, which is the race of a pooled sandbox that dies just before it is taken.
 */
function killNow(driver: string, id: string): void {
  if (driver === 'docker') execFileSync('docker', ['kill', id], { stdio: 'ignore' });
  else execFileSync(driver, ['--root', path.join(runcStateDir, 'runc'), 'kill', '--all', id, 'KILL'], { stdio: 'ignore' });
}

for (const driver of testDrivers()) {
  describe(`warm pool: a pooled sandbox that dies just before it is taken (${driver})`, { concurrency: false }, () => {
    let s: TestServer;
    before(async () => {
      await requireDocker();
      s = await startTestServer({ CRONIUM_POOL_SIZE: '1', ...driverEnv(driver) });
    });
    after(async () => s?.stop());

    it('never ran the job, so a fresh sandbox runs it; the pool refills', async () => {
      const ready = async () => ((await s.api('GET', '/health')).body.pool.ready as Record<string, number>).bash === 1;
      for (let round = 0; round < 2; round++) {
        await until(ready, 60_000);
        const dead = await pooledBash(driver, s.env.CRONIUM_NODE_ID!);
        const job: SandboxJob = {
          executionId: `dead-member-${round}`,
          language: 'bash',
          script: 'echo ran once',
          filename: 'main.sh',
          argv: ['bash', '/work/main.sh'],
          env: {},
          isolation: 'standard',
          limits: { ...s.server.config.defaults.defaultLimits, tmpfsMb: s.server.config.sandbox.tmpfsMb },
        };
        const out: string[] = [];
        killNow(driver, dead);
        // Same tick: the pool still counts the dead sandbox as ready and hands it out.
        const started = s.server.services.driver.start(job, { stdout: (t) => out.push(t), stderr: (t) => out.push(t) });
        const run = await started;
        const result = await run.done;
        await run.remove();
        assert.equal(result.exitCode, 0, `output: ${out.join('')}`);
        assert.equal(out.join(''), 'ran once\n', 'the job ran exactly once, and nothing of the dead sandbox shows');
        assert.equal(run.pooled, false, 'the dead pooled sandbox was replaced by a fresh one');
        assert.notEqual(run.containerId, dead);
      }
      await until(ready, 60_000);
    });
  });
}
