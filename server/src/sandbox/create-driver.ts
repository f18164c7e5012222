import { execFileSync } from 'node:child_process';
import type { Config } from '../config.js';
import type { DriverChoice } from './choose-driver.js';
import { DockerRuntime } from './docker/docker-runtime.js';
import type { PoolingSandboxDriver } from './driver.js';
import { createHostServices } from './host/index.js';
import type { SandboxOptions } from './options.js';
import { SandboxRouter } from './router.js';
import type { RunCommand } from './runc/command-runner.js';
import { loadNetlinkAddon, NetlinkSandboxNets } from './runc/netlink-nets.js';
import { IpSandboxNets, type SandboxNets } from './runc/netns.js';
import { RuncRuntime } from './runc/runc-runtime.js';

/**
 * Refuses, with what to do, an explicit CRONIUM_SANDBOX_DRIVER=runc this host cannot run (auto has already
 * passed such a host over, from the same facts).
 */
function refuseUnrunnableRunc(binary: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error('CRONIUM_SANDBOX_DRIVER=runc needs the server to run as root (it creates network namespaces, mounts and cgroups); use the docker driver otherwise');
  }
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`CRONIUM_SANDBOX_DRIVER=runc needs the runc binary (CRONIUM_RUNC_BINARY=${binary}): ${(err as Error).message}`);
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('CRONIUM_SANDBOX_DRIVER=runc needs iproute2 (the "ip" command)');
  }
}

/** How runc sandbox networks are made; refuses CRONIUM_RUNC_NETWORK=netlink without the addon. */
function runcNets(config: Config, notice: (message: string) => void): (run: RunCommand) => SandboxNets {
  const mode = config.sandbox.runcNetwork;
  const native = mode === 'ip' ? null : loadNetlinkAddon();
  if (native && 'error' in native) {
    const why = `the native network addon is not built (${native.error}): run "npm run build:native -w server"`;
    if (mode === 'netlink') throw new Error(`CRONIUM_RUNC_NETWORK=netlink: ${why}`);
    notice(`runc sandbox networks fall back to "ip" processes, which cost CPU per sandbox; ${why}`);
  }
  return (run) => (native && 'addon' in native ? new NetlinkSandboxNets(native.addon) : new IpSandboxNets(run));
}

/**
 * The sandbox driver of the choice (server.ts resolves it once, from CRONIUM_SANDBOX_DRIVER and the host): the
 * host's services built once, the runtime of each isolation tier over them, and the router in front.
 */
export function createDriver(config: Config, opts: SandboxOptions, choice: DriverChoice): PoolingSandboxDriver {
  if (choice.driver === 'docker') {
    const host = createHostServices(opts);
    const docker = new DockerRuntime(host, opts);
    return new SandboxRouter(host, { standard: docker, gvisor: docker }, opts.gvisorRuntime);
  }
  if (choice.requested === 'runc') refuseUnrunnableRunc(choice.runcBinary);
  const nets = runcNets(config, opts.notice ?? (() => undefined));
  const host = createHostServices(opts);
  // gVisor sandboxes run on Docker, unpooled, beside the runc runtime's pool.
  const gvisor = new DockerRuntime(host, { ...opts, pool: { ...opts.pool, sizing: null } });
  const runc = new RuncRuntime(host, { ...opts, runcBinary: choice.runcBinary, stateDir: config.sandbox.runcStateDir, nets });
  return new SandboxRouter(host, { standard: runc, gvisor }, opts.gvisorRuntime);
}
