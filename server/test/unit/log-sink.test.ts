import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../src/executions/events.js';
import { LogSink } from '../../src/executions/log-sink.js';
import { unescapeLogText } from '../../src/executions/log-text.js';
import { Masker } from '../../src/executions/masking.js';

/** A Masker that records the longest text it was asked to look at, and whether it was asked at all. */
class SpyMasker extends Masker {
  longest = 0;
  calls = 0;
  override mask(text: string): string {
    this.calls++;
    this.longest = Math.max(this.longest, text.length);
    return super.mask(text);
  }
  override unsafeTail(text: string): number {
    this.calls++;
    this.longest = Math.max(this.longest, text.length);
    return super.unsafeTail(text);
  }
}

function sink(opts: { secrets?: string[]; maxBytes?: number; maxLineBytes?: number } = {}) {
  const stored: LogEntry[] = [];
  const published: LogEntry[] = [];
  let truncated = false;
  const masker = new SpyMasker(opts.secrets ?? []);
  const s = new LogSink({
    maxBytes: opts.maxBytes ?? 10_000_000,
    maxLineBytes: opts.maxLineBytes ?? 64,
    masker,
    persist: async (e) => void stored.push(...e),
    publish: (e) => published.push(...e),
    onTruncated: () => (truncated = true),
    partialLineMs: 20,
    flushMs: 5,
  });
  return { s, stored, published, masker, truncated: () => truncated };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a client rebuilds from the entries of one stream: the bytes the script wrote, lines joined by newlines. */
function rebuild(entries: LogEntry[], stream: 'stdout' | 'stderr' = 'stdout'): Buffer {
  const parts: Buffer[] = [];
  let first = true;
  for (const e of entries.filter((x) => x.stream === stream)) {
    if (!e.continued && !first) parts.push(Buffer.from('\n'));
    parts.push(unescapeLogText(e.text, e.escaped));
    first = false;
  }
  return Buffer.concat(parts);
}

describe('LogSink: lines', () => {
  it('stores one entry per line, none of them continued or escaped', async () => {
    const { s, stored } = sink();
    s.write('stdout', 'one\ntwo\n\nfour\n');
    await s.close();
    assert.deepEqual(
      stored.map((e) => [e.text, e.continued, e.escaped]),
      [
        ['one', false, false],
        ['two', false, false],
        ['', false, false],
        ['four', false, false],
      ],
    );
  });

  it('cuts a line longer than the maximum into entries of at most the maximum, the rest marked as continuations', async () => {
    const { s, stored } = sink({ maxLineBytes: 64 });
    const line = 'x'.repeat(64 * 5 + 10);
    for (let i = 0; i < line.length; i += 7) s.write('stdout', line.slice(i, i + 7));
    s.write('stdout', '\nnext\n');
    await s.close();
    const out = stored.filter((e) => e.stream === 'stdout');
    assert.deepEqual(
      out.map((e) => [e.text.length, e.continued]),
      [
        [64, false],
        [64, true],
        [64, true],
        [64, true],
        [64, true],
        [10, true],
        [4, false],
      ],
    );
    assert.equal(rebuild(out).toString(), `${line}\nnext`);
  });

  it('counts the maximum in bytes and never cuts a character in two', async () => {
    const { s, stored } = sink({ maxLineBytes: 64 });
    const line = 'é😀€a'.repeat(40);
    s.write('stdout', `${line}\n`);
    await s.close();
    for (const e of stored) {
      assert.ok(Buffer.byteLength(e.text) <= 64, `${Buffer.byteLength(e.text)} bytes`);
      assert.ok((e.text as unknown as { isWellFormed(): boolean }).isWellFormed(), 'a surrogate pair was split');
    }
    assert.equal(rebuild(stored).toString(), line);
  });

  it('lets a long line out while it is written, looking at no more than about one entry at a time', async () => {
    const { s, published, masker } = sink({ secrets: ['hunter2'], maxLineBytes: 1024 });
    const chunk = 'y'.repeat(4096);
    for (let i = 0; i < 256; i++) s.write('stdout', chunk); // 1 MiB, no newline
    await sleep(30);
    assert.ok(published.length >= 1000, `only ${published.length} entries out while the line was written`);
    assert.ok(masker.longest <= 1024 + 4096, `the masker was handed ${masker.longest} characters at once`);
    await s.close();
  });

  it('does not search the whole line again on every write (a newline-less stream of one-byte writes)', async () => {
    const { s, stored, masker } = sink({ maxLineBytes: 256 });
    for (let i = 0; i < 20_000; i++) s.write('stdout', 'z');
    await s.close();
    assert.equal(stored.reduce((n, e) => n + e.text.length, 0), 20_000);
    assert.ok(masker.longest <= 256 + 1, `the masker was handed ${masker.longest} characters at once`);
  });

  it('marks what follows a partial line let out after a pause as its continuation, and adds no empty line', async () => {
    const { s, published } = sink();
    s.write('stdout', 'progress...');
    await sleep(60);
    assert.deepEqual(published.map((e) => [e.text, e.continued]), [['progress...', false]]);
    s.write('stdout', ' done\n');
    s.write('stdout', 'fifty');
    await sleep(60);
    s.write('stdout', '\nafter\n');
    await s.close();
    assert.deepEqual(
      published.map((e) => [e.text, e.continued]),
      [
        ['progress...', false],
        [' done', true],
        ['fifty', false],
        ['after', false],
      ],
    );
  });

  it('keeps stdout and stderr lines apart', async () => {
    const { s, stored } = sink({ maxLineBytes: 64 });
    s.write('stdout', 'a'.repeat(100));
    s.write('stderr', 'err line\n');
    s.write('stdout', 'b\n');
    await s.close();
    assert.equal(rebuild(stored, 'stdout').toString(), `${'a'.repeat(100)}b`);
    assert.equal(rebuild(stored, 'stderr').toString(), 'err line');
  });
});

describe('LogSink: secrets across cuts', () => {
  it('masks a secret that a cut would split, wherever the cut falls', async () => {
    for (let offset = 50; offset < 70; offset++) {
      const { s, stored } = sink({ secrets: ['topsecret'], maxLineBytes: 64 });
      const text = `${'p'.repeat(offset)}topsecret${'q'.repeat(200)}`;
      for (let i = 0; i < text.length; i += 5) s.write('stdout', text.slice(i, i + 5));
      s.write('stdout', '\n');
      await s.close();
      const all = rebuild(stored).toString();
      assert.doesNotMatch(all, /topsecret|topsec|ecret/, `offset ${offset}: ${JSON.stringify(stored.map((e) => e.text))}`);
      assert.match(all, /\*\*\*/);
    }
  });

  it('masks a secret that ends where another could begin, across a pause', async () => {
    const { s, stored } = sink({ secrets: ['abcd', 'dxyz'] });
    s.write('stdout', 'k=abcd');
    await sleep(60);
    s.write('stdout', ' end\n');
    await s.close();
    assert.doesNotMatch(stored.map((e) => e.text).join('|'), /abcd|abc\||bcd/);
  });
});

describe('LogSink: the cap', () => {
  it('after the cap, drops output as it comes without looking at it, and says so once', async () => {
    const { s, stored, masker, truncated } = sink({ maxBytes: 2000, maxLineBytes: 100 });
    for (let i = 0; i < 400; i++) s.write('stdout', `line ${i}\n`);
    assert.ok(truncated());
    const callsAtCap = masker.calls;
    const big = 'w'.repeat(1 << 20);
    for (let i = 0; i < 64; i++) s.write('stdout', big);
    s.write('stdout', 'and a line\n');
    await sleep(40);
    assert.equal(masker.calls, callsAtCap, 'output after the cap was still looked at');
    s.system('[cronium] after the cap');
    await s.close();
    const system = stored.filter((e) => e.stream === 'system');
    assert.equal(system.filter((e) => /log truncated/.test(e.text)).length, 1);
    assert.equal(stored.at(-1)!.text, '[cronium] after the cap');
    assert.ok(stored.reduce((n, e) => n + Buffer.byteLength(e.text) + 1, 0) <= 2000 + 200);
  });
});

describe('LogSink: bytes the database cannot hold', () => {
  it('stores a line with NUL, escaped and flagged, and the lines around it as they are', async () => {
    const { s, stored } = sink();
    s.write('stdout', 'before\na\0b\nafter\n');
    await s.close();
    assert.deepEqual(
      stored.map((e) => [e.text, e.escaped]),
      [
        ['before', false],
        ['a\\x00b', true],
        ['after', false],
      ],
    );
    assert.deepEqual(unescapeLogText(stored[1]!.text, true), Buffer.from('a\0b'));
  });

  it('gives back escaped bytes (lone surrogates from the lossless decoder) and backslashes exactly', async () => {
    const { s, stored } = sink({ maxLineBytes: 8 });
    // \udcff and \udcfe stand for the bytes 0xff 0xfe that are not UTF-8.
    s.write('stdout', 'x\\y\udcff\udcfe\0 and some more\n');
    await s.close();
    assert.ok(stored.some((e) => e.escaped));
    assert.deepEqual(rebuild(stored), Buffer.concat([Buffer.from('x\\y'), Buffer.from([0xff, 0xfe, 0]), Buffer.from(' and some more')]));
    for (const e of stored) assert.ok(unescapeLogText(e.text, e.escaped).length <= 8);
  });
});
