import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MIN_LIMITS } from '../../src/sandbox/limit-minimums.js';
import { driverEnv, logsOf, requireDocker, run, startTestServer, stdoutOf, testDrivers, type TestServer } from '../helpers.js';

/**
 * Limits below what the runtime can apply are refused with a 400 naming the minimum; limits at the minimum run.
 * Before, `cpus: 0.0001` was accepted and the execution ended in `error` (cpu.cfs_quota_us: invalid argument).
 */
for (const driver of testDrivers()) {
  describe(`resource minimums (${driver} driver)`, { concurrency: false }, () => {
    let s: TestServer;
    before(async () => {
      await requireDocker();
      s = await startTestServer(driverEnv(driver));
    });
    after(async () => s?.stop());

    /** A 400 naming the field and its minimum; anything else is reported with what became of the execution. */
    const expectRefused = async (resources: Record<string, number>, field: string, minimum: RegExp) => {
      const res = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo ran', resources });
      if (res.status === 202) {
        const final = await run(s.api, { language: 'bash', script: 'true', resources }).catch((err: Error) => ({ status: err.message }));
        assert.fail(`${JSON.stringify(resources)} was accepted (202); the same request with wait ended: ${JSON.stringify(final.status)} ${JSON.stringify((final as { error?: string }).error ?? '')}`);
      }
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.equal(res.body.error.field, field);
      assert.match(res.body.error.message, minimum);
    };

    it('cpus below 0.01 (1 ms of CFS quota per 100 ms period) is refused with the minimum', async () => {
      assert.equal(MIN_LIMITS.cpus, 0.01);
      await expectRefused({ cpus: 0.0001 }, 'resources.cpus', /at least 0\.01/);
      await expectRefused({ cpus: 0.0099 }, 'resources.cpus', /at least 0\.01/);
      await expectRefused({ cpus: 0 }, 'resources.cpus', /at least 0\.01/);
    });

    it('memory and pids below their minimums are refused with the minimum', async () => {
      await expectRefused({ memoryMb: MIN_LIMITS.memoryMb - 1 }, 'resources.memoryMb', new RegExp(`at least ${MIN_LIMITS.memoryMb}`));
      await expectRefused({ pids: MIN_LIMITS.pids - 1 }, 'resources.pids', new RegExp(`at least ${MIN_LIMITS.pids}`));
    });

    it('an execution at every minimum at once runs (bash and python)', async () => {
      for (const [language, script] of [
        ['bash', 'echo at-minimum'],
        ['python', 'print("at-minimum")'],
      ] as const) {
        const e = await run(s.api, { language, script, resources: { ...MIN_LIMITS } });
        assert.equal(e.status, 'succeeded', `${language}: ${JSON.stringify({ status: e.status, error: e.error, exitCode: e.exitCode })}`);
        assert.deepEqual({ cpus: e.limits.cpus, memoryMb: e.limits.memoryMb, pids: e.limits.pids }, MIN_LIMITS);
        assert.equal(stdoutOf(await logsOf(s.api, e.id)), 'at-minimum');
      }
    });

    if (driver === 'docker') {
      it('the settings refuse a default or maximum CPU share below the minimum too', async () => {
        for (const key of ['defaultLimits', 'maxLimits']) {
          const res = await s.api('PATCH', '/api/v1/settings', { [key]: { cpus: 0.001 } });
          assert.equal(res.status, 400, JSON.stringify(res.body));
          assert.equal(res.body.error.field, `${key}.cpus`);
          assert.match(res.body.error.message, /at least 0\.01/);
        }
      });
    }
  });
}
