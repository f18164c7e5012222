import { EventEmitter } from 'node:events';
import { ACTIVE_STATUSES, EXECUTION_STATUSES, type LogStream } from '../api/enums.js';
import type { ExecutionStatus } from '../db/schema.js';

export interface LogEntry {
  seq: number;
  ts: string;
  stream: LogStream;
  text: string;
  /** This entry goes on with the line of the stream's previous entry (a line cut at the maximum length, or let out after a pause). */
  continued: boolean;
  /** The text is escaped (log-text.ts): it held bytes the database cannot store as text. */
  escaped: boolean;
}

/** A request of a running execution that the egress proxy refused (from its audit entry). */
export interface EgressRefusal {
  method: string;
  host: string;
  port: number;
  reason: string;
  status?: number;
  address?: string;
  error?: string;
}

/**
 * In-process notifications about executions running on this server. Other servers' executions are followed
 * through the database; this only makes local ones immediate.
 */
export class ExecutionEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emitLogs(executionId: string, entries: LogEntry[]): void {
    this.emitter.emit(`logs:${executionId}`, entries);
  }

  emitStatus(executionId: string, status: ExecutionStatus): void {
    this.emitter.emit(`status:${executionId}`, status);
    this.emitter.emit('status', executionId, status);
  }

  /** Refusals are told to the server that runs the execution: its sandboxes reach that server's proxy only. */
  emitEgressRefused(executionId: string, refusal: EgressRefusal): void {
    this.emitter.emit(`egress-refused:${executionId}`, refusal);
  }

  onEgressRefused(executionId: string, fn: (refusal: EgressRefusal) => void): () => void {
    this.emitter.on(`egress-refused:${executionId}`, fn);
    return () => this.emitter.off(`egress-refused:${executionId}`, fn);
  }

  onLogs(executionId: string, fn: (entries: LogEntry[]) => void): () => void {
    this.emitter.on(`logs:${executionId}`, fn);
    return () => this.emitter.off(`logs:${executionId}`, fn);
  }

  onStatus(executionId: string, fn: (status: ExecutionStatus) => void): () => void {
    this.emitter.on(`status:${executionId}`, fn);
    return () => this.emitter.off(`status:${executionId}`, fn);
  }

  onAnyStatus(fn: (executionId: string, status: ExecutionStatus) => void): () => void {
    this.emitter.on('status', fn);
    return () => this.emitter.off('status', fn);
  }
}

/** The statuses an execution ends in: every status but the active ones. */
export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(
  EXECUTION_STATUSES.filter((s) => !(ACTIVE_STATUSES as readonly ExecutionStatus[]).includes(s)),
);
