import type { LogEntry } from './events.js';
import { cutIndex, escapeLogText, rawByteLength } from './log-text.js';
import type { Masker } from './masking.js';

type Stream = 'stdout' | 'stderr';

/** CRONIUM_MAX_LOG_LINE_BYTES unless set. */
export const DEFAULT_MAX_LOG_LINE_BYTES = 64 * 1024;

export interface LogSinkOptions {
  maxBytes: number;
  /** The longest line kept as one entry, in bytes as the script wrote them; a longer one goes on in continuations. */
  maxLineBytes?: number;
  masker: Masker;
  /** Persists entries in order; called one batch at a time; must not throw (a failure is its to report). */
  persist: (entries: LogEntry[]) => Promise<void>;
  publish: (entries: LogEntry[]) => void;
  onTruncated: () => void;
  flushMs?: number;
  partialLineMs?: number;
}

/** The line being written on one stream. */
interface Line {
  /** Text not yet masked: the line so far, or once it is long, what could still be the start of a secret. */
  raw: string[];
  rawBytes: number;
  /** Masked text of a long line, safe to let out, waiting to fill an entry. */
  settled: string;
  settledBytes: number;
  /** Part of this line is out already: its next entry is a continuation. */
  continued: boolean;
  timer: NodeJS.Timeout | null;
}

const newLine = (): Line => ({ raw: [], rawBytes: 0, settled: '', settledBytes: 0, continued: false, timer: null });

/**
 * Turns a sandbox's output into log entries: one per line, a line longer than `maxLineBytes` cut into entries
 * marked as continuations, a partial line let out after a pause; secrets masked even when one arrives split across
 * writes or across a cut; text the database cannot hold escaped (log-text.ts); batched into the database, and
 * capped in size with a visible marker instead of silent loss.
 *
 * Work per write is proportional to the write: only the new text is searched for line ends, a long line is kept
 * to about one entry (plus what could still become a secret), and once the cap is reached output is dropped as it
 * comes, without being looked at.
 */
export class LogSink {
  private seq = 0;
  private bytes = 0;
  private truncated = false;
  private readonly lines: Record<Stream, Line> = { stdout: newLine(), stderr: newLine() };
  private batch: LogEntry[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly maxLine: number;

  constructor(private readonly opts: LogSinkOptions) {
    this.maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LOG_LINE_BYTES;
  }

  write(stream: Stream, text: string): void {
    if (this.closed || this.truncated) return;
    const line = this.lines[stream];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.endLine(stream, line, text.slice(start, nl));
      start = nl + 1;
      if (this.truncated) return;
    }
    if (start < text.length) this.extend(stream, line, start ? text.slice(start) : text);
    this.armPartial(stream, line);
  }

  system(text: string): void {
    this.add('system', text, false, true);
  }

  /** The rest of a line and its end. */
  private endLine(stream: Stream, line: Line, text: string) {
    const rest = line.raw.length ? line.raw.join('') + text : text;
    const out = line.settled + this.opts.masker.mask(rest);
    const continued = line.continued;
    this.reset(line);
    // A line whose text is all out already (a pause, or a cut just before its end) has only its end left.
    if (out || !continued) this.letOut(stream, out, continued);
  }

  /** More of a line that has not ended. */
  private extend(stream: Stream, line: Line, text: string) {
    line.raw.push(text);
    line.rawBytes += rawByteLength(text);
    if (line.settledBytes + line.rawBytes <= this.maxLine) return;
    this.settle(line);
    const max = this.maxLine;
    while (line.settledBytes >= max && !this.truncated) {
      const i = cutIndex(line.settled, max);
      const piece = line.settled.slice(0, i);
      line.settled = line.settled.slice(i);
      line.settledBytes -= rawByteLength(piece);
      this.add(stream, piece, line.continued);
      line.continued = true;
    }
  }

