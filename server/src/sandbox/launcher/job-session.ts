import crypto from 'node:crypto';
import { createArtifactReader } from './artifact-block.js';
import { createEndMarkExtractor, createJobMarkExtractor, createUsageExtractor } from './markers.js';
import type { OutputFlow, SandboxJob, SandboxOutput, SandboxResult } from '../driver.js';
import { encodeJob, encodeJobStream, type MarkTokens } from './job-wire.js';

/** What a driver offers of one started sandbox: its stdio and its end, whatever runs it. */
export interface SandboxChannel {
  /**
   * Routes the sandbox's decoded stdout and stderr text; returns a function that flushes what is still decoding.
   * Stdout's bytes pass through `stdoutBytes` first, if given (what it returns is decoded): the artifacts block
   * in it is bytes, not text.
   */
  connect(stdout: (text: string) => void, stderr: (text: string) => void, stdoutBytes?: ByteFilter): () => void;
  /** Stops and restarts reading the sandbox's output. */
  flow: OutputFlow;
  /** Writes the job to the sandbox's stdin and closes it (a stream: as the sandbox takes it). */
  send(job: Buffer | AsyncIterable<Buffer>): void;
  /** The sandbox's exit status, once it has ended. */
  exited: Promise<number | null>;
  /** Settles when the sandbox's output streams have closed. */
  outputEnded: Promise<void>;
  /** Whether the kernel's OOM killer ended the sandbox, where the runtime can tell. */
  oomKilled?(): Promise<boolean>;
}

/** Takes what it wants out of a byte stream and passes the rest on. */
export interface ByteFilter {
  push(b: Buffer): Buffer;
  /** The stream has ended: what is still held. */
  end(): Buffer;
}

/** One job handed to a sandbox, followed to its result. */
export interface JobSession {
  done: Promise<SandboxResult>;
  /**
   * True once the launcher has the job (its job mark); false when the sandbox ended without it, i.e. never ran
   * anything of the job.
   */
  accepted: Promise<boolean>;
}

/**
 * Hands one job to a started sandbox and follows it to its result. The launcher's usage report is the last thing
 * it writes to stderr once the script has ended, and its end mark the last on stdout (each stream keeps its own
 * order, not one against the other): with both, the result and all output are known without waiting for the
 * runtime to tear the sandbox down (a few hundred ms with Docker here). Without the report (a kill, the whole
 * sandbox killed by the OOM killer, gVisor), the sandbox's exit status decides and the close of its streams
 * marks the end of output. Each mark has its own one-time token (job-wire.ts), known only to the launcher and the
 * server; the launcher writes the end mark and the report only once nothing of the script is alive to read them
 * back, and only the first of each counts: a script can forge neither.
 */
export function superviseJob(ch: SandboxChannel, job: SandboxJob, output: SandboxOutput): JobSession {
  const token = () => crypto.randomBytes(16).toString('hex');
  // artifacts '0': the launcher collects nothing (the caller does not want the files).
  const sink = output.artifacts?.(ch.flow) ?? null;
  const tokens: MarkTokens = { job: token(), end: token(), usage: token(), artifacts: sink ? token() : '0' };
  const artifacts = sink ? createArtifactReader(tokens.artifacts, sink) : null;
  const usage = createUsageExtractor(tokens.usage, output.stderr);
  const endMark = createEndMarkExtractor(tokens.end, output.stdout);
  const jobMark = createJobMarkExtractor(tokens.job, (t) => endMark.push(t));
  let taken = false;
  void jobMark.seen.then(() => (taken = true));
  const flush = ch.connect(
    (t) => jobMark.push(t),
    (t) => usage.push(t),
    artifacts ?? undefined,
  );
  const wire = { script: job.script, filename: job.filename, argv: job.argv, env: job.env, tokens, files: job.files, stdin: job.stdin };
  ch.send(job.files?.length || job.stdin?.size ? encodeJobStream(wire) : encodeJob(wire));

  const done = (async (): Promise<SandboxResult> => {
    const exited = await Promise.race([ch.exited.then((code) => ({ code })), usage.reported.then(() => null)]);
    // The end mark follows the artifacts block on stdout, which may be far behind the report on stderr: with a
    // block to read, its end (or the stream's) is waited for, however long the files take to arrive.
    const grace = new Promise((r) => setTimeout(r, exited ? 2000 : 500));
    await Promise.race([exited ? ch.outputEnded : endMark.seen, ch.outputEnded, ...(artifacts && !exited ? [] : [grace])]);
    flush();
    jobMark.end();
    endMark.end();
    usage.end();
    const report = usage.report();
    const exitCode = exited ? exited.code : (report?.exitCode ?? null);
    let oomKilled = Boolean(report?.oomKills && report.oomKills > 0);
    if (!oomKilled && exited && exitCode !== 0 && ch.oomKilled) oomKilled = await ch.oomKilled().catch(() => false);
    return {
      exitCode,
      oomKilled,
      usage: report ? { cpuMs: report.cpuNs === null ? null : Math.round(report.cpuNs / 1e6), memoryPeakBytes: report.memoryPeakBytes } : null,
    };
  })();
  // When `done` settles, the sandbox's stdout has been read to its end (or its usage report, written after the
  // job ran, has arrived), so a job mark it wrote has been seen by then.
  const accepted = Promise.race([jobMark.seen.then(() => true), done.then((r) => taken || r.usage !== null, () => taken)]);
  return { done, accepted };
}
