import type Docker from 'dockerode';
import { READY_MARK_ENV } from './launcher/ready-mark.js';
import { LABEL_EXECUTION, LABEL_MANAGED, LABEL_NODE, type SandboxJob, type SandboxPurpose } from './driver.js';

export const SANDBOX_UID = 10001;

export interface HardeningOptions {
  image: string;
  network: string;
  nodeId: string;
  seccompProfile: string;
  gvisorRuntime: string;
}

/** What a sandbox is made for: its purpose, its language's image, its limits and its isolation tier. */
export interface SandboxShape extends Pick<SandboxJob, 'language' | 'limits' | 'isolation'> {
  purpose: SandboxPurpose;
}

/**
 * The container every execution runs in, in Docker's terms; the runc runtime translates it to OCI
 * (runc/oci-spec.ts). Each line here is part of the security model documented in the README; change it only
 * together with that section and the isolation tests.
 */
export function containerSpec(job: SandboxShape, opts: HardeningOptions): Docker.ContainerCreateOptions {
  const mb = 1024 * 1024;
  const pooled = job.purpose.kind === 'pool';
  const tmpfs = `size=${job.limits.tmpfsMb}m`;
  return {
    Image: opts.image,
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: '/work',
    // The job arrives on stdin, so the script never touches the host's disk and a pre-started container can take it.
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    // The launcher's own environment (a job's is built from scratch): a pooled container pre-starts the image's
    // interpreter while it waits (cronium-launch step 0) and says when it has loaded (launcher/ready-mark.ts); a cold one
    // gets its job at once and skips both.
    Env: pooled ? ['CRONIUM_PRESTART=1', READY_MARK_ENV] : [],
    Labels: {
      [LABEL_MANAGED]: 'true',
      // A pooled container's execution is not known yet: its label stays empty.
      [LABEL_EXECUTION]: job.purpose.kind === 'execution' ? job.purpose.executionId : '',
      [LABEL_NODE]: opts.nodeId,
      'io.cronium.language': job.language,
      // A pooled container is created before its execution exists; it is still used by one execution only.
      ...(pooled ? { 'io.cronium.pool': 'true' } : {}),
    },
    HostConfig: {
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': `rw,nosuid,nodev,${tmpfs},mode=1777`,
        '/work': `rw,nosuid,nodev,${tmpfs},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=0700`,
      },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true', ...(job.isolation === 'standard' ? [`seccomp=${opts.seccompProfile}`] : [])],
      Memory: job.limits.memoryMb * mb,
      MemorySwap: job.limits.memoryMb * mb,
      MemorySwappiness: 0,
      NanoCpus: Math.round(job.limits.cpus * 1e9),
      PidsLimit: job.limits.pids,
      // RLIMIT_NPROC counts per user id across the host, so it is a backstop; the pids cgroup is the real limit.
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'nproc', Soft: 4096, Hard: 4096 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      NetworkMode: opts.network,
      IpcMode: 'private',
      Privileged: false,
      // Output is read from the attach stream; nothing a script prints is written to the host's disk by a log driver.
      LogConfig: { Type: 'none', Config: {} },
      OomScoreAdj: 500,
      Runtime: job.isolation === 'gvisor' ? opts.gvisorRuntime : 'runc',
      AutoRemove: false,
    },
  };
}
