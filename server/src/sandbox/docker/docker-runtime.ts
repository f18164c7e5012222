import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { SandboxError, type SandboxJob, type SandboxLimits, type SandboxNetworkInfo, type SandboxOutput, type SandboxPurpose, type SandboxRun } from '../driver.js';
import { removeLabelledContainers } from '../host/containers.js';
import { isStatus } from '../host/docker-engine.js';
import type { HostServices } from '../host/index.js';
import { RuntimeImages } from '../host/images.js';
import type { SandboxOptions } from '../options.js';
import type { SandboxRuntime } from '../runtime.js';
import { SandboxPool } from '../sandbox-pool.js';
import { parseSeccompProfile, sandboxSpec, type SeccompProfile } from '../spec.js';
import { deliverJob, followStream, readiness, type StartedSandbox } from '../started-sandbox.js';
import { sendJob } from '../launcher/send-job.js';
import { createDemuxer, readyMarkFrameStripper } from './attach-stream.js';
import { dockerCreateOptions } from './render.js';

export type DockerRuntimeOptions = Pick<SandboxOptions, 'nodeId' | 'seccompProfile' | 'gvisorRuntime' | 'tmpfsMb' | 'pool'>;

interface DockerSandbox extends StartedSandbox {
  container: Docker.Container;
}

/**
 * Sandboxes as Docker engine containers: the standard tier with runc under dockerd, and the gVisor tier, which is
 * this runtime with the gVisor OCI runtime (runsc) instead (spec.ts picks it by the job's isolation).
 */
export class DockerRuntime implements SandboxRuntime {
  readonly name = 'docker' as const;
  /** Pooled sandboxes get the same hardening as cold ones. */
  readonly pool: SandboxPool<DockerSandbox>;
  private readonly seccomp: SeccompProfile;

  constructor(
    private readonly host: HostServices,
    private readonly opts: DockerRuntimeOptions,
  ) {
    this.seccomp = parseSeccompProfile(opts.seccompProfile);
    this.pool = new SandboxPool<DockerSandbox>({
      sizing: opts.pool.sizing,
      limits: { ...opts.pool.limits, tmpfsMb: opts.tmpfsMb },
      prepare: (shape, limits) => this.prepare({ kind: 'pool' }, shape.language, limits, 'standard', shape.image, shape.mounts),
      defaultImage: (language) => host.images.name(language),
      update: async (p, l) => {
        const mb = 1024 * 1024;
        await p.container.update({ Memory: l.memoryMb * mb, MemorySwap: l.memoryMb * mb, NanoCpus: Math.round(l.cpus * 1e9), PidsLimit: l.pids });
      },
      onError: opts.pool.onError,
    });
  }

  async check(): Promise<void> {
    // The Docker engine is all it needs (the host's ping).
  }

  ensureNetwork(): Promise<SandboxNetworkInfo> {
    return this.host.network.ensure();
  }

  async close(): Promise<void> {
    // Every container is removed before its execution's slot is freed: nothing is left to finish.
  }

  removeSandboxes(select: (labels: Record<string, string>) => boolean): Promise<number> {
    return removeLabelledContainers(this.host.engine, select);
  }

  start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun> {
    return this.pool.run(
      job,
      () =>
        this.prepare({ kind: 'execution', executionId: job.executionId }, job.language, job.limits, job.isolation, job.image ?? this.host.images.name(job.language), job.mounts),
      (p, pooled) => deliverJob(p, job, output, pooled),
    );
  }

  /**
   * Creates, attaches and starts a container that waits for its input on stdin. Used for cold starts and to fill
   * the warm pool; either way the job arrives only on delivery.
   */
  private async prepare(
    purpose: SandboxPurpose,
    language: SandboxJob['language'],
    limits: SandboxLimits,
    isolation: SandboxJob['isolation'],
    image: string,
    mounts: SandboxJob['mounts'] = [],
  ): Promise<DockerSandbox> {
    let container: Docker.Container;
    try {
      container = await this.host.engine.client.createContainer(
        dockerCreateOptions(
          sandboxSpec(
            { purpose, language, limits, isolation, mounts },
            { image, network: this.host.network.name, nodeId: this.opts.nodeId, seccomp: this.seccomp, gvisorRuntime: this.opts.gvisorRuntime },
          ),
        ),
      );
    } catch (err) {
      if (isStatus(err, 404)) throw RuntimeImages.missingError(image);
      throw new SandboxError('START_FAILED', `could not create the sandbox container: ${(err as Error).message}`);
    }
    const remove = async () => {
      await container.remove({ force: true, v: true }).catch((err: unknown) => {
        if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
      });
    };
    try {
      const ready = readiness(purpose, readyMarkFrameStripper);
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
      // One multiplexed stream: demultiplexed only once someone reads it.
      const { held, ended } = followStream(stream, ready.mark);
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
        id: container.id,
        container,
        limits,
        alive: () => !exited,
        warm: ready.warm,
        whenWarm: ready.whenWarm,
        channel: () => ({
          connect: (stdout, stderr, stdoutBytes) => {
            const demux = createDemuxer(stdout, stderr, stdoutBytes);
            held.connect((chunk) => demux.push(chunk));
            return () => demux.end();
          },
          flow: { pause: () => void stream.pause(), resume: () => void stream.resume() },
          send: (job) => sendJob(job, stream, () => undefined),
          exited: waited.then((r) => r.StatusCode as number | null),
          outputEnded: ended,
          oomKilled: async () => Boolean(((await container.inspect()).State as { OOMKilled?: boolean }).OOMKilled),
        }),
        kill: async () => {
          await container.kill({ signal: 'SIGKILL' }).catch((err: unknown) => {
            if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
          });
        },
        interrupt: async () => {
          await container.kill({ signal: 'SIGUSR2' }).catch((err: unknown) => {
            if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
          });
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
}
