import type { LogEntry } from './types';

/** Merges log entries from the loader and the live stream: one per seq, in order. */
export function mergeLogs(...lists: LogEntry[][]): LogEntry[] {
  const bySeq = new Map<number, LogEntry>();
  for (const list of lists) for (const e of list) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Parses one SSE `data:` payload of a `log` event; null when it is not a log entry. */
export function parseLogEvent(data: string): LogEntry | null {
  try {
    const e = JSON.parse(data) as Partial<LogEntry>;
    if (typeof e.seq !== 'number' || typeof e.text !== 'string') return null;
    const stream = e.stream === 'stderr' || e.stream === 'system' ? e.stream : 'stdout';
    return { seq: e.seq, ts: typeof e.ts === 'string' ? e.ts : new Date().toISOString(), stream, text: e.text };
  } catch {
    return null;
  }
}
