import { execFileSync } from 'node:child_process';
import type { Config } from '../config.js';
import { DockerRuntime } from './docker/docker-runtime.js';
import type { PoolingSandboxDriver } from './driver.js';
import { createHostServices } from './host/index.js';
import type { SandboxOptions } from './options.js';
import { SandboxRouter } from './router.js';
import type { RunCommand } from './runc/command-runner.js';
import { loadNetlinkAddon, NetlinkSandboxNets } from './runc/netlink-nets.js';
import { IpSandboxNets, type SandboxNets } from './runc/netns.js';
import { RuncRuntime } from './runc/runc-runtime.js';

/** Refuses, with what to do, a runc configuration this host cannot run; picks how runc sandbox networks are made. */
function runcNets(config: Config, notice: (message: string) => void): (run: RunCommand) => SandboxNets {
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
  return (run) => (native && 'addon' in native ? new NetlinkSandboxNets(native.addon) : new IpSandboxNets(run));
}

/**
 * The sandbox driver the configuration asks for (CRONIUM_SANDBOX_DRIVER): the host's services built once, the
 * runtime of each isolation tier over them, and the router in front.
 */
export function createDriver(config: Config, opts: SandboxOptions): PoolingSandboxDriver {
  const nets = config.sandbox.driver === 'runc' ? runcNets(config, opts.notice ?? (() => undefined)) : null;
  const host = createHostServices(opts);
  if (!nets) {
    const docker = new DockerRuntime(host, opts);
    return new SandboxRouter(host, { standard: docker, gvisor: docker }, opts.gvisorRuntime);
  }
  // gVisor sandboxes run on Docker, unpooled, beside the runc runtime's pool.
  const gvisor = new DockerRuntime(host, { ...opts, pool: { ...opts.pool, sizing: null } });
  const runc = new RuncRuntime(host, { ...opts, runcBinary: config.sandbox.runcBinary, stateDir: config.sandbox.runcStateDir, nets });
  return new SandboxRouter(host, { standard: runc, gvisor }, opts.gvisorRuntime);
}
