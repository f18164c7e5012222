import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDemuxer, readyMarkFrameStripper } from '../../src/sandbox/docker/attach-stream.js';
import { READY_MARK, readyMarkStripper } from '../../src/sandbox/launcher/ready-mark.js';

/** What a Docker stream's frames carry, per stream (frame boundaries may differ, the text may not). */
const demux = (raw: Buffer) => {
  const got = { stdout: '', stderr: '' };
  const d = createDemuxer((t) => (got.stdout += t), (t) => (got.stderr += t));
  d.push(raw);
  d.end();
  return got;
};

const frame = (type: number, text: string) => {
  const p = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
};
/** Feeds `whole` to a stripper in pieces of `size` bytes; what passed, and whether the mark was seen. */
const feed = (make: (onReady: () => void) => { push(b: Buffer): Buffer; end(): Buffer }, whole: Buffer, size: number) => {
  let ready = false;
  const s = make(() => (ready = true));
  const out: Buffer[] = [];
  for (let i = 0; i < whole.length; i += size) out.push(s.push(whole.subarray(i, i + size)));
  out.push(s.end());
  return { out: Buffer.concat(out), ready };
};

describe('ready mark', () => {
  it('takes the mark off the front of stdout, however the bytes are split', () => {
    for (const size of [1, 3, 18, 19, 1000]) {
      const r = feed(readyMarkStripper, Buffer.concat([READY_MARK, Buffer.from('__CRONIUM_JOB_abc__\nhello\n')]), size);
      assert.equal(r.ready, true, `pieces of ${size}`);
      assert.equal(r.out.toString(), '__CRONIUM_JOB_abc__\nhello\n');
    }
  });

  it('passes a stream without the mark unchanged, also one that starts like it (the job mark shares its first bytes)', () => {
    for (const text of ['__CRONIUM_JOB_abc__\nhi\n', '__CRONIUM_', '__CRONIUM_READY_', 'x__CRONIUM_READY__\n', '']) {
      for (const size of [1, 4, 100]) {
        const r = feed(readyMarkStripper, Buffer.from(text), size);
        assert.equal(r.ready, false);
        assert.equal(r.out.toString(), text, `${JSON.stringify(text)} in pieces of ${size}`);
      }
    }
  });

  it('takes only the first mark: one the job writes later is its output', () => {
    const r = feed(readyMarkStripper, Buffer.concat([READY_MARK, READY_MARK]), 5);
    assert.equal(r.out.toString(), READY_MARK.toString());
  });

  it('in Docker frames: takes the mark out of stdout, rewrites the frame, leaves stderr and the rest byte-exact', () => {
    const rest = Buffer.concat([frame(2, 'warning\n'), frame(1, '__CRONIUM_JOB_n__\n'), frame(1, 'out\n'), frame(2, 'err\n')]);
    for (const size of [1, 7, 8, 9, 26, 10_000]) {
      const r = feed(readyMarkFrameStripper, Buffer.concat([frame(1, READY_MARK.toString() + 'same write\n'), rest]), size);
      assert.equal(r.ready, true, `pieces of ${size}`);
      assert.deepEqual(r.out, Buffer.concat([frame(1, 'same write\n'), rest]));
      const alone = feed(readyMarkFrameStripper, Buffer.concat([frame(1, READY_MARK.toString()), rest]), size);
      assert.deepEqual(alone.out, rest, 'a frame holding only the mark goes entirely');
    }
  });

  it('in Docker frames: a stream without the mark passes through with the same text, split or not', () => {
    const whole = Buffer.concat([frame(2, 'early err\n'), frame(1, '__CRONIUM_'), frame(1, 'JOB_n__\nhello\n'), frame(2, 'x')]);
    for (const size of [1, 5, 8, 13, 10_000]) {
      const r = feed(readyMarkFrameStripper, whole, size);
      assert.equal(r.ready, false);
      assert.deepEqual(demux(r.out), demux(whole), `pieces of ${size}`);
    }
  });
});
