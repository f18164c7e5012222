import { READY_MARK_ENV } from './launcher/ready-mark.js';
import { LABEL_EXECUTION, LABEL_MANAGED, LABEL_NODE, type SandboxJob, type SandboxMount, type SandboxPurpose } from './driver.js';
import type { DockerSeccompProfile } from './runc/seccomp-oci.js';

export const SANDBOX_UID = 10001;

/** A Docker-format seccomp profile: parsed once, and kept as read so that dockerd gets the very text it got before. */
export interface SeccompProfile {
  readonly text: string;
  readonly profile: DockerSeccompProfile;
}

export function parseSeccompProfile(text: string): SeccompProfile {
  return { text, profile: JSON.parse(text) as DockerSeccompProfile };
}

/** A writable tmpfs in the read-only root; always nosuid, nodev and (Docker's default for tmpfs) noexec. */
export interface SandboxTmpfs {
  path: string;
  sizeMb: number;
  /** Octal, as mount(8) takes it. */
  mode: '1777' | '0700';
  /** Owned by root unless given. */
  owner?: { uid: number; gid: number };
}

export interface SandboxUlimit {
  name: 'nofile' | 'nproc' | 'core';
  soft: number;
  hard: number;
}

/**
 * The tier decides what confines the system calls: our seccomp profile on the host kernel, or gVisor's kernel
 * (the OCI runtime named here) with none of ours.
 */
export type SandboxConfinement = { tier: 'standard'; seccomp: SeccompProfile } | { tier: 'gvisor'; runtime: string };

/**
 * The security model of every sandbox, in no runtime's terms; docker/render.ts and runc/oci-spec.ts render it.
 * Fields typed as a single value (no capabilities, no TTY, read-only root…) are the model's fixed choices: a
 * renderer has no other case to handle, so it cannot drop one.
 */
export interface SandboxSpec {
  image: string;
  user: { uid: number; gid: number };
  workingDir: string;
  /** The launcher's own environment, KEY=value in order (a job's is built from scratch on delivery). */
  env: string[];
  labels: Record<string, string>;
  /** The job arrives on stdin, once, so the script never touches the host's disk and a pre-started sandbox can take it. */
  stdin: 'once';
  tty: false;
  readonlyRoot: true;
  tmpfs: SandboxTmpfs[];
  /** Bind mounts from the host (not noexec: a bundle's native modules are mapped executable; nosuid, nodev where the runtime takes them). */
  mounts: SandboxMount[];
  capabilities: readonly [];
  noNewPrivileges: true;
  confinement: SandboxConfinement;
  /** No swap: the swap limit equals the memory limit, and swappiness is 0. */
  limits: { memoryBytes: number; cpus: number; pids: number };
  ulimits: SandboxUlimit[];
  /** The name of the sandbox network (host/network.ts). */
  network: string;
  ipc: 'private';
  oomScoreAdj: number;
}

/** What a sandbox is made for: its purpose, its language's image, its limits and its isolation tier. */
export interface SandboxShape extends Pick<SandboxJob, 'language' | 'limits' | 'isolation' | 'mounts'> {
  purpose: SandboxPurpose;
}

export interface SandboxSpecOptions {
  image: string;
  network: string;
  nodeId: string;
  seccomp: SeccompProfile;
  gvisorRuntime: string;
}

/** CPUs in the unit Docker takes and both runtimes round through (a CFS quota is derived from it). */
export function nanoCpus(cpus: number): number {
  return Math.round(cpus * 1e9);
}

/** A tmpfs's mount options as both runtimes are given them (each adds its own defaults). */
export function tmpfsOptions(t: SandboxTmpfs): string[] {
  return ['rw', 'nosuid', 'nodev', `size=${t.sizeMb}m`, ...(t.owner ? [`uid=${t.owner.uid}`, `gid=${t.owner.gid}`] : []), `mode=${t.mode}`];
}

/**
 * The sandbox every execution runs in. Each line here is part of the security model documented in the README;
 * change it only together with that section and the isolation tests.
 */
export function sandboxSpec(job: SandboxShape, opts: SandboxSpecOptions): SandboxSpec {
  const pooled = job.purpose.kind === 'pool';
  const sandbox = { uid: SANDBOX_UID, gid: SANDBOX_UID };
  return {
    image: opts.image,
    user: sandbox,
    workingDir: '/work',
    // A pooled sandbox pre-starts the image's interpreter while it waits (cronium-launch step 0) and says when it
    // has loaded (launcher/ready-mark.ts); a cold one gets its job at once and skips both.
    env: pooled ? ['CRONIUM_PRESTART=1', READY_MARK_ENV] : [],
    labels: {
      [LABEL_MANAGED]: 'true',
      // A pooled sandbox's execution is not known yet: its label stays empty.
      [LABEL_EXECUTION]: job.purpose.kind === 'execution' ? job.purpose.executionId : '',
      [LABEL_NODE]: opts.nodeId,
      'io.cronium.language': job.language,
      // A pooled sandbox is created before its execution exists; it is still used by one execution only.
      ...(pooled ? { 'io.cronium.pool': 'true' } : {}),
    },
    stdin: 'once',
    tty: false,
    readonlyRoot: true,
    tmpfs: [
      { path: '/tmp', sizeMb: job.limits.tmpfsMb, mode: '1777' },
      { path: '/work', sizeMb: job.limits.tmpfsMb, owner: sandbox, mode: '0700' },
    ],
    mounts: (job.mounts ?? []).map((m) => ({ ...m })),
    capabilities: [],
    noNewPrivileges: true,
    confinement: job.isolation === 'gvisor' ? { tier: 'gvisor', runtime: opts.gvisorRuntime } : { tier: 'standard', seccomp: opts.seccomp },
    limits: { memoryBytes: job.limits.memoryMb * 1024 * 1024, cpus: job.limits.cpus, pids: job.limits.pids },
    // RLIMIT_NPROC counts per user id across the host, so it is a backstop; the pids cgroup is the real limit.
    ulimits: [
      { name: 'nofile', soft: 1024, hard: 1024 },
      { name: 'nproc', soft: 4096, hard: 4096 },
      { name: 'core', soft: 0, hard: 0 },
    ],
    network: opts.network,
    ipc: 'private',
    oomScoreAdj: 500,
  };
}
