import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import {
  LABEL_MANAGED,
  type PoolingSandboxDriver,
  type SandboxCapabilities,
  SandboxError,
  type SandboxJob,
  type SandboxLimits,
  type SandboxNetworkInfo,
  type SandboxOutput,
  type SandboxRun,
} from './driver.js';
import { createDemuxer } from './docker-stream.js';
import { readyMarkFrameStripper } from './ready-mark.js';
import { superviseJob } from './job-session.js';
import { containerSpec } from './hardening.js';
import { SandboxPool } from './sandbox-pool.js';
import type { PoolMember } from './warm-pool.js';

interface Prepared extends PoolMember {
  container: Docker.Container;
  stream: Duplex;
  waited: Promise<{ StatusCode: number }>;
  streamEnded: Promise<void>;
  limits: SandboxLimits;
  setSink(fn: (chunk: Buffer) => void): void;
  remove(): Promise<void>;
}

export interface DockerDriverOptions {
  socketPath: string;
  network: string;
  subnet?: string;
  images: Record<SandboxJob['language'], string>;
  nodeId: string;
  seccompProfile: string;
  gvisorRuntime: string;
  /** Warm containers per language (0: no pool), started with these limits. */
  poolSize?: number;
  poolLimits?: SandboxLimits;
  poolIdleMs?: number;
  onPoolError?(err: unknown, language: string): void;
}

const isStatus = (err: unknown, code: number) => (err as { statusCode?: number })?.statusCode === code;

export class DockerDriver implements PoolingSandboxDriver {
  readonly docker: Docker;

  /** Pooled sandboxes get the same hardening as cold ones. */
  readonly pool: SandboxPool<Prepared>;

  constructor(private readonly opts: DockerDriverOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    this.pool = new SandboxPool<Prepared>({
      size: opts.poolSize,
      limits: opts.poolLimits,
      idleMs: opts.poolIdleMs,
      prepare: (language, limits) => this.prepare(language, limits, 'standard', ''),
      update: async (p, l) => {
        const mb = 1024 * 1024;
        await p.container.update({ Memory: l.memoryMb * mb, MemorySwap: l.memoryMb * mb, NanoCpus: Math.round(l.cpus * 1e9), PidsLimit: l.pids });
      },
      onError: opts.onPoolError,
    });
  }

