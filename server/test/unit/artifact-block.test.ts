import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createArtifactReader, safeArtifactName } from '../../src/sandbox/launcher/artifact-block.js';

/** A tar made the way the launcher makes it (GNU tar, 512-byte records, a NUL-separated list of regular files). */
function launcherTar(files: Record<string, Buffer>): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'art-'));
  for (const [name, b] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), b);
  }
  const tar = execFileSync('tar', ['-c', '-f', '-', '-b', '1', '-C', dir, '--null', '--verbatim-files-from', '--no-recursion', '-T', '-'], {
    input: Object.keys(files).map((n) => n + '\0').join(''),
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return tar;
}

function read(stream: Buffer, token: string, chunk: (i: number) => number) {
  const files = new Map<string, Buffer[]>();
  const skipped: string[] = [];
  let complete: boolean | null = null;
  const r = createArtifactReader(token, {
    skipped: (p, why) => skipped.push(`${p}: ${why}`),
    file: (name) => {
      const parts: Buffer[] = [];
      files.set(name, parts);
      return { write: (b) => parts.push(Buffer.from(b)), end: () => undefined };
    },
    done: (c) => (complete = c),
  });
  const passed: Buffer[] = [];
  for (let i = 0, k = 0; i < stream.length; k++) {
    const n = Math.max(1, chunk(k));
    passed.push(r.push(stream.subarray(i, i + n)));
    i += n;
  }
  passed.push(r.end());
  return { files: new Map([...files].map(([k, v]) => [k, Buffer.concat(v)])), skipped, complete, text: Buffer.concat(passed).toString('latin1') };
}

describe('the launcher artifacts block (sandbox/launcher/artifact-block.ts)', () => {
  const long = `deep/${'d'.repeat(120)}/${'n'.repeat(90)}.txt`;
  const content = { 'report.csv': Buffer.from('a,b\n1,2\n'), 'sub/bin.dat': Buffer.from([0, 1, 2, 255, 0]), [long]: Buffer.from('long'), 'é.txt': Buffer.alloc(0), 'big.bin': Buffer.alloc(1_000_003, 7) };
  const tar = launcherTar(content);
  const block = (token: string) =>
    Buffer.concat([Buffer.from(`__CRONIUM_ARTIFACTS_${token}__\n`), Buffer.from('l1 shadow\0p1 fifo\0f2 hard\0'), Buffer.from([0]), tar]);
  const stream = Buffer.concat([Buffer.from('job output __CRONIUM_ARTIFACTS_forged__\nmore\n'), block('tok1'), Buffer.from('__CRONIUM_END_e__\n')]);

  for (const [label, chunk] of [
    ['in one piece', () => stream.length],
    ['a byte at a time', () => 1],
    ['in odd pieces', (k: number) => [7, 511, 513, 4096, 3][k % 5]!],
  ] as const) {
    it(`takes the regular files and the skip list, and passes the rest on (${label})`, () => {
      const got = read(stream, 'tok1', chunk);
      assert.equal(got.text, 'job output __CRONIUM_ARTIFACTS_forged__\nmore\n__CRONIUM_END_e__\n');
      assert.equal(got.complete, true);
      assert.deepEqual([...got.files.keys()].sort(), Object.keys(content).sort());
      for (const [k, v] of Object.entries(content)) assert.ok(got.files.get(k)!.equals(v), k);
      assert.deepEqual(got.skipped, ['shadow: a symbolic link (never followed)', 'fifo: a FIFO', 'hard: a hard link (more than one name for the file)']);
    });
  }

  it('a block cut short keeps what arrived and says it is incomplete', () => {
    const cut = block('t').subarray(0, 2000);
    const got = read(cut, 't', () => 100);
    assert.equal(got.complete, false);
    assert.equal(got.text, '');
  });

  it('without its mark, everything is output (a job cannot start a block without the token)', () => {
    const got = read(Buffer.concat([block('other'), Buffer.from('x')]), 'tok1', () => 64);
    assert.equal(got.complete, null);
    assert.equal(got.files.size, 0);
    assert.equal(got.text.length, block('other').length + 1);
  });

  it('makes names safe to download', () => {
    assert.equal(safeArtifactName('../../etc/passwd'), 'etc/passwd');
    assert.equal(safeArtifactName('a\\b\nc'), 'a_b_c');
    assert.equal(safeArtifactName('/./'), 'artifact');
    assert.equal(safeArtifactName('ok/name.txt'), 'ok/name.txt');
  });
});
