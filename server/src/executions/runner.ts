import type { FastifyBaseLogger } from 'fastify';
import type { ExecutionStatus } from '../db/schema.js';
import { type SandboxDriver, SandboxError, type SandboxResult, type SandboxRun } from '../sandbox/driver.js';
import type { SecretsRepository } from '../secrets/repository.js';
import type { ServerCounters } from '../health/counters.js';
import type { ExecutionEvents } from './events.js';
import { followEgressRefusals } from './egress-notice.js';
import { commandFor, languageEnv } from './languages.js';
import { LogSink } from './log-sink.js';
import { createLogStore, storeErrorReason } from './log-store.js';
import { Masker } from './masking.js';
import type { ExecutionPackages, PreparedPackages } from './packages.js';
import { DependencyError } from '../dependencies/errors.js';
import type { ExecutionRow, ExecutionsRepository } from './repository.js';
import type { JobInputs } from '../files/job-inputs.js';
import { tmpfsFor } from '../files/job-files.js';
import type { ArtifactCollection, ExecutionArtifacts } from '../files/artifacts.js';

/** Where a sandbox reaches this server: known once the runtime API and the egress proxy listen. */
export interface SandboxEndpoints {
  /** The callback URL of the runtime API. */
  runtimeUrl: string;
  /** `host:port` of the egress proxy, as sandboxes reach it. */
  proxyAddress: string;
}

export interface RunnerDeps {
  nodeId: string;
  driver: SandboxDriver;
  executions: ExecutionsRepository;
  secrets: SecretsRepository;
  events: ExecutionEvents;
  /** Signs the execution's token; it expires at the deadline plus a grace period. */
  tokens: { sign(row: ExecutionRow, expiresAt: Date): string };
  endpoints: SandboxEndpoints;
  log: FastifyBaseLogger;
  maxLogBytes: number;
  maxLogLineBytes: number;
  counters: ServerCounters;
  tmpfsMb: number;
  tokenGraceMs: number;
  /** Builds or reuses the dependency bundle of an execution that asked for packages. */
  packages: ExecutionPackages;
  /** An execution's input files and stdin (issue 26); the tmpfs grows by their size up to maxTmpfsMb. */
  inputs?: JobInputs;
  maxTmpfsMb?: number;
  /** Collects what the script leaves under /work/out (issue 26); without it, nothing is. */
  artifacts?: ExecutionArtifacts;
}

/**
 * Every HTTP client that honours the usual variables goes through the egress proxy, authenticated as this
 * execution; the runtime API alone is reached directly.
 */
function callbackEnv(row: ExecutionRow, token: string, endpoints: SandboxEndpoints): Record<string, string> {
  const proxy = `http://${encodeURIComponent(row.id)}:${encodeURIComponent(token)}@${endpoints.proxyAddress}`;
  const direct = new URL(endpoints.runtimeUrl).hostname;
  return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: direct, no_proxy: direct };
}

/** Time allowed for creating and starting a container, on top of the script's own timeout. */
const START_ALLOWANCE_MS = 30_000;
/** After a time-out or a cancel, how long the launcher has to hand the artifacts over before the sandbox is killed. */
const COLLECT_GRACE_MS = 15_000;

export type StopReason = 'timeout' | 'cancel' | 'shutdown';

/** Runs one claimed execution from container start to its final status. */
export class ExecutionRunner {
  private run: SandboxRun | null = null;
  private stopReason: StopReason | null = null;
  /** Aborts installing the execution's packages (a cancel or time-out before its sandbox starts). */
  private readonly setup = new AbortController();
  private masker = new Masker([]);
  /** Whether the sandbox is asked to end the job and hand over its artifacts, rather than killed, when stopped. */
  private collecting = false;
  private hardKill: NodeJS.Timeout | null = null;
  private killedHard = false;

  constructor(
    private readonly deps: RunnerDeps,
    readonly row: ExecutionRow,
  ) {}

  /**
   * Stops the execution; the first reason given wins. A time-out or a cancel ends the job but lets the launcher
   * hand over what it left in /work/out, for COLLECT_GRACE_MS; a shutdown kills at once.
   */
  async stop(reason: StopReason): Promise<void> {
    if (!this.stopReason) this.stopReason = reason;
    this.setup.abort();
    const run = this.run;
    if (!run) return;
    if (reason !== 'shutdown' && this.collecting && !this.killedHard) {
      this.hardKill ??= setTimeout(() => void this.kill(run), COLLECT_GRACE_MS);
      await run.interrupt().catch((err: unknown) => this.deps.log.warn({ err, executionId: this.row.id }, 'interrupt failed'));
      return;
    }
    await this.kill(run);
  }

