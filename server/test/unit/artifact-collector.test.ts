import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { collectArtifacts } from '../../src/files/artifact-collector.js';
import type { FileStore } from '../../src/files/store.js';

/** A store in memory, or one whose put fails. */
function memoryStore(fail = false) {
  const files = new Map<string, Buffer>();
  const store: FileStore = {
    async put(key, body) {
      const parts: Buffer[] = [];
      for await (const c of body) {
        if (fail) throw new Error('disk full');
        parts.push(Buffer.from(c));
      }
      const b = Buffer.concat(parts);
      files.set(key, b);
      return { size: b.length, sha256: crypto.createHash('sha256').update(b).digest('hex') };
    },
    async get(key) {
      const b = files.get(key);
      return b ? Readable.from([b]) : null;
    },
    async deletePrefix() {},
  };
  return { store, files };
}

function collector(limits: { maxFileBytes: number; maxTotalBytes: number }, fail = false) {
  const { store, files } = memoryStore(fail);
  const lines: string[] = [];
  const flow = { paused: 0, resumed: 0, pause() { this.paused++; }, resume() { this.resumed++; } };
  const c = collectArtifacts({ executionId: 'e1', store, limits, flow, log: (l) => lines.push(l), expiresAt: new Date(0) });
  const send = (name: string, bytes: Buffer, claimed = bytes.length) => {
    const e = c.sink.file(name, claimed);
    for (let i = 0; i < bytes.length; i += 1000) e.write(bytes.subarray(i, i + 1000));
    e.end();
  };
  return { ...c, files, lines, flow, send };
}

describe('artifact collector', () => {
  it('stores each file under a key of its own, with its measured size and hash, and the rows to record', async () => {
    const c = collector({ maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20 });
    c.send('a.txt', Buffer.from('hello'));
    c.send('b/c.bin', Buffer.alloc(3000, 7));
    c.sink.done(true);
    const got = await c.settle();
    assert.equal(got.seen, true);
    assert.equal(got.truncated, false);
    assert.deepEqual(
      got.rows.map((r) => [r.name, r.key, r.size, r.contentType]),
      [
        ['a.txt', 'e1/out/0', 5, 'text/plain; charset=utf-8'],
        ['b/c.bin', 'e1/out/1', 3000, 'application/octet-stream'],
      ],
    );
    assert.equal(got.rows[0]!.sha256, crypto.createHash('sha256').update('hello').digest('hex'));
    assert.deepEqual(c.lines, []);
  });

  it('cuts a file at the per-file limit, the one that crosses the total, and keeps none after it', async () => {
    const c = collector({ maxFileBytes: 4000, maxTotalBytes: 6000 });
    c.send('big', Buffer.alloc(5000));
    c.send('second', Buffer.alloc(3000));
    c.send('third', Buffer.alloc(10));
    c.sink.done(true);
    const got = await c.settle();
    assert.deepEqual(got.rows.map((r) => [r.name, r.size]), [['big', 4000], ['second', 2000]]);
    assert.equal(got.truncated, true);
    assert.match(c.lines[0]!, /out\/big cut at .* CRONIUM_MAX_ARTIFACT_BYTES/);
    assert.match(c.lines[1]!, /out\/second cut at .* CRONIUM_MAX_ARTIFACTS_BYTES/);
    assert.match(c.lines[2]!, /out\/third not kept: .*CRONIUM_MAX_ARTIFACTS_BYTES/);
  });

  it('a file the stream cut short, and a block that never ended, say so', async () => {
    const c = collector({ maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20 });
    c.send('half', Buffer.alloc(100), 400);
    c.sink.done(false);
    const got = await c.settle();
    assert.equal(got.truncated, true);
    assert.equal(got.rows[0]!.size, 100);
    assert.match(c.lines.join('\n'), /out\/half cut short .* the sandbox ended while it was collected/);
  });

  it('names made equal by the download rewrite get a suffix; skipped entries are logged, then summed up', async () => {
    const c = collector({ maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20 });
    c.send('r.txt', Buffer.from('1'));
    c.send('r.txt', Buffer.from('2'));
    c.send('r.txt', Buffer.from('3'));
    for (let i = 0; i < 60; i++) c.sink.skipped(`l${i}`, 'a symbolic link (never followed)');
    c.sink.done(true);
    const got = await c.settle();
    assert.deepEqual(got.rows.map((r) => r.name), ['r.txt', 'r~2.txt', 'r~3.txt']);
    assert.equal(c.lines.filter((l) => /not collected/.test(l)).length, 51);
    assert.match(c.lines.at(-1)!, /10 more entries under out\/ not collected/);
  });

  it('pauses the sandbox output while the store is behind, and never leaves it paused when the store fails', async () => {
    const slow = collector({ maxFileBytes: 64 << 20, maxTotalBytes: 64 << 20 });
    const e = slow.sink.file('x', 16 << 20);
    for (let i = 0; i < 16; i++) e.write(Buffer.alloc(1 << 20));
    e.end();
    assert.ok(slow.flow.paused > 0, 'paused once more than the queue was waiting');
    slow.sink.done(true);
    assert.equal((await slow.settle()).rows[0]!.size, 16 << 20);
    assert.ok(slow.flow.resumed > 0);

    const broken = collector({ maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20 }, true);
    broken.send('x', Buffer.alloc(5000));
    broken.sink.done(true);
    const got = await broken.settle();
    assert.deepEqual(got.rows, []);
    assert.equal(got.truncated, true);
    assert.match(broken.lines.join('\n'), /out\/x could not be stored: disk full/);
    assert.ok(broken.flow.resumed > 0);
  });

  it('a block never seen: nothing, and not truncated', async () => {
    const c = collector({ maxFileBytes: 1, maxTotalBytes: 1 });
    assert.deepEqual(await c.settle(), { rows: [], truncated: false, seen: false });
  });
});