  /**
   * Masks what a line holds unmasked and moves it to its settled text, but for a tail that could still be the
   * start of a secret. (Masked first, so that a secret which ends inside that tail is masked before the cut.)
   */
  private settle(line: Line) {
    if (!line.raw.length) return;
    const masked = this.opts.masker.mask(line.raw.join(''));
    const keep = this.opts.masker.unsafeTail(masked);
    const safe = keep ? masked.slice(0, masked.length - keep) : masked;
    const tail = keep ? masked.slice(masked.length - keep) : '';
    line.settled += safe;
    line.settledBytes += rawByteLength(safe);
    line.raw = tail ? [tail] : [];
    line.rawBytes = tail ? rawByteLength(tail) : 0;
  }

  /** Lets text of one line out as entries of at most maxLineBytes, the first one continuing the line if it was. */
  private letOut(stream: Stream, text: string, continued: boolean) {
    let rest = text;
    let cont = continued;
    do {
      const i = rawByteLength(rest) <= this.maxLine ? rest.length : cutIndex(rest, this.maxLine);
      this.add(stream, rest.slice(0, i), cont);
      rest = rest.slice(i);
      cont = true;
    } while (rest && !this.truncated);
  }

  private reset(line: Line) {
    line.raw = [];
    line.rawBytes = 0;
    line.settled = '';
    line.settledBytes = 0;
    line.continued = false;
  }

  private armPartial(stream: Stream, line: Line) {
    if (line.timer) clearTimeout(line.timer);
    line.timer = null;
    if (!line.raw.length && !line.settled) return;
    line.timer = setTimeout(() => {
      line.timer = null;
      if (this.truncated) return;
      this.settle(line);
      if (!line.settled) return;
      const out = line.settled;
      const continued = line.continued;
      line.settled = '';
      line.settledBytes = 0;
      this.letOut(stream, out, continued);
      line.continued = true;
    }, this.opts.partialLineMs ?? 250);
  }

  private add(stream: LogEntry['stream'], text: string, continued: boolean, force = false) {
    if (this.truncated && !force) return;
    const stored = escapeLogText(text);
    const size = Buffer.byteLength(stored.text) + 1;
    if (!force && this.bytes + size > this.opts.maxBytes) {
      this.truncate();
      return;
    }
    this.bytes += size;
    this.push({ seq: this.seq++, ts: new Date().toISOString(), stream, text: stored.text, continued, escaped: stored.escaped });
  }

  /** From here on output is dropped as it comes: nothing of it is kept. */
  private truncate() {
    this.truncated = true;
    for (const line of Object.values(this.lines)) {
      if (line.timer) clearTimeout(line.timer);
      line.timer = null;
      this.reset(line);
    }
    this.opts.onTruncated();
    this.push({
      seq: this.seq++,
      ts: new Date().toISOString(),
      stream: 'system',
      text: `[cronium] log truncated: the limit of ${this.opts.maxBytes} bytes was reached; further output was discarded`,
      continued: false,
      escaped: false,
    });
  }

  private push(entry: LogEntry) {
    this.batch.push(entry);
    if (this.batch.length >= 200) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.opts.flushMs ?? 100);
  }

  private flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const entries = this.batch;
    this.batch = [];
    // Announced only once stored: a live follower subscribes, then reads what is stored, so a line announced
    // before it was stored (and before the follower subscribed) would reach neither (issue 17, bug 1).
    if (entries.length) this.chain = this.chain.then(() => this.opts.persist(entries)).finally(() => this.opts.publish(entries));
    return this.chain;
  }

  /** Lets out what is left (the final partial lines) and waits until everything is stored. */
  async close(): Promise<void> {
    for (const stream of ['stdout', 'stderr'] as const) {
      const line = this.lines[stream];
      if (line.timer) clearTimeout(line.timer);
      line.timer = null;
      if (!this.truncated && (line.raw.length || line.settled)) {
        const out = line.settled + this.opts.masker.mask(line.raw.join(''));
        const continued = line.continued;
        this.reset(line);
        if (out) this.letOut(stream, out, continued);
      }
    }
    this.closed = true;
    await this.flush();
  }
}