  private async kill(run: SandboxRun): Promise<void> {
    this.killedHard = true;
    await run.kill().catch((err: unknown) => this.deps.log.warn({ err, executionId: this.row.id }, 'kill failed'));
  }

  /**
   * Whatever the execution supplies that is recorded (output, variables, runtime-call paths, egress hosts) is
   * masked with its secrets and its token, like its logs.
   */
  secretMasker(): Masker {
    return this.masker;
  }

  async execute(): Promise<ExecutionStatus> {
    const { deps, row } = this;
    const startedAt = row.startedAt ?? new Date();
    let status: ExecutionStatus = 'error';
    let error: string | null = null;
    let result: SandboxResult | null = null;
    let sink: LogSink | null = null;
    let unfollowEgress: (() => void) | null = null;
    let packages: PreparedPackages | null = null;
    try {
      const granted = await deps.secrets.reveal(row.userId, row.secrets);
      const expiresAt = new Date(Date.now() + row.timeoutMs + START_ALLOWANCE_MS + deps.tokenGraceMs);
      const token = deps.tokens.sign(row, expiresAt);
      this.masker = new Masker([...granted.values(), token]);
      const masker = this.masker;
      const logSink: LogSink = new LogSink({
        maxBytes: deps.maxLogBytes,
        maxLineBytes: deps.maxLogLineBytes,
        masker,
        persist: createLogStore({
          executionId: row.id,
          append: (entries) => deps.executions.appendLogs(row.id, entries),
          counters: deps.counters,
          log: deps.log,
          mask: (t) => masker.mask(t),
        }),
        publish: (entries) => deps.events.emitLogs(row.id, entries),
        onTruncated: () =>
          void deps.executions.update(row.id, { logsTruncated: true }).catch((err: unknown) => {
            deps.counters.logWriteFailures.inc();
            deps.log.error({ err, executionId: row.id }, 'could not store that the log was truncated');
            logSink.system(`[cronium] could not store that this log was truncated: ${masker.mask(storeErrorReason(err))}`);
          }),
      });
      sink = logSink;
      const { filename, argv } = commandFor(row.language, row.script);
      const env: Record<string, string> = {
        ...row.env,
        ...languageEnv(row.language, row.env),
        ...callbackEnv(row, token, deps.endpoints),
        CRONIUM_API_URL: deps.endpoints.runtimeUrl,
        CRONIUM_TOKEN: token,
        CRONIUM_EXECUTION_ID: row.id,
      };
      const s = sink;
      unfollowEgress = followEgressRefusals(deps.events, row.id, (line) => s.system(line));
      if (row.dependencyRequest) {
        packages = await deps.packages.prepare(row, (line) => s.system(line), this.setup.signal);
        await deps.executions.update(row.id, { installed: packages?.installed ?? [], bundleKey: packages?.bundleKey ?? null });
        // The bundle comes first on a path the script also sets (PYTHONPATH), as the installed packages' own.
        for (const [k, v] of Object.entries(packages?.env ?? {})) env[k] = env[k] ? `${v}:${env[k]}` : v;
      }
      if (this.stopReason) throw new SandboxError('START_FAILED', 'stopped before the container started');
      const inputs = deps.inputs ? await deps.inputs.load(row.id) : { files: [], stdin: null, bytes: 0 };
      // The files take room in /work: the tmpfs grows by their size (the route refused what the maximum cannot hold).
      const tmpfsMb = tmpfsFor(inputs.bytes, deps.tmpfsMb, deps.maxTmpfsMb ?? deps.tmpfsMb) ?? Math.max(deps.maxTmpfsMb ?? 0, deps.tmpfsMb);
      const artifacts = deps.artifacts ? await deps.artifacts.begin(row.id, (line) => s.system(line)) : null;
      this.collecting = artifacts !== null;
      this.run = await deps.driver.start(
        {
          executionId: row.id,
          language: row.language,
          ...(row.image ? { image: row.image } : {}),
          ...(packages ? { mounts: packages.mounts } : {}),
          script: row.script,
          filename,
          argv,
          env,
          isolation: row.isolation,
          limits: { memoryMb: row.memoryMb, cpus: Number(row.cpus), pids: row.pids, tmpfsMb },
          ...(inputs.files.length ? { files: inputs.files } : {}),
          ...(inputs.stdin ? { stdin: inputs.stdin } : {}),
        },
        { stdout: (t) => s.write('stdout', t), stderr: (t) => s.write('stderr', t), ...(artifacts ? { artifacts: (flow) => artifacts.sink(flow) } : {}) },
      );
      const containerStarted = new Date();
      await deps.executions.update(row.id, {
        containerId: this.run.containerId,
        pooled: this.run.pooled,
        deadlineAt: new Date(containerStarted.getTime() + row.timeoutMs),
      });
      if (this.stopReason) await this.kill(this.run);
      const timer = setTimeout(() => void this.stop('timeout'), row.timeoutMs);
      try {
        result = await this.run.done;
      } finally {
        clearTimeout(timer);
        if (this.hardKill) clearTimeout(this.hardKill);
      }
      if (artifacts) await this.recordArtifacts(artifacts, s);
      if (this.stopReason === 'cancel') {
        status = 'cancelled';
        error = 'cancelled while running';
      } else if (this.stopReason === 'timeout') {
        status = 'timed_out';
        error = `timed out after ${row.timeoutMs} ms`;
      } else if (this.stopReason === 'shutdown') {
        status = 'error';
        error = 'the server shut down while this execution was running';
      } else if (result.oomKilled) {
        status = 'oom_killed';
        error = `killed: out of memory (limit ${row.memoryMb} MiB)`;
      } else if (result.exitCode === 0) {
        status = 'succeeded';
      } else {
        status = 'failed';
        error = `exited with code ${result.exitCode}`;
      }
    } catch (err) {
      status = this.stopReason === 'cancel' ? 'cancelled' : 'error';
      error = err instanceof SandboxError || err instanceof DependencyError ? err.message : `internal error: ${(err as Error).message}`;
      // A package that cannot be had is the request's problem (its reason is the execution's), not the server's.
      if (err instanceof DependencyError) deps.log.info({ executionId: row.id, code: err.code, pkg: err.pkg }, `packages not installed: ${err.message}`);
      else deps.log.error({ err, executionId: row.id }, 'execution failed to run');
      sink?.system(`[cronium] ${error}`);
    } finally {
      unfollowEgress?.();
      await sink?.close().catch((err: unknown) => deps.log.error({ err, executionId: row.id }, 'could not store logs'));
    }
    const finishedAt = new Date();
    const finished = await deps.executions.finish(row.id, deps.nodeId, {
      status,
      error,
      exitCode: result?.exitCode ?? null,
      usage: result?.usage ?? null,
      finishedAt,
      durationMs: finishedAt.getTime() - startedAt.getTime(),
    });
    if (!finished) deps.log.warn({ executionId: row.id }, 'execution was finished elsewhere (swept or cancelled)');
    deps.events.emitStatus(row.id, status);
    // Removed after the result is out (it no longer matters to the caller), but before the slot is freed.
    await this.run?.remove().catch((err: unknown) => deps.log.warn({ err, executionId: row.id }, 'could not remove container'));
    packages?.release();
    return status;
  }

  /** Stores the execution's artifacts (before its end is recorded: once it has ended, they can be listed). */
  private async recordArtifacts(artifacts: ArtifactCollection, s: LogSink): Promise<void> {
    const { deps, row } = this;
    try {
      const got = await artifacts.finish();
      if (!got.seen && this.killedHard) s.system('[cronium] no artifacts: the sandbox was killed before it could hand over /work/out');
      if (got.rows.length || got.truncated) {
        await deps.executions.update(row.id, { artifactCount: got.rows.length, artifactsTruncated: got.truncated, artifactsExpireAt: got.expiresAt });
      }
    } catch (err) {
      deps.log.error({ err, executionId: row.id }, 'could not record the artifacts');
      s.system(`[cronium] the artifacts could not be recorded: ${(err as Error).message}`);
      await deps.executions.update(row.id, { artifactsTruncated: true }).catch(() => undefined);
    }
  }
}
