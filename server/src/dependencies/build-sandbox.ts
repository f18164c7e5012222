import type { PackageLanguage } from './types.js';

/** Where a build step's writable directory is mounted inside its sandbox; the step's working directory. */
export const BUILD_MOUNT = '/opt/cronium/build';

/** One step that must execute package code or the runtime's interpreter: it runs in a sandbox, never on the host. */
export interface BuildStep {
  language: PackageLanguage;
  /** The runtime whose image runs the step, e.g. `node@24`, `python@3.11`. */
  runtime: string;
  /** Host directory mounted read-write at BUILD_MOUNT; everything else read-only as for an execution. */
  writableDir: string;
  /** argv run inside, cwd BUILD_MOUNT. */
  command: string[];
  /** The package index host(s) the step may reach (nothing else). */
  egressAllow: string[];
  timeoutMs: number;
}

/**
 * The port the engine implements with its sandbox driver (same hardening as an execution: unprivileged uid 10001,
 * read-only root, no capabilities, no-new-privileges, seccomp, limits), given a writable directory.
 */
export interface BuildSandbox {
  run(step: BuildStep, log: (line: string) => void): Promise<{ exitCode: number | null; timedOut: boolean }>;
}

/** The uid:gid the sandbox runs as: a build step's writable directory must belong to it. */
export const SANDBOX_UID = 10001;
export const SANDBOX_GID = 10001;
