import { Readable, type Writable } from 'node:stream';

/**
 * Writes a job to a sandbox's stdin and ends it, then calls `after`. A streamed job (one with files) is written
 * as the sandbox takes it, so a large file never sits in memory whole. A file that cannot be read ends the stream
 * short: the launcher then refuses the truncated job (exit 125), and the execution fails with its reason.
 */
export function sendJob(job: Buffer | AsyncIterable<Buffer>, stdin: Writable, after: () => void): void {
  if (Buffer.isBuffer(job)) {
    stdin.end(job, after);
    return;
  }
  const src = Readable.from(job, { objectMode: false });
  src.once('error', () => {
    src.unpipe(stdin);
    stdin.end(after);
  });
  stdin.once('error', () => src.destroy());
  src.pipe(stdin).once('finish', after);
}
