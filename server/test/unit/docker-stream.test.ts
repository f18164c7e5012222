import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDemuxer } from '../../src/sandbox/docker/attach-stream.js';
import { createEndMarkExtractor, createUsageExtractor } from '../../src/sandbox/launcher/markers.js';

const frame = (type: number, text: string | Buffer) => {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};

describe('createDemuxer', () => {
  it('splits frames into stdout and stderr across arbitrary chunk boundaries', () => {
    const out: string[] = [];
    const err: string[] = [];
    const d = createDemuxer((t) => out.push(t), (t) => err.push(t));
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops\n'), frame(1, 'world\n')]);
    for (let i = 0; i < all.length; i += 3) d.push(all.subarray(i, i + 3));
    d.end();
    assert.equal(out.join(''), 'hello world\n');
    assert.equal(err.join(''), 'oops\n');
  });

  it('keeps a multi-byte character whole when a frame splits it', () => {
    const out: string[] = [];
    const d = createDemuxer((t) => out.push(t), () => undefined);
    const bytes = Buffer.from('é€😀');
    d.push(frame(1, bytes.subarray(0, 3)));
    d.push(frame(1, bytes.subarray(3)));
    d.end();
    assert.equal(out.join(''), 'é€😀');
  });
});

describe('createUsageExtractor', () => {
  const line = (nonce: string) => `__CRONIUM_USAGE_${nonce}__ {"exitCode":3,"cpuNs":2500000,"memoryPeakBytes":1024,"oomKills":0}\n`;

  it('takes the report out of stderr and passes everything else through unchanged', () => {
    const got: string[] = [];
    const x = createUsageExtractor('abc', (t) => got.push(t));
    x.push('err line\npartial');
    x.push(line('abc'));
    x.end();
    assert.equal(got.join(''), 'err line\npartial');
    assert.deepEqual(x.report(), { exitCode: 3, cpuNs: 2500000, memoryPeakBytes: 1024, oomKills: 0 });
  });

  it('finds the report when it is split over many chunks', () => {
    const got: string[] = [];
    const x = createUsageExtractor('n0nce', (t) => got.push(t));
    const text = 'before\n' + line('n0nce');
    for (const ch of text) x.push(ch);
    x.end();
    assert.equal(got.join(''), 'before\n');
    assert.equal(x.report()?.memoryPeakBytes, 1024);
  });

  it('does not hold back ordinary text ending in a newline', () => {
    const got: string[] = [];
    const x = createUsageExtractor('abc', (t) => got.push(t));
    x.push('err1\n');
    assert.equal(got.join(''), 'err1\n');
  });

  it('ignores a forged report with the wrong nonce', () => {
    const got: string[] = [];
    const x = createUsageExtractor('right', (t) => got.push(t));
    x.push(line('wrong'));
    x.end();
    assert.equal(x.report(), null);
    assert.equal(got.join(''), line('wrong'));
  });

  it('takes only the first report: a second one with the same token passes through as text', () => {
    const got: string[] = [];
    const x = createUsageExtractor('tok', (t) => got.push(t));
    const second = '__CRONIUM_USAGE_tok__ {"exitCode":0,"cpuNs":1,"memoryPeakBytes":1,"oomKills":9}\n';
    x.push(line('tok'));
    x.push(second.slice(0, 10));
    x.push(second.slice(10) + 'tail');
    x.end();
    assert.deepEqual(x.report(), { exitCode: 3, cpuNs: 2500000, memoryPeakBytes: 1024, oomKills: 0 });
    assert.equal(got.join(''), second + 'tail');
  });
});

describe('createEndMarkExtractor', () => {
  it('takes the end mark out of stdout, keeps a partial last line, and announces it', async () => {
    const got: string[] = [];
    const x = createEndMarkExtractor('abc', (t) => got.push(t));
    let seen = false;
    void x.seen.then(() => (seen = true));
    x.push('out 1\nno newline');
    x.push('__CRONIUM_EN');
    await Promise.resolve();
    assert.equal(seen, false);
    x.push('D_abc__\n');
    await Promise.resolve();
    assert.equal(seen, true);
    x.end();
    assert.equal(got.join(''), 'out 1\nno newline');
  });

  it('after the mark, passes everything through, another mark with the same token too', async () => {
    const got: string[] = [];
    const x = createEndMarkExtractor('abc', (t) => got.push(t));
    x.push('a\n__CRONIUM_END_abc__\nb\n');
    x.push('__CRONIUM_END_abc__\n');
    x.end();
    assert.equal(got.join(''), 'a\nb\n__CRONIUM_END_abc__\n');
  });

  it('passes a forged mark with another nonce through as output and does not announce it', async () => {
    const got: string[] = [];
    const x = createEndMarkExtractor('right', (t) => got.push(t));
    let seen = false;
    void x.seen.then(() => (seen = true));
    x.push('__CRONIUM_END_wrong__\n');
    x.end();
    await Promise.resolve();
    assert.equal(seen, false);
    assert.equal(got.join(''), '__CRONIUM_END_wrong__\n');
  });
});
