import type { SandboxJob, SandboxNetworkInfo, SandboxOutput, SandboxPoolControl, SandboxRun, SandboxRuntimeName } from './driver.js';

/**
 * One way of running sandboxes (docker/, runc/), given the host's services (host/). router.ts picks one per
 * isolation tier; a runtime never holds or forwards to another.
 */
export interface SandboxRuntime {
  readonly name: SandboxRuntimeName;
  /** Its warm pool of standard-tier sandboxes (empty when it has none). */
  readonly pool: SandboxPoolControl;
  /** What this runtime needs beyond the host's services; throws a SandboxError. */
  check(): Promise<void>;
  /** The sandbox network, set up as this runtime needs it. */
  ensureNetwork(): Promise<SandboxNetworkInfo>;
  start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun>;
  /** Removes this runtime's Cronium sandboxes whose labels `select` picks; returns how many. */
  removeSandboxes(select: (labels: Record<string, string>) => boolean): Promise<number>;
  close(): Promise<void>;
}
