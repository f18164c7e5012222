import { isUtf8 } from 'node:buffer';

/**
 * Decodes a sandbox's output bytes to text without losing any: valid UTF-8 becomes its characters, and each byte
 * that is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC80+byte (Python's "surrogateescape").
 * A script cannot produce such a surrogate otherwise (UTF-8 cannot encode one), so the bytes can always be told
 * apart and given back (executions/log-text.ts). A character split across writes is kept whole.
 */
export interface LosslessDecoder {
  write(chunk: Buffer): string;
  /** What is held back at the end of the stream: an incomplete sequence, as escaped bytes. */
  end(): string;
}

const ESCAPE_BASE = 0xdc00;

/** The number of bytes of a sequence led by `b`, or 0 when `b` cannot lead one. */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Whether `c` may follow lead `b` as its first continuation byte (excludes overlong forms and surrogates). */
function validSecond(b: number, c: number): boolean {
  if (b === 0xe0) return c >= 0xa0 && c <= 0xbf;
  if (b === 0xed) return c >= 0x80 && c <= 0x9f;
  if (b === 0xf0) return c >= 0x90 && c <= 0xbf;
  if (b === 0xf4) return c >= 0x80 && c <= 0x8f;
  return c >= 0x80 && c <= 0xbf;
}

/**
 * Length of the valid sequence at `i`: its full length when complete and valid, 0 when the byte at `i` is not
 * the start of one, or -n when the buffer ends after n bytes that are a valid start of one.
 */
function validAt(buf: Buffer, i: number): number {
  const b = buf[i]!;
  const len = sequenceLength(b);
  if (len <= 1) return len;
  for (let k = 1; k < len; k++) {
    if (i + k >= buf.length) return -k;
    const c = buf[i + k]!;
    if (k === 1 ? !validSecond(b, c) : c < 0x80 || c > 0xbf) return 0;
  }
  return len;
}

/** Where an incomplete but so far valid sequence at the end of `buf` starts (buf.length when there is none). */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const i = buf.length - back;
    const b = buf[i]!;
    if (b >= 0x80 && b <= 0xbf) continue; // a continuation byte: its lead is further back
    return validAt(buf, i) < 0 ? i : buf.length;
  }
  return buf.length;
}

/** Decodes a buffer that is known not to end in an incomplete sequence, escaping each invalid byte. */
function decodeEscaping(buf: Buffer): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  const parts: string[] = [];
  let run = 0;
  let i = 0;
  while (i < buf.length) {
    const n = validAt(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > run) parts.push(buf.toString('utf8', run, i));
    parts.push(String.fromCharCode(ESCAPE_BASE + buf[i]!));
    i += 1;
    run = i;
  }
  if (run < buf.length) parts.push(buf.toString('utf8', run));
  return parts.join('');
}

export function createLosslessDecoder(): LosslessDecoder {
  let held: Buffer | null = null;
  return {
    write(chunk) {
      const buf = held ? Buffer.concat([held, chunk]) : chunk;
      const cut = incompleteTail(buf);
      held = cut < buf.length ? Buffer.from(buf.subarray(cut)) : null;
      return cut > 0 ? decodeEscaping(buf.subarray(0, cut)) : '';
    },
    end() {
      const rest = held;
      held = null;
      return rest ? decodeEscaping(rest) : '';
    },
  };
}
