import type { SandboxJob, SandboxOutput, SandboxPurpose, SandboxRun } from './driver.js';
import { type SandboxChannel, superviseJob } from './launcher/job-session.js';
import type { ReadyMarkStripper } from './launcher/ready-mark.js';
import type { WaitingSandbox } from './sandbox-pool.js';

/**
 * A sandbox a runtime has started for a purpose (launcher/: it waits for its input on stdin), whichever runtime
 * runs it. Starting one and giving it work are separate steps: the pool holds started sandboxes, and
 * `deliverJob` hands one a job.
 */
export interface StartedSandbox extends WaitingSandbox {
  readonly id: string;
  /** Its stdio and its end, for whoever is given the sandbox. Built when asked for: a pooled one may never be. */
  channel(): SandboxChannel;
  /** Kills it at once. */
  kill(): Promise<void>;
  /** Asks its launcher to end the job and hand over what it left (SIGUSR2 to PID 1). */
  interrupt(): Promise<void>;
  /** Heard once the launcher has reported the job's end: the sandbox is about to exit by itself. */
  jobEnded?(): void;
}

/** A stream's bytes held until its reader connects: output that arrives before the job is delivered is kept. */
export class HeldStream {
  private sink: ((b: Buffer) => void) | null = null;
  private readonly early: Buffer[] = [];

  push(b: Buffer): void {
    if (b.length) this.sink ? this.sink(b) : this.early.push(b);
  }

  connect(fn: (b: Buffer) => void): void {
    this.sink = fn;
    for (const b of this.early.splice(0)) fn(b);
  }

  /** What arrived while nobody was connected. */
  unread(): Buffer {
    return Buffer.concat(this.early);
  }
}

/**
 * Whether a started sandbox is warm. A pooled one says when its pre-started interpreter has loaded (the
 * launcher's ready mark, taken off the front of its stdout by `strip`): until then the pool counts it as warming
 * and hands out warm ones first. One started for an execution gets its job at once and is warm from the start.
 */
export function readiness(
  purpose: SandboxPurpose,
  strip: (onReady: () => void) => ReadyMarkStripper,
): { warm(): boolean; whenWarm(): Promise<void>; mark: ReadyMarkStripper | null } {
  let warm = purpose.kind !== 'pool';
  // Settles when the mark arrives, so that the pool can measure how long a member takes to be ready (never, if it dies first).
  let warmed: () => void = () => undefined;
  const whenWarm = warm ? Promise.resolve() : new Promise<void>((r) => (warmed = r));
  const mark =
    purpose.kind === 'pool'
      ? strip(() => {
          warm = true;
          warmed();
        })
      : null;
  return { warm: () => warm, whenWarm: () => whenWarm, mark };
}

/** Reads a sandbox's output stream into a HeldStream, through the ready mark if any; `ended` settles when it has closed. */
export function followStream(stream: NodeJS.ReadableStream, mark: ReadyMarkStripper | null = null): { held: HeldStream; ended: Promise<void> } {
  const held = new HeldStream();
  const ended = new Promise<void>((resolve) => {
    stream.on('data', (b: Buffer) => held.push(mark ? mark.push(b) : b));
    stream.once('end', () => mark && held.push(mark.end()));
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return { held, ended };
}

/** Hands one job to a started sandbox and follows it to its result (launcher/job-session.ts). */
export function deliverJob(s: StartedSandbox, job: SandboxJob, output: SandboxOutput, pooled: boolean): SandboxRun {
  const { done, accepted } = superviseJob(s.channel(), job, output);
  if (s.jobEnded) void done.then((r) => r.usage && s.jobEnded?.(), () => undefined);
  return { containerId: s.id, pooled, done, accepted, kill: () => s.kill(), interrupt: () => s.interrupt(), remove: () => s.remove() };
}
