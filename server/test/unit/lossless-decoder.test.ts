import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { cutIndex, escapeLogText, rawByteLength, unescapeLogText } from '../../src/executions/log-text.js';
import { createDemuxer } from '../../src/sandbox/docker/attach-stream.js';
import { createLosslessDecoder } from '../../src/sandbox/launcher/lossless-decoder.js';

const decodeAll = (chunks: Buffer[]) => {
  const d = createLosslessDecoder();
  return chunks.map((c) => d.write(c)).join('') + d.end();
};

/** Bytes → lossless text → stored form → bytes again. */
const roundTrip = (bytes: Buffer, chunks: Buffer[] = [bytes]) => {
  const stored = escapeLogText(decodeAll(chunks));
  return { stored, back: unescapeLogText(stored.text, stored.escaped) };
};

const splitAt = (b: Buffer, points: number[]) => {
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, b.length]) {
    out.push(b.subarray(last, p));
    last = p;
  }
  return out;
};

describe('lossless decoder', () => {
  it('decodes valid UTF-8 as it is, NUL included', () => {
    assert.equal(decodeAll([Buffer.from('héllo\0 wörld 😀')]), 'héllo\0 wörld 😀');
  });

  it('turns each byte that is not UTF-8 into U+DC80+byte instead of U+FFFD', () => {
    assert.equal(decodeAll([Buffer.from([0x61, 0xff, 0xfe, 0x0a])]), 'a\udcff\udcfe\n');
    // overlong, surrogate and out-of-range encodings, a lone continuation byte, a truncated sequence
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82]]) {
      const text = decodeAll([Buffer.from(bad)]);
      assert.equal(text, bad.map((b) => String.fromCharCode(0xdc00 + b)).join(''), Buffer.from(bad).toString('hex'));
    }
    assert.notEqual(decodeAll([Buffer.from([0xe2, 0x82, 0x41])]), '\ufffdA');
  });

  it('keeps a multi-byte character whole wherever a chunk boundary splits it', () => {
    const bytes = Buffer.from('aé€😀z');
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) assert.equal(decodeAll(splitAt(bytes, [i, j])), 'aé€😀z', `split at ${i},${j}`);
    }
  });

  it('gives back every byte of random data, in any chunking, through the stored form', () => {
    for (let n = 0; n < 300; n++) {
      const bytes = crypto.randomBytes(1 + (n % 97));
      // mostly text with some bad bytes, or pure noise
      if (n % 3) for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f && i % 5) bytes[i] = 0x20 + (bytes[i]! % 90);
      const points = [...new Set(Array.from({ length: n % 5 }, () => Math.floor(Math.random() * bytes.length)))].sort((a, b) => a - b);
      const { back } = roundTrip(bytes, splitAt(bytes, points));
      assert.deepEqual(back, bytes, bytes.toString('hex'));
    }
  });
});

describe('stored form of log text', () => {
  it('stores text the database can hold as it is, backslashes included', () => {
    assert.deepEqual(escapeLogText('C:\\path\\x41 ok'), { text: 'C:\\path\\x41 ok', escaped: false });
  });

  it('escapes NUL, undecodable bytes and backslashes once anything needs escaping, and reverses exactly', () => {
    const bytes = Buffer.concat([Buffer.from('a\\x41\0b'), Buffer.from([0xff, 0x80]), Buffer.from('é\\')]);
    const { stored, back } = roundTrip(bytes);
    assert.deepEqual(stored, { text: 'a\\\\x41\\x00b\\xff\\x80é\\\\', escaped: true });
    assert.deepEqual(back, bytes);
    assert.ok(!stored.text.includes('\0'));
  });

  it('counts an undecodable byte as one byte, and cuts between characters', () => {
    assert.equal(rawByteLength('a\udcffé😀'), 1 + 1 + 2 + 4);
    assert.equal(cutIndex('ab😀c', 3), 2);
    assert.equal(cutIndex('ab😀c', 6), 4);
    assert.equal(cutIndex('\udcff\udcfe', 1), 1);
    assert.equal(cutIndex('😀', 1), 2, 'at least one character');
  });
});

const frame = (type: number, payload: Buffer) => {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};

describe('createDemuxer', () => {
  it('passes a large frame on as it arrives instead of gathering it', () => {
    const out: string[] = [];
    const d = createDemuxer((t) => out.push(t), () => undefined);
    const all = frame(1, Buffer.alloc(1 << 20, 'a'));
    d.push(all.subarray(0, 64 * 1024));
    assert.equal(out.join('').length, 64 * 1024 - 8);
    for (let i = 64 * 1024; i < all.length; i += 64 * 1024) d.push(all.subarray(i, i + 64 * 1024));
    d.end();
    assert.equal(out.join('').length, 1 << 20);
    assert.ok(out.every((t) => t.length <= 64 * 1024));
  });

  it('hands the frames of one stream within a chunk out together, and keeps the streams apart', () => {
    const out: string[] = [];
    const err: string[] = [];
    const d = createDemuxer((t) => out.push(t), (t) => err.push(t));
    const frames = [...'abcdefghij'].map((c) => frame(1, Buffer.from(c)));
    d.push(Buffer.concat([...frames, frame(2, Buffer.from('E')), frame(1, Buffer.from('k'))]));
    d.end();
    assert.deepEqual(out, ['abcdefghij', 'k']);
    assert.deepEqual(err, ['E']);
  });

  it('decodes losslessly: bytes that are not UTF-8 survive a header split anywhere', () => {
    const bytes = Buffer.from([0x61, 0xff, 0x00, 0xe2, 0x82, 0xac, 0xfe, 0x0a]);
    const all = Buffer.concat([frame(1, bytes.subarray(0, 4)), frame(1, bytes.subarray(4))]);
    for (let cut = 0; cut <= all.length; cut++) {
      const out: string[] = [];
      const d = createDemuxer((t) => out.push(t), () => undefined);
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      d.end();
      const stored = escapeLogText(out.join(''));
      assert.deepEqual(unescapeLogText(stored.text, stored.escaped), bytes, `cut at ${cut}`);
    }
  });
});
