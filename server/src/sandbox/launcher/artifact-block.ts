/**
 * Reads the launcher's artifacts block out of a sandbox's raw stdout (cronium-launch, CRONIUM3):
 *
 *   __CRONIUM_ARTIFACTS_<token>__\n  ( <find %y><links> <path> \0 )...  \0  <tar stream>
 *
 * written once nothing of the job runs, with a token the job never saw: only the first mark with the token counts,
 * so a script cannot forge the block. The skip records name what was not collected (links, FIFOs, sockets,
 * devices, hard links); the tar holds regular files only, and only its regular-file members are taken. Every
 * size is the bytes received, never a header's claim beyond them; names are made safe to download. Pure: bytes in,
 * calls on the sink out, and the bytes that are not the block (the job's output, then the end mark) passed on.
 */
export interface ArtifactEntry {
  write(b: Buffer): void;
  end(): void;
}

export interface ArtifactSink {
  skipped(path: string, why: string): void;
  /** A regular file of `size` bytes (the header's; the sink counts what it gets). */
  file(name: string, size: number): ArtifactEntry;
  /** The block has ended; `complete` is false when the stream stopped in the middle of it. */
  done(complete: boolean): void;
}

const KINDS: Record<string, string> = {
  l: 'a symbolic link (never followed)',
  p: 'a FIFO',
  s: 'a socket',
  b: 'a block device',
  c: 'a character device',
  f: 'a hard link (more than one name for the file)',
  D: 'a door',
};

/** A name that stays under the artifacts on download: no empty, '.' or '..' segment, no control or backslash. */
export function safeArtifactName(p: string): string {
  const segs = p
    .split('/')
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    // eslint-disable-next-line no-control-regex
    .map((s) => s.replace(/[\x00-\x1f\x7f\\]/g, '_'));
  return segs.join('/') || 'artifact';
}

const MAX_SKIP_RECORD = 8192;
const MAX_LONG_NAME = 64 * 1024;

type State = 'search' | 'skips' | 'header' | 'data' | 'pad' | 'trailer' | 'through';

