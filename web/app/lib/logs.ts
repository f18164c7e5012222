import { stripAnsi } from './ansi';
import { LOG_STREAMS as SERVER_LOG_STREAMS } from '../../../server/src/api/enums';
import type { LogEntry, LogStream } from './types';

export const LOG_STREAMS: readonly LogStream[] = SERVER_LOG_STREAMS;

/** Merges log entries from the loader and the live stream: one per seq, in order. */
export function mergeLogs(...lists: LogEntry[][]): LogEntry[] {
  const bySeq = new Map<number, LogEntry>();
  for (const list of lists) for (const e of list) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Reads a log entry as the API sends it (the JSON list or one SSE `log` event); null when it is not one. */
export function toLogEntry(value: unknown): LogEntry | null {
  if (!value || typeof value !== 'object') return null;
  const e = value as Partial<LogEntry>;
  if (typeof e.seq !== 'number' || typeof e.text !== 'string') return null;
  const stream = e.stream === 'stderr' || e.stream === 'system' ? e.stream : 'stdout';
  return {
    seq: e.seq,
    ts: typeof e.ts === 'string' ? e.ts : new Date().toISOString(),
    stream,
    text: e.text,
    ...(e.escaped === true ? { escaped: true } : {}),
    ...(e.continued === true ? { continued: true } : {}),
  };
}

/** Parses one SSE `data:` payload of a `log` event; null when it is not a log entry. */
export function parseLogEvent(data: string): LogEntry | null {
  try {
    return toLogEntry(JSON.parse(data));
  } catch {
    return null;
  }
}

/** A line as shown: one or more entries (a long line the server cut arrives as an entry and its continuations). */
export interface LogLine {
  seq: number;
  ts: string;
  stream: LogStream;
  /** The parts, with their colours; an escaped part's \xHH escapes are shown as they are. */
  parts: { text: string; escaped: boolean }[];
  /** The line's text as a person reads it: colours taken out, \xHH escapes as they are. */
  plain: string;
}

/**
 * Joins each `continued` entry to the line before it on the same stream (entries in seq order). Text parts next to
 * each other are joined too, so a colour that runs across the cut goes on.
 */
export function toLines(entries: LogEntry[]): LogLine[] {
  const lines: LogLine[] = [];
  for (const e of entries) {
    const escaped = e.escaped === true;
    const prev = lines[lines.length - 1];
    if (e.continued && prev && prev.stream === e.stream) {
      const last = prev.parts[prev.parts.length - 1]!;
      if (last.escaped === escaped) last.text += e.text;
      else prev.parts.push({ text: e.text, escaped });
    } else {
      lines.push({ seq: e.seq, ts: e.ts, stream: e.stream, parts: [{ text: e.text, escaped }], plain: '' });
    }
  }
  // An escaped part keeps its \xHH as text; its real escape sequences (bytes the server kept as they were) are
  // colours like any other.
  for (const l of lines) l.plain = l.parts.map((p) => stripAnsi(p.text)).join('');
  return lines;
}

export interface LogFilter {
  streams: ReadonlySet<LogStream>;
  query: string;
}

/** The lines of the chosen streams that contain the query (case-insensitive, in the text as read). */
export function filterLines(lines: LogLine[], { streams, query }: LogFilter): LogLine[] {
  const q = query.trim().toLowerCase();
  return lines.filter((l) => streams.has(l.stream) && (!q || l.plain.toLowerCase().includes(q)));
}

/** Where `query` occurs in `text` (case-insensitive): [start, end) pairs, not overlapping. */
export function findMatches(text: string, query: string): [number, number][] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const hay = text.toLowerCase();
  const out: [number, number][] = [];
  for (let i = hay.indexOf(q); i >= 0; i = hay.indexOf(q, i + q.length)) out.push([i, i + q.length]);
  return out;
}

/** The lines as plain text: one per line, `timestamps` adds each line's UTC time and stream before it. */
export function linesToText(lines: LogLine[], { timestamps }: { timestamps: boolean }): string {
  return lines.map((l) => (timestamps ? `${l.ts} ${l.stream.padEnd(6)} ${l.plain}` : l.plain)).join('\n') + (lines.length ? '\n' : '');
}
