import { execFileSync } from 'node:child_process';
import type { Config } from '../config.js';
import { DockerDriver, type DockerDriverOptions } from './docker-driver.js';
import type { PoolingSandboxDriver } from './driver.js';
import { RuncDriver } from './runc-driver.js';

/** The sandbox driver the configuration asks for (CRONIUM_SANDBOX_DRIVER). */
export function createDriver(config: Config, opts: DockerDriverOptions): PoolingSandboxDriver {
  if (config.sandbox.driver === 'docker') return new DockerDriver(opts);
  if (process.getuid?.() !== 0) {
    throw new Error('CRONIUM_SANDBOX_DRIVER=runc needs the server to run as root (it creates network namespaces, mounts and cgroups); use the docker driver otherwise');
  }
  try {
    execFileSync(config.sandbox.runcBinary, ['--version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`CRONIUM_SANDBOX_DRIVER=runc needs the runc binary (CRONIUM_RUNC_BINARY=${config.sandbox.runcBinary}): ${(err as Error).message}`);
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('CRONIUM_SANDBOX_DRIVER=runc needs iproute2 (the "ip" command)');
  }
  return new RuncDriver({ ...opts, runcBinary: config.sandbox.runcBinary, stateDir: config.sandbox.runcStateDir });
}
