import type { Isolation, Language } from '../api/enums.js';
import type { ArtifactSink } from './launcher/artifact-block.js';

export type { Isolation, Language };

export interface SandboxLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
  tmpfsMb: number;
}

/**
 * A host directory bind-mounted into the sandbox. An execution gets read-only ones only (its dependency bundle);
 * a build step (a package's install script, run in a sandbox so that it never runs on the host) gets its scratch
 * directory writable.
 */
export interface SandboxMount {
  source: string;
  target: string;
  writable: boolean;
}

/** Everything a sandbox needs to run one execution; delivered to the container on its stdin, never written to the host's disk. */
export interface SandboxJob {
  executionId: string;
  language: Language;
  /** The image to run in (the execution's runtime); absent: the language's default image (RuntimeImages). */
  image?: string;
  script: string;
  filename: string;
  argv: string[];
  env: Record<string, string>;
  limits: SandboxLimits;
  isolation: Isolation;
  /** Bind mounts; a job with any is never handed to a pooled sandbox (those are started without). */
  mounts?: SandboxMount[];
  /** Files written into /work before the script starts (paths checked by files/job-files.ts), in this order. */
  files?: JobInput[];
  /** The script's standard input (without it: empty). */
  stdin?: JobInput | null;
}

/** A file the job carries: its bytes are read only when the job is sent to the sandbox, exactly `size` of them. */
export interface JobInput {
  /** Relative to /work ('' for stdin). */
  path: string;
  mode: number;
  size: number;
  open(): Promise<AsyncIterable<Buffer | Uint8Array>>;
}

export interface SandboxUsage {
  cpuMs: number | null;
  memoryPeakBytes: number | null;
}

export interface SandboxResult {
  exitCode: number | null;
  oomKilled: boolean;
  usage: SandboxUsage | null;
}

export interface SandboxOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Collect what the job leaves under /work/out (issue 26): the launcher writes it to stdout as a tar stream
   * after the job (launcher/job-session.ts); the sink takes the files. Without it, nothing is collected.
   * `flow` stops reading the sandbox's output while the sink cannot keep up (bounded memory whatever the size).
   */
  artifacts?(flow: OutputFlow): ArtifactSink;
}

/** Back-pressure on a sandbox's output: stop reading it, read on. */
export interface OutputFlow {
  pause(): void;
  resume(): void;
}

export interface SandboxRun {
  readonly containerId: string;
  /** Whether a warm, pre-started container took the job. */
  readonly pooled: boolean;
  /** Settles when the sandbox has ended and its output has been delivered. */
  readonly done: Promise<SandboxResult>;
  /** True once the sandbox has the job; false if it ended before it took the job (then nothing of it ran). */
  readonly accepted: Promise<boolean>;
  /** Kills the sandbox at once; `done` settles afterwards. */
  kill(): Promise<void>;
  /**
   * Ends the job but not the sandbox: the launcher kills the job and all it started, then still hands over what
   * it left in /work/out and ends (a time-out). `done` settles afterwards; the caller kills it if it does not.
   */
  interrupt(): Promise<void>;
  /** Removes every trace of the sandbox. Safe to call more than once. */
  remove(): Promise<void>;
}

export type SandboxRuntimeName = 'docker' | 'runc';

/**
 * What a sandbox is started for. A pooled one is started before its execution exists and takes the first job
 * that fits; it is still used by one execution only.
 */
export type SandboxPurpose = { kind: 'pool' } | { kind: 'execution'; executionId: string };

export interface SandboxCapabilities {
  gvisor: boolean;
}

export interface SandboxNetworkInfo {
  name: string;
  id: string;
  subnet: string | null;
  gateway: string | null;
  internal: boolean;
  /** The host-side bridge interface. */
  bridge: string;
  /** Whether containers on it may talk to each other (must be false). */
  icc: boolean;
}

/**
 * A place to run untrusted scripts, as the engine sees it. One implementation, router.ts, which hands each job to
 * the runtime of its isolation tier (docker/, runc/) over the host services they share (host/).
 */
export interface SandboxDriver {
  /** The runtime that runs standard-tier sandboxes (CRONIUM_SANDBOX_DRIVER); gVisor always runs on Docker. */
  readonly runtime: SandboxRuntimeName;
  ping(): Promise<void>;
  capabilities(): Promise<SandboxCapabilities>;
  ensureNetwork(): Promise<SandboxNetworkInfo>;
  missingImages(): Promise<string[]>;
  /** What the engine knows of an image (null: it does not have it): the runtimes' contents, custom images' checks. */
  inspectImage(image: string): Promise<import('./host/images.js').ImageFacts | null>;
  start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun>;
  /** Removes Cronium containers whose labels the predicate selects; returns how many. */
  removeContainers(select: (labels: Record<string, string>) => boolean): Promise<number>;
  /** Finishes the clean-up of ended sandboxes; called on shutdown once no execution runs. */
  close(): Promise<void>;
}

/** The warm pool of pre-started sandboxes as its owner drives it (sandbox-pool.ts): started once images exist, drained on shutdown. */
export interface SandboxPoolControl {
  start(): void;
  stats(): import('./warm-pool.js').PoolStats | null;
  drain(): Promise<void>;
}

/** A driver with a warm pool of pre-started sandboxes (see warm-pool.ts). */
export interface PoolingSandboxDriver extends SandboxDriver {
  readonly pool: SandboxPoolControl;
}

/**
 * Why a sandbox could not be had. HOST_UNAVAILABLE: a host service every runtime needs (the Docker engine, which
 * keeps the images and the sandbox network) does not answer; RUNTIME_UNAVAILABLE: the runtime itself (runc, crun,
 * the gVisor runtime) is missing or unusable here. Clients see only the message (an execution's failure reason).
 */
export type SandboxErrorCode = 'IMAGE_MISSING' | 'HOST_UNAVAILABLE' | 'START_FAILED' | 'RUNTIME_UNAVAILABLE';

export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

export const LABEL_MANAGED = 'io.cronium.managed';
export const LABEL_EXECUTION = 'io.cronium.execution-id';
export const LABEL_NODE = 'io.cronium.node';
