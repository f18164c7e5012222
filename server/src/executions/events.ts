import { EventEmitter } from 'node:events';
import type { ExecutionStatus } from '../db/schema.js';

export interface LogEntry {
  seq: number;
  ts: string;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
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

export const FINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'oom_killed',
  'error',
]);
