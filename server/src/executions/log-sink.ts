import type { LogEntry } from './events.js';
import type { Masker } from './masking.js';

type Stream = 'stdout' | 'stderr';

export interface LogSinkOptions {
  maxBytes: number;
  masker: Masker;
  /** Persists entries in order; called one batch at a time. */
  persist: (entries: LogEntry[]) => Promise<void>;
  publish: (entries: LogEntry[]) => void;
  onTruncated: () => void;
  flushMs?: number;
  partialLineMs?: number;
}

/**
 * Turns a sandbox's output into log entries: one per line (a partial line is let out after a pause), with secrets
 * masked even when a secret arrives split across writes, batched into the database, and capped in size with
 * a visible marker instead of silent loss.
 */
export class LogSink {
  private seq = 0;
  private bytes = 0;
  private truncated = false;
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' };
  private readonly partialTimer: Record<Stream, NodeJS.Timeout | null> = { stdout: null, stderr: null };
  private batch: LogEntry[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: LogSinkOptions) {}

  write(stream: Stream, text: string): void {
    if (this.closed) return;
    let buf = this.partial[stream] + text;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      this.add(stream, this.opts.masker.mask(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
    this.partial[stream] = buf;
    this.armPartial(stream);
  }

  system(text: string): void {
    this.add('system', text, true);
  }

  private armPartial(stream: Stream) {
    const t = this.partialTimer[stream];
    if (t) clearTimeout(t);
    this.partialTimer[stream] = null;
    if (!this.partial[stream]) return;
    this.partialTimer[stream] = setTimeout(() => {
      this.partialTimer[stream] = null;
      const buf = this.partial[stream];
      const keep = this.opts.masker.unsafeTail(buf);
      const out = buf.slice(0, buf.length - keep);
      this.partial[stream] = buf.slice(buf.length - keep);
      if (out) this.add(stream, this.opts.masker.mask(out));
    }, this.opts.partialLineMs ?? 250);
  }

  private add(stream: LogEntry['stream'], text: string, force = false) {
    if (this.truncated && !force) return;
    const size = Buffer.byteLength(text) + 1;
    if (!force && this.bytes + size > this.opts.maxBytes) {
      this.truncated = true;
      this.opts.onTruncated();
      this.push({
        seq: this.seq++,
        ts: new Date().toISOString(),
        stream: 'system',
        text: `[cronium] log truncated: the limit of ${this.opts.maxBytes} bytes was reached; further output was discarded`,
      });
      return;
    }
    this.bytes += size;
    this.push({ seq: this.seq++, ts: new Date().toISOString(), stream, text });
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
    for (const s of ['stdout', 'stderr'] as const) {
      const t = this.partialTimer[s];
      if (t) clearTimeout(t);
      if (this.partial[s]) this.add(s, this.opts.masker.mask(this.partial[s]));
      this.partial[s] = '';
    }
    this.closed = true;
    await this.flush();
  }
}