  async close(): Promise<void> {
    // Every container is removed before its execution's slot is freed: nothing is left to finish.
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new SandboxError('DOCKER_UNAVAILABLE', `Docker engine unreachable at ${this.opts.socketPath}: ${(err as Error).message}`);
    }
  }

  async capabilities(): Promise<SandboxCapabilities> {
    const info = (await this.docker.info()) as { Runtimes?: Record<string, unknown> };
    return { gvisor: Boolean(info.Runtimes && this.opts.gvisorRuntime in info.Runtimes) };
  }

  async ensureNetwork(): Promise<SandboxNetworkInfo> {
    const name = this.opts.network;
    const read = async (): Promise<SandboxNetworkInfo> => {
      const n = (await this.docker.getNetwork(name).inspect()) as {
        Id: string;
        Name: string;
        Internal: boolean;
        IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
        Options?: Record<string, string>;
      };
      const cfg = n.IPAM?.Config?.[0];
      return {
        name: n.Name,
        id: n.Id,
        internal: n.Internal,
        subnet: cfg?.Subnet ?? null,
        gateway: cfg?.Gateway ?? null,
        bridge: n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`,
        icc: n.Options?.['com.docker.network.bridge.enable_icc'] !== 'false',
      };
    };
    try {
      return await read();
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        // No route out: egress is only through the allowlisting proxy on the host side of this network.
        Internal: true,
        CheckDuplicate: true,
        Labels: { [LABEL_MANAGED]: 'true' },
        // Sandboxes must not talk to one another.
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        ...(this.opts.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: this.opts.subnet }] } } : {}),
      });
    } catch (err) {
      // Another server may have created it at the same moment.
      if (!isStatus(err, 409)) throw err;
    }
    return read();
  }

  async missingImages(): Promise<string[]> {
    const missing: string[] = [];
    for (const image of new Set(Object.values(this.opts.images))) {
      try {
        await this.docker.getImage(image).inspect();
      } catch (err) {
        if (isStatus(err, 404)) missing.push(image);
        else throw err;
      }
    }
    return missing;
  }


  /**
   * Creates, attaches and starts a container that waits for its job on stdin. Used for cold starts and to fill
   * the warm pool; either way the job arrives only in `deliver`.
   */
  private async prepare(language: SandboxJob['language'], limits: SandboxLimits, isolation: SandboxJob['isolation'], executionId: string): Promise<Prepared> {
    const image = this.opts.images[language];
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(
        containerSpec(
          { executionId, language, limits, isolation },
          {
            image,
            network: this.opts.network,
            nodeId: this.opts.nodeId,
            seccompProfile: this.opts.seccompProfile,
            gvisorRuntime: this.opts.gvisorRuntime,
          },
        ),
      );
    } catch (err) {
      if (isStatus(err, 404)) throw new SandboxError('IMAGE_MISSING', `runtime image ${image} is missing: run "npm run images"`);
      throw new SandboxError('START_FAILED', `could not create the sandbox container: ${(err as Error).message}`);
    }
    const remove = async () => {
      await container.remove({ force: true, v: true }).catch((err: unknown) => {
        if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
      });
    };
    try {
      let sink: ((chunk: Buffer) => void) | null = null;
      const early: Buffer[] = [];
      // A pooled container says when its pre-started interpreter has loaded (ready-mark.ts): until then the pool
      // counts it as warming and hands out warm ones first.
      const pooled = executionId === '';
      let warm = !pooled;
      const mark = pooled ? readyMarkFrameStripper(() => (warm = true)) : null;
      const pass = (chunk: Buffer) => {
        if (chunk.length) sink ? sink(chunk) : early.push(chunk);
      };
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
      const streamEnded = new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => pass(mark ? mark.push(chunk) : chunk));
        stream.once('end', () => mark && pass(mark.end()));
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.on('error', () => resolve());
      });
      let exited = false;
      const waited = (container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>).then(
        (r) => {
          exited = true;
          return r;
        },
        (err: unknown) => {
          exited = true;
          throw err;
        },
      );
      waited.catch(() => undefined);
      await container.start();
      return {
        container,
        stream,
        waited,
        streamEnded,
        limits,
        alive: () => !exited,
        warm: () => warm,
        setSink: (fn) => {
          sink = fn;
          for (const c of early.splice(0)) fn(c);
        },
        remove,
      };
    } catch (err) {
      await remove().catch(() => undefined);
      const msg = (err as Error).message;
      if (/unknown or invalid runtime/i.test(msg)) throw new SandboxError('RUNTIME_UNAVAILABLE', `isolation runtime is not installed: ${msg}`);
      throw new SandboxError('START_FAILED', `could not start the sandbox container: ${msg}`);
    }
  }

  async start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun> {
    return this.pool.run(
      job,
      () => this.prepare(job.language, job.limits, job.isolation, job.executionId),
      (p, pooled) => this.deliver(p, job, output, pooled),
    );
  }

  private deliver(p: Prepared, job: SandboxJob, output: SandboxOutput, pooled: boolean): SandboxRun {
    const container = p.container;
    const { done, accepted } = superviseJob(
      {
        connect: (stdout, stderr) => {
          const demux = createDemuxer(stdout, stderr);
          p.setSink((chunk) => demux.push(chunk));
          return () => demux.end();
        },
        send: (buf) => p.stream.end(buf),
        exited: p.waited.then((r) => r.StatusCode as number | null),
        outputEnded: p.streamEnded,
        oomKilled: async () => Boolean(((await container.inspect()).State as { OOMKilled?: boolean }).OOMKilled),
      },
      job,
      output,
    );

    return {
      containerId: container.id,
      pooled,
      done,
      accepted,
      kill: async () => {
        await container.kill({ signal: 'SIGKILL' }).catch((err: unknown) => {
          if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
        });
      },
      remove: p.remove,
    };
  }

  async removeContainers(select: (labels: Record<string, string>) => boolean): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
    let n = 0;
    for (const c of list) {
      if (!select(c.Labels ?? {})) continue;
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .then(() => n++)
        .catch(() => undefined);
    }
    return n;
  }
}
