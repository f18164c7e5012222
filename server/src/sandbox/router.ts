import type { ImageFacts } from './host/images.js';
import type { PoolingSandboxDriver, SandboxCapabilities, SandboxJob, SandboxNetworkInfo, SandboxOutput, SandboxRun } from './driver.js';
import type { HostServices } from './host/index.js';
import type { SandboxRuntime } from './runtime.js';

/**
 * The sandbox driver the engine uses: hands each job to the runtime of its isolation tier (standard: the
 * configured runtime; gVisor: the Docker runtime, which runs it with runsc) and speaks for them together.
 * With the Docker runtime configured both tiers are the same runtime.
 */
export class SandboxRouter implements PoolingSandboxDriver {
  /** Each runtime once, the Docker runtime first (its sweep is the one every configuration has). */
  private readonly runtimes: SandboxRuntime[];

  constructor(
    private readonly host: HostServices,
    private readonly tiers: { standard: SandboxRuntime; gvisor: SandboxRuntime },
    private readonly gvisorRuntime: string,
  ) {
    this.runtimes = [...new Set([tiers.gvisor, tiers.standard])];
  }

  get runtime() {
    return this.tiers.standard.name;
  }

  /** Only standard-tier jobs are pooled (sandbox-pool.ts). */
  get pool() {
    return this.tiers.standard.pool;
  }

  private runtimeFor(isolation: SandboxJob['isolation']): SandboxRuntime {
    return this.tiers[isolation];
  }

  async ping(): Promise<void> {
    await this.host.engine.ping();
    for (const r of this.runtimes) await r.check();
  }

  async capabilities(): Promise<SandboxCapabilities> {
    return { gvisor: await this.host.engine.hasRuntime(this.gvisorRuntime) };
  }

  /** The network as the standard tier's runtime needs it (the runc runtime shares its address space with Docker). */
  ensureNetwork(): Promise<SandboxNetworkInfo> {
    return this.tiers.standard.ensureNetwork();
  }

  missingImages(): Promise<string[]> {
    return this.host.images.missing();
  }

  inspectImage(image: string): Promise<ImageFacts | null> {
    return this.host.images.inspect(image);
  }

  start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun> {
    return this.runtimeFor(job.isolation).start(job, output);
  }

  async removeContainers(select: (labels: Record<string, string>) => boolean): Promise<number> {
    let n = 0;
    for (const r of this.runtimes) n += await r.removeSandboxes(select);
    return n;
  }

  async close(): Promise<void> {
    for (const r of this.runtimes) await r.close();
  }
}
