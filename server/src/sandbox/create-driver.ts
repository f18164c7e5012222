import { execFileSync } from 'node:child_process';
import type { Config } from '../config.js';
import { DockerDriver, type DockerDriverOptions } from './docker-driver.js';
import type { PoolingSandboxDriver } from './driver.js';
import { RuncDriver } from './runc-driver.js';
import { loadNetlinkAddon, NetlinkSandboxNets } from './runc/netlink-nets.js';
import { IpSandboxNets, type SandboxNets } from './runc/netns.js';
import type { RunCommand } from './runc/command-runner.js';

/** The sandbox driver the configuration asks for (CRONIUM_SANDBOX_DRIVER); `notice` hears of a fallback. */
export function createDriver(config: Config, opts: DockerDriverOptions, notice: (message: string) => void = () => undefined): PoolingSandboxDriver {
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
  const mode = config.sandbox.runcNetwork;
  const native = mode === 'ip' ? null : loadNetlinkAddon();
  if (native && 'error' in native) {
    const why = `the native network addon is not built (${native.error}): run "npm run build:native -w server"`;
    if (mode === 'netlink') throw new Error(`CRONIUM_RUNC_NETWORK=netlink: ${why}`);
    notice(`runc sandbox networks fall back to "ip" processes, which cost CPU per sandbox; ${why}`);
  }
  const nets = (run: RunCommand): SandboxNets => (native && 'addon' in native ? new NetlinkSandboxNets(native.addon) : new IpSandboxNets(run));
  return new RuncDriver({ ...opts, runcBinary: config.sandbox.runcBinary, stateDir: config.sandbox.runcStateDir, nets });
}
