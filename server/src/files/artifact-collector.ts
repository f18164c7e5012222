import path from 'node:path';
import { Readable } from 'node:stream';
import type { OutputFlow } from '../sandbox/driver.js';
import type { ArtifactEntry, ArtifactSink } from '../sandbox/launcher/artifact-block.js';
import type { NewExecutionFile } from './repository.js';
import type { FileStore } from './store.js';

export interface ArtifactLimits {
  /** CRONIUM_MAX_ARTIFACT_BYTES: a file beyond it is cut there. */
  maxFileBytes: number;
  /** CRONIUM_MAX_ARTIFACTS_BYTES: the file that crosses it is cut, later ones are not kept. */
  maxTotalBytes: number;
}

/** Files beyond this many are not kept: each is a row and a stored object. */
export const MAX_ARTIFACT_COUNT = 10_000;
/** Log lines about files not collected, before one line sums up the rest. */
const MAX_SKIP_LINES = 50;
/** Bytes of one file queued for the store before the sandbox's output is paused. */
const QUEUE_BYTES = 4 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.parquet': 'application/vnd.apache.parquet',
};

/** The content type an artifact is served with, from its name alone (the script's bytes are never sniffed). */
export function contentTypeOf(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** `name`, or `name~2.ext`, `name~3.ext`… if taken (two names the download rewrite made equal). */
function uniqueName(name: string, taken: Set<string>): string {
  if (!taken.has(name)) return name;
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 2; ; i++) if (!taken.has(`${stem}~${i}${ext}`)) return `${stem}~${i}${ext}`;
}

export interface CollectedArtifacts {
  rows: NewExecutionFile[];
  /** Whether anything was cut or not kept for a limit, or cut short by the sandbox's end. */
  truncated: boolean;
  /** Whether the launcher handed the block over at all (not when the sandbox was killed first). */
  seen: boolean;
}

const NOTHING: ArtifactEntry = { write() {}, end() {} };

/**
 * Takes the files of an execution's artifacts block (sandbox/launcher/artifact-block.ts) into the file store, one stream per file
 * with the sandbox's output paused while the store is behind, within the limits; says in `log` what it did not
 * keep and why. `settle`, once the sandbox's output has been read to its end, waits until every file is stored
 * and gives the rows to record.
 */
export function collectArtifacts(opts: {
  executionId: string;
  store: FileStore;
  limits: ArtifactLimits;
  flow: OutputFlow;
  log: (line: string) => void;
  expiresAt: Date;
}): { sink: ArtifactSink; settle(): Promise<CollectedArtifacts> } {
  const { executionId, store, limits, flow, log } = opts;
  const names = new Set<string>();
  const stored: Promise<NewExecutionFile | null>[] = [];
  let total = 0;
  let truncated = false;
  let skips = 0;
  let ended: Promise<CollectedArtifacts> | null = null;
  const MiB = (n: number) => `${Math.round((n / 1048576) * 10) / 10} MiB`;

  const sink: ArtifactSink = {
    skipped(p, why) {
      skips++;
      if (skips <= MAX_SKIP_LINES) log(`[cronium] artifact out/${p} not collected: ${why}`);
    },
    file(original, size): ArtifactEntry {
      if (names.size >= MAX_ARTIFACT_COUNT) {
        truncated = true;
        if (names.size === MAX_ARTIFACT_COUNT) log(`[cronium] artifacts after the first ${MAX_ARTIFACT_COUNT} files not kept (out/${original} and any after it)`);
        names.add(`\0${original}`);
        return NOTHING;
      }
      const room = limits.maxTotalBytes - total;
      if (room <= 0 && size > 0) {
        truncated = true;
        log(`[cronium] artifact out/${original} not kept: the execution's artifacts reached CRONIUM_MAX_ARTIFACTS_BYTES (${MiB(limits.maxTotalBytes)})`);
        return NOTHING;
      }
      const name = uniqueName(original, names);
      names.add(name);
      const cap = Math.min(limits.maxFileBytes, room);
      const key = `${executionId}/out/${stored.length}`;
      const queue = new Readable({ highWaterMark: QUEUE_BYTES, read: () => flow.resume() });
      let got = 0;
      let failed = false;
      const put = store.put(key, queue).then(
        (r) => ({ executionId, kind: 'artifact' as const, name, key, size: r.size, sha256: r.sha256, contentType: contentTypeOf(name), expiresAt: opts.expiresAt }),
        (err: unknown) => {
          failed = true;
          truncated = true;
          // Whatever is still queued is dropped; the output must flow again or the sandbox could never end.
          flow.resume();
          log(`[cronium] artifact out/${name} could not be stored: ${(err as Error).message}`);
          return null;
        },
      );
      stored.push(put);
      return {
        write(b) {
          const take = Math.max(0, Math.min(b.length, cap - got));
          got += b.length;
          if (failed || take === 0) return;
          total += take;
          if (!queue.push(take === b.length ? b : b.subarray(0, take))) flow.pause();
        },
        end() {
          queue.push(null);
          if (got > cap) {
            truncated = true;
            const which = cap < limits.maxFileBytes ? `CRONIUM_MAX_ARTIFACTS_BYTES (${MiB(limits.maxTotalBytes)} for all)` : `CRONIUM_MAX_ARTIFACT_BYTES (${MiB(limits.maxFileBytes)})`;
            log(`[cronium] artifact out/${name} cut at ${MiB(cap)} of ${MiB(got)}: ${which}`);
          } else if (got < size) {
            truncated = true;
            log(`[cronium] artifact out/${name} cut short at ${MiB(got)} of ${MiB(size)}: the sandbox ended while it was collected`);
          }
        },
      };
    },
    done(complete) {
      if (skips > MAX_SKIP_LINES) log(`[cronium] ${skips - MAX_SKIP_LINES} more entries under out/ not collected (links, FIFOs, sockets or devices)`);
      if (!complete) truncated = true;
      ended = Promise.all(stored).then((rows) => ({ rows: rows.filter((r): r is NewExecutionFile => r !== null), truncated, seen: true }));
    },
  };
  return { sink, settle: () => ended ?? Promise.resolve({ rows: [], truncated: false, seen: false }) };
}
