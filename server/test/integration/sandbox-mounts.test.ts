import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { sandboxBuildSteps } from '../../src/sandbox/build-step.js';
import { driverIntent } from '../../src/sandbox/choose-driver.js';
import { createDriver } from '../../src/sandbox/create-driver.js';
import type { PoolingSandboxDriver, SandboxJob } from '../../src/sandbox/driver.js';
import { sandboxOptionsFromConfig } from '../../src/sandbox/options.js';
import { resolveDriver } from '../../src/sandbox/probe-host.js';
import { driverEnv, requireDocker, testDrivers } from '../helpers.js';

const limits = { memoryMb: 256, cpus: 1, pids: 128, tmpfsMb: 64 };

/** Runs a bash script in a sandbox of the driver and collects its output. */
async function sh(driver: PoolingSandboxDriver, script: string, mounts: SandboxJob['mounts']) {
  let out = '';
  const run = await driver.start(
    { executionId: `mounts-${crypto.randomUUID()}`, language: 'bash', script, filename: 'main.sh', argv: ['bash', '/work/main.sh'], env: {}, limits, isolation: 'standard', mounts },
    { stdout: (t) => (out += t), stderr: (t) => (out += t) },
  );
  const result = await run.done;
  await run.remove();
  return { out, exitCode: result.exitCode };
}

/**
 * Bind mounts as each driver gives them: a dependency bundle is read-only from inside, and a build step (a
 * package's install script) writes only its scratch directory, as the sandbox user, with nothing else of the
 * host's in reach. One check per driver; the dependency tests go through the API on the default one.
 */
describe('sandbox bind mounts and build steps', { concurrency: false }, () => {
  const drivers = new Map<string, PoolingSandboxDriver>();
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-mounts-'));
    fs.chmodSync(d, 0o755);
    dirs.push(d);
    return d;
  };
  before(async () => {
    await requireDocker();
  });
  after(async () => {
    for (const d of drivers.values()) await d.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const name of testDrivers(['docker', 'crun'])) {
    it(`${name}: a read-only mount cannot be written, a build step writes only its directory`, async () => {
      const config = loadConfig({ ...process.env, ...driverEnv(name), CRONIUM_POOL_SIZE: '0', CRONIUM_NODE_ID: `mounts-${name}-${process.pid}` });
      const driver = createDriver(config, sandboxOptionsFromConfig(config, console), await resolveDriver(driverIntent(config.sandbox)));
      drivers.set(name, driver);
      await driver.ensureNetwork();

      const bundle = tmp();
      fs.mkdirSync(path.join(bundle, 'pkg'));
      fs.writeFileSync(path.join(bundle, 'pkg', 'mod.txt'), 'from the bundle\n', { mode: 0o644 });
      const ro = await sh(
        driver,
        'cat /opt/cronium/deps/pkg/mod.txt; touch /opt/cronium/deps/x 2>&1; rm -f /opt/cronium/deps/pkg/mod.txt 2>&1; grep " /opt/cronium/deps " /proc/self/mountinfo | grep -o " ro[, ]" | head -1',
        [{ source: bundle, target: '/opt/cronium/deps', writable: false }],
      );
      assert.match(ro.out, /from the bundle/);
      assert.match(ro.out, /touch: cannot touch '\/opt\/cronium\/deps\/x': Read-only file system/);
      assert.match(ro.out, /rm: cannot remove '\/opt\/cronium\/deps\/pkg\/mod.txt': Read-only file system/);
      assert.ok(fs.existsSync(path.join(bundle, 'pkg', 'mod.txt')), 'the bundle is intact on the host');
      assert.deepEqual(fs.readdirSync(bundle), ['pkg']);

      const scratch = tmp();
      fs.chownSync(scratch, 10001, 10001);
      const lines: string[] = [];
      const build = sandboxBuildSteps(driver, limits);
      const r = await build.run(
        {
          language: 'bash',
          writableDir: scratch,
          command: ['bash', '-c', 'pwd; id -u; echo built > out.txt; touch /usr/local/x 2>&1 | head -1; grep ^CapEff /proc/self/status; curl -sS -m 3 -o /dev/null http://169.254.169.254/ 2>&1 | head -1; exit 3'],
          timeoutMs: 30_000,
        },
        (l) => lines.push(l),
      );
      assert.equal(r.exitCode, 3);
      assert.equal(r.timedOut, false);
      assert.equal(lines[0], '/opt/cronium/build');
      assert.equal(lines[1], '10001');
      assert.match(lines[2]!, /Read-only file system/);
      assert.equal(lines[3], 'CapEff:\t0000000000000000');
      assert.match(lines[4]!, /curl: \(\d+\)/, 'no network from a build step');
      assert.equal(fs.readFileSync(path.join(scratch, 'out.txt'), 'utf8'), 'built\n');
      assert.equal(fs.statSync(path.join(scratch, 'out.txt')).uid, 10001);

      const slow = await build.run({ language: 'bash', writableDir: scratch, command: ['sleep', '30'], timeoutMs: 500 }, () => undefined);
      assert.equal(slow.timedOut, true);
    });
  }
});
