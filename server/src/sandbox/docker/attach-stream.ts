import type { ByteFilter } from '../launcher/job-session.js';
import { createLosslessDecoder } from '../launcher/lossless-decoder.js';
import { readyMarkStripper, type ReadyMarkStripper } from '../launcher/ready-mark.js';

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes, big-endian size)
 * into stdout and stderr text, decoded without loss (launcher/lossless-decoder.ts) and keeping multi-byte characters whole
 * across frames. A frame's payload is passed on as it arrives, never gathered (a frame may be large), and the
 * payloads of one stream within one chunk go out together: the work per chunk is proportional to the chunk.
 * Stdout's bytes go through `stdoutBytes` before they are decoded, if given.
 */
export function createDemuxer(onStdout: (text: string) => void, onStderr: (text: string) => void, stdoutBytes?: ByteFilter) {
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let type = 0;
  let remaining = 0;
  const out = createLosslessDecoder();
  const err = createLosslessDecoder();
  const emit = (stream: number, pieces: Buffer[]) => {
    if (!pieces.length) return;
    let bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    if (stream !== 2 && stdoutBytes) bytes = stdoutBytes.push(bytes);
    if (!bytes.length) return;
    const t = stream === 2 ? err.write(bytes) : out.write(bytes);
    if (t) (stream === 2 ? onStderr : onStdout)(t);
  };
  return {
    push(chunk: Buffer) {
      let pieces: Buffer[] = [];
      let piecesOf = -1;
      let i = 0;
      while (i < chunk.length) {
        if (remaining === 0) {
          const n = Math.min(8 - headerFill, chunk.length - i);
          chunk.copy(header, headerFill, i, i + n);
          headerFill += n;
          i += n;
          if (headerFill < 8) break;
          headerFill = 0;
          type = header[0] === 2 ? 2 : 1;
          remaining = header.readUInt32BE(4);
          continue;
        }
        const n = Math.min(remaining, chunk.length - i);
        if (type !== piecesOf) {
          emit(piecesOf, pieces);
          pieces = [];
          piecesOf = type;
        }
        pieces.push(chunk.subarray(i, i + n));
        remaining -= n;
        i += n;
      }
      emit(piecesOf, pieces);
    },
    end() {
      if (stdoutBytes) {
        const rest = stdoutBytes.end();
        const t = rest.length ? out.write(rest) : '';
        if (t) onStdout(t);
      }
      const o = out.end();
      if (o) onStdout(o);
      const e = err.end();
      if (e) onStderr(e);
    },
  };
}

/**
 * The ready mark (launcher/ready-mark.ts) in Docker's multiplexed attach stream (8-byte frame headers: stream type, size): the mark is taken
 * out of the stdout frames' payload and the frames are rewritten; once decided, bytes pass through untouched.
 */
export function readyMarkFrameStripper(onReady: () => void): ReadyMarkStripper {
  const stdout = readyMarkStripper(onReady);
  let buf: Buffer = Buffer.alloc(0);
  let through = false;
  const frame = (type: number, payload: Buffer) => {
    const h = Buffer.alloc(8);
    h[0] = type;
    h.writeUInt32BE(payload.length, 4);
    return Buffer.concat([h, payload]);
  };
  return {
    push(b) {
      if (through) return b;
      buf = buf.length ? Buffer.concat([buf, b]) : b;
      const out: Buffer[] = [];
      while (!stdout.decided && buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
        const type = buf[0]!;
        const payload = buf.subarray(8, 8 + buf.readUInt32BE(4));
        buf = buf.subarray(8 + payload.length);
        if (type !== 1) {
          out.push(frame(type, payload));
          continue;
        }
        const pass = stdout.push(payload);
        if (pass.length) out.push(frame(1, pass));
      }
      if (stdout.decided) {
        through = true;
        out.push(buf);
        buf = Buffer.alloc(0);
      }
      return Buffer.concat(out);
    },
    end() {
      const held = stdout.end();
      const rest = Buffer.concat([held.length ? frame(1, held) : Buffer.alloc(0), buf]);
      buf = Buffer.alloc(0);
      through = true;
      return rest;
    },
    get decided() {
      return through;
    },
  };
}
