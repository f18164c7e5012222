import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { apiFor, assertRunsBash, driverEnv, requireDocker, spawnServer, testEnv, type DriverName } from '../helpers.js';

/**
 * Every driver the README offers starts on this machine as `npm start` would start it (its own process, nothing
 * prepared but what scripts/host-setup.sh does) and runs a script. In CI no driver may be missing: a machine where
 * crun refuses the cgroup layout fails here rather than being skipped.
 */
const offered: DriverName[] = ['docker', 'runc', 'crun'];

describe('every sandbox driver the README offers starts', () => {
  const procs: ChildProcess[] = [];
  after(() => procs.forEach((p) => p.kill('SIGKILL')));

  for (const driver of offered) {
    it(`the ${driver} driver starts and runs a script`, async (t) => {
      if (!(await requireDocker(t))) return;
      if (driver !== 'docker' && process.getuid?.() !== 0) {
        if (process.env.CI === 'true') throw new Error(`the ${driver} driver needs root, and CI runs as root`);
        return t.skip('the runc driver needs root');
      }
      const env = testEnv({ ...driverEnv(driver), CRONIUM_POOL_SIZE: '0' });
      let started: Awaited<ReturnType<typeof spawnServer>>;
      try {
        started = await spawnServer(env);
      } catch (err) {
        throw new Error(`the ${driver} driver did not start: ${(err as Error).message}`);
      }
      procs.push(started.proc);
      const api = apiFor(started.url, env.CRONIUM_ADMIN_KEY!);
      await assertRunsBash(api, 'driver ok');
      started.proc.kill('SIGTERM');
      await new Promise((r) => started.proc.once('exit', r));
    });
  }
});
