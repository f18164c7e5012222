import type { LogEntry as StoredLogEntry } from './events.js';
import type { ExecutionRow } from './repository.js';
import type { Execution, ExecutionDetail, LogEntry } from './response.js';

/**
 * A log entry as the API shows it (list and event stream alike). `continued`: the entry goes on with the line of
 * its stream's previous entry, with no newline between them. `escaped`: `text` is escaped (`\\`, `\xHH`) because
 * the line held bytes that are not text; reversing the escapes gives back the exact bytes (README, Logs).
 */
export function serializeLogEntry(e: StoredLogEntry): LogEntry {
  return { seq: e.seq, ts: e.ts, stream: e.stream, text: e.text, continued: e.continued, escaped: e.escaped };
}

/** The list's view of an execution, or with `detail` the one GET /api/v1/executions/:id shows (response.ts). */
export function serializeExecution(row: ExecutionRow): Execution;
export function serializeExecution(row: ExecutionRow, opts: { detail: true }): ExecutionDetail;
export function serializeExecution(row: ExecutionRow, opts: { detail?: boolean } = {}): Execution | ExecutionDetail {
  const summary: Execution = {
    id: row.id,
    status: row.status,
    language: row.language,
    runtime: row.runtime ?? null,
    image: row.image ?? null,
    userId: row.userId,
    isolation: row.isolation,
    exitCode: row.exitCode,
    output: row.hasOutput ? (row.output ?? null) : null,
    condition: row.condition,
    variables: row.variablesSet,
    secretsGranted: row.secrets,
    secretsRead: row.secretsRead,
    error: row.error,
    usage: row.usage,
    limits: { timeoutMs: row.timeoutMs, memoryMb: row.memoryMb, cpus: Number(row.cpus), pids: row.pids },
    egress: { allow: row.egressAllow },
    event: row.event ?? null,
    attempt: row.attempt,
    nodeId: row.nodeId,
    containerId: row.containerId,
    pooled: row.pooled,
    installed: row.installed ?? null,
    logsTruncated: row.logsTruncated,
    artifactCount: row.artifactCount,
    artifactsTruncated: row.artifactsTruncated,
    artifactsExpireAt: row.artifactsExpireAt?.toISOString() ?? null,
    durationMs: row.durationMs,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    deadlineAt: row.deadlineAt?.toISOString() ?? null,
  };
  return opts.detail ? { ...summary, script: row.script, input: row.input ?? null, env: Object.keys(row.env), dependencies: row.dependencyRequest ?? null } : summary;
}

export function encodeCursor(row: ExecutionRow): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [ts, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(ts ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) return null;
  return { createdAt, id };
}