export function createArtifactReader(token: string, sink: ArtifactSink) {
  const mark = Buffer.from(`__CRONIUM_ARTIFACTS_${token}__\n`);
  let state: State = 'search';
  let held = Buffer.alloc(0);
  let rec: Buffer[] = [];
  let recLen = 0;
  let header = Buffer.alloc(0);
  let left = 0;
  let pad = 0;
  let entry: ArtifactEntry | null = null;
  let meta: Buffer[] | null = null; // the payload of a GNU long name ('L') or pax ('x') member
  let metaKind = '';
  let longName: string | null = null;
  let paxPath: string | null = null;
  let paxSize: number | null = null;
  let zeros = 0;
  let finished = false;
  const finish = (complete: boolean) => {
    if (finished) return;
    finished = true;
    sink.done(complete);
  };

  const octal = (b: Buffer) => {
    if (b[0]! & 0x80) {
      // base-256 (GNU, for sizes of 8 GiB and more)
      let n = 0;
      for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!;
      return n;
    }
    const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
    return s ? parseInt(s, 8) : 0;
  };
  const str = (b: Buffer) => {
    const i = b.indexOf(0);
    return b.subarray(0, i < 0 ? b.length : i).toString('utf8');
  };

  const onHeader = (h: Buffer) => {
    if (h.every((x) => x === 0)) {
      zeros++;
      if (zeros >= 2) {
        state = 'trailer';
        finish(true);
      }
      return;
    }
    zeros = 0;
    const size = octal(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!);
    const prefix = h.subarray(345, 500).toString('latin1').startsWith('ustar') ? '' : str(h.subarray(345, 500));
    let name = longName ?? paxPath ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    const realSize = paxSize ?? size;
    left = realSize;
    pad = (512 - (realSize % 512)) % 512;
    entry = null;
    meta = null;
    if (type === 'L' || type === 'x') {
      meta = [];
      metaKind = type;
    } else {
      longName = paxPath = null;
      paxSize = null;
      if (type === '0' || type === '\0' || type === '7') {
        name = safeArtifactName(name);
        entry = sink.file(name, realSize);
      } else {
        sink.skipped(name, `not a regular file (tar type ${JSON.stringify(type)})`);
      }
    }
    state = left > 0 ? 'data' : pad > 0 ? 'pad' : 'header';
  };

  const onMeta = () => {
    const b = Buffer.concat(meta ?? []);
    meta = null;
    if (metaKind === 'L') {
      longName = str(b);
      return;
    }
    // pax records: "<len> key=value\n"
    let i = 0;
    while (i < b.length) {
      const sp = b.indexOf(0x20, i);
      if (sp < 0) break;
      const len = parseInt(b.subarray(i, sp).toString('latin1'), 10);
      if (!(len > 0)) break;
      const kv = b.subarray(sp + 1, i + len - 1).toString('utf8');
      const eq = kv.indexOf('=');
      const k = kv.slice(0, eq);
      const v = kv.slice(eq + 1);
      if (k === 'path') paxPath = v;
      if (k === 'size' && /^\d+$/.test(v)) paxSize = Number(v);
      i += len;
    }
  };

  /** Consumes what it can of `b` in the block; returns the rest (what follows the block). */
  const consume = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length) {
      switch (state) {
        case 'skips': {
          const nul = b.indexOf(0, i);
          const end = nul < 0 ? b.length : nul;
          if (recLen < MAX_SKIP_RECORD) {
            rec.push(b.subarray(i, Math.min(end, i + MAX_SKIP_RECORD - recLen)));
            recLen += end - i;
          }
          i = end;
          if (nul < 0) break;
          i++;
          const r = Buffer.concat(rec).toString('utf8');
          rec = [];
          recLen = 0;
          if (r === '') {
            state = 'header';
            break;
          }
          const sp = r.indexOf(' ');
          const kind = r[0] ?? '?';
          sink.skipped(r.slice(sp + 1), KINDS[kind] ?? `not a regular file (${kind})`);
          break;
        }
        case 'header': {
          const n = Math.min(512 - header.length, b.length - i);
          header = Buffer.concat([header, b.subarray(i, i + n)]);
          i += n;
          if (header.length === 512) {
            const h = header;
            header = Buffer.alloc(0);
            onHeader(h);
          }
          break;
        }
        case 'data': {
          const n = Math.min(left, b.length - i);
          const piece = b.subarray(i, i + n);
          if (entry) entry.write(piece);
          else if (meta && meta.reduce((s, x) => s + x.length, 0) < MAX_LONG_NAME) meta.push(Buffer.from(piece));
          left -= n;
          i += n;
          if (left === 0) {
            if (entry) entry.end();
            entry = null;
            if (meta) onMeta();
            state = pad > 0 ? 'pad' : 'header';
          }
          break;
        }
        case 'pad': {
          const n = Math.min(pad, b.length - i);
          pad -= n;
          i += n;
          if (pad === 0) state = 'header';
          break;
        }
        case 'trailer': {
          // GNU tar pads the archive with zero blocks; the launcher's next byte (the end mark) is not one.
          while (i < b.length && b[i] === 0) i++;
          if (i < b.length) state = 'through';
          break;
        }
        default:
          return b.subarray(i);
      }
    }
    return Buffer.alloc(0);
  };

  return {
    /** Bytes of stdout in; what is not the artifacts block out (to the text decoder). */
    push(b: Buffer): Buffer {
      if (state === 'through') return b;
      if (state === 'search') {
        const buf = held.length ? Buffer.concat([held, b]) : b;
        const at = buf.indexOf(mark);
        if (at < 0) {
          // Keep what may be the start of the mark.
          let keep = Math.min(buf.length, mark.length - 1);
          while (keep > 0 && !mark.subarray(0, keep).equals(buf.subarray(buf.length - keep))) keep--;
          held = Buffer.from(buf.subarray(buf.length - keep));
          return buf.subarray(0, buf.length - keep);
        }
        held = Buffer.alloc(0);
        state = 'skips';
        const after = consume(buf.subarray(at + mark.length));
        return Buffer.concat([buf.subarray(0, at), after]);
      }
      return consume(b);
    },
    /** The stream has ended: what was held back, and the block's end if it was cut short. */
    end(): Buffer {
      const rest = state === 'search' ? held : Buffer.alloc(0);
      held = Buffer.alloc(0);
      if (entry) entry.end();
      entry = null;
      if (state !== 'search' && state !== 'through') finish(state === 'trailer');
      return rest;
    },
    get seen() {
      return state !== 'search';
    },
    get finished() {
      return finished;
    },
  };
}
