/**
 * How a log entry's text is stored: as the script wrote it when the database can hold it (valid UTF-8 without
 * NUL), otherwise escaped, so that every byte is kept and can be given back. This is the one place that decides;
 * the README (Logs) documents the form for clients.
 *
 * The text comes from the lossless decoder (sandbox/launcher/lossless-decoder.ts), which turns each byte that is not valid
 * UTF-8 into the lone surrogate U+DC80+byte. Escaped form: `\\` for a backslash, `\xHH` for NUL and for each such
 * byte, everything else as is. (Any other lone surrogate cannot stand for a byte a script wrote, since the decoder
 * makes only these; text from elsewhere that holds one gets U+FFFD for it, as UTF-8 encoding would give it anyway.)
 */

const ESCAPED = /[\\\0\p{Cs}]/gu;
const LONE_SURROGATE = /\p{Cs}/gu;

/** String.prototype.isWellFormed (Node 20; not in the ES2022 typings): no lone surrogate. */
const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

export function escapeLogText(text: string): { text: string; escaped: boolean } {
  if (!text.includes('\0') && isWellFormed(text)) return { text, escaped: false };
  const out = text.replace(ESCAPED, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    if (code === 0) return '\\x00';
    if (code >= 0xdc80 && code <= 0xdcff) return `\\x${hex2(code - 0xdc00)}`;
    return '\ufffd';
  });
  return { text: out, escaped: true };
}

/** The bytes an entry stands for: its text as UTF-8, or, when escaped, with each escape turned back into its byte. */
export function unescapeLogText(text: string, escaped: boolean): Buffer {
  if (!escaped) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  const re = /\\(\\|x[0-9a-f]{2})/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > run) parts.push(Buffer.from(text.slice(run, m.index), 'utf8'));
    const e = m[1]!;
    if (e === '\\') parts.push(Buffer.from('\\'));
    else parts.push(Buffer.from([parseInt(e.slice(1), 16)]));
    run = re.lastIndex;
  }
  if (run < text.length) parts.push(Buffer.from(text.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** The number of bytes the script wrote for `text` (an escaped byte counts as the one byte it was). */
export function rawByteLength(text: string): number {
  const utf8 = Buffer.byteLength(text, 'utf8');
  if (isWellFormed(text)) return utf8;
  // Buffer.byteLength counts each lone surrogate as the 3 bytes of U+FFFD.
  return utf8 - 2 * (text.match(LONE_SURROGATE)?.length ?? 0);
}

/**
 * The largest index i such that text.slice(0, i) holds at most `maxBytes` bytes (as rawByteLength counts them),
 * never between the two halves of a surrogate pair; at least one character, so that a cut always makes progress.
 */
export function cutIndex(text: string, maxBytes: number): number {
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let n = 1;
    let w: number;
    if (c < 0x80) w = 1;
    else if (c < 0x800) w = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      w = 4;
      n = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) w = 1;
    else w = 3;
    if (bytes + w > maxBytes) return i > 0 ? i : n;
    bytes += w;
    i += n;
  }
  return i;
}
