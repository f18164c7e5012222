import type { FastifyBaseLogger } from 'fastify';
import type { ServerCounters } from '../health/counters.js';
import type { LogEntry } from './events.js';

export interface LogStoreDeps {
  executionId: string;
  append: (entries: LogEntry[]) => Promise<void>;
  counters: Pick<ServerCounters, 'logWriteFailures' | 'logEntriesLost'>;
  log: Pick<FastifyBaseLogger, 'error'>;
  /** Masks the execution's secrets (a database error may quote what it refused). */
  mask: (text: string) => string;
  attempts?: number;
  backoffMs?: number;
}

/** How many entries in a row may fail to be stored even as a note before the database is taken to be away. */
const GIVE_UP_AFTER = 3;

/** The database's own words, without the query and its parameters (which hold the log text itself). */
export function storeErrorReason(err: unknown): string {
  const cause = ((err as { cause?: unknown })?.cause ?? err) as { code?: unknown; message?: unknown };
  const message = String(cause?.message ?? err).split('\n')[0]!.slice(0, 200);
  return typeof cause?.code === 'string' ? `${cause.code}: ${message}` : message;
}

/**
 * Stores an execution's log entries, batch by batch. A passing database hiccup is retried; a batch that still
 * fails is counted (cronium_log_write_failures_total) and stored one entry at a time, so that one entry the
 * database refuses cannot take the others down; an entry that cannot be stored is replaced, in its place, by a
 * `system` line that says so. What cannot be stored even then is counted (cronium_log_entries_lost_total) and
 * logged: nothing is dropped silently. Never throws.
 */
export function createLogStore(d: LogStoreDeps): (entries: LogEntry[]) => Promise<void> {
  const attempts = d.attempts ?? 5;
  const backoffMs = d.backoffMs ?? 100;
  const tryAppend = async (entries: LogEntry[]): Promise<unknown> => {
    try {
      await d.append(entries);
      return null;
    } catch (err) {
      return err ?? new Error('unknown error');
    }
  };

  return async (entries) => {
    if (!entries.length) return;
    let err: unknown = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      err = await tryAppend(entries);
      if (!err) return;
      if (attempt < attempts) await new Promise((r) => setTimeout(r, backoffMs * attempt));
    }
    d.counters.logWriteFailures.inc();
    d.log.error({ err, executionId: d.executionId, entries: entries.length }, 'could not store log entries: storing them one by one');

    let lost = 0;
    let failedInARow = 0;
    for (const [i, e] of entries.entries()) {
      if (failedInARow >= GIVE_UP_AFTER) {
        lost += entries.length - i;
        break;
      }
      const one = await tryAppend([e]);
      if (!one) {
        failedInARow = 0;
        continue;
      }
      const note: LogEntry = {
        seq: e.seq,
        ts: e.ts,
        stream: 'system',
        text: `[cronium] a ${e.stream} log line (${Buffer.byteLength(e.text)} bytes) could not be stored: ${d.mask(storeErrorReason(one))}`,
        continued: false,
        escaped: false,
      };
      if (await tryAppend([note])) {
        lost++;
        failedInARow++;
      } else failedInARow = 0;
    }
    if (lost) {
      d.counters.logEntriesLost.inc(lost);
      d.log.error({ executionId: d.executionId, lost }, 'log entries lost: the database stored neither them nor a line saying so');
    }
  };
}
