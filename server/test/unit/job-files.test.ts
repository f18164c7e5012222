import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFiles, pathProblem, tmpfsFor } from '../../src/files/job-files.js';

const limits = { maxFileBytes: 10, maxFilesBytes: 15 };
const f = (path: string, content = 'x', extra: Record<string, unknown> = {}) => ({ path, content, ...extra });

describe('input file paths (files/job-files.ts)', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /'\.\.'/],
    ['a/../../x', /'\.\.'/],
    ['a/..', /'\.\.'/],
    ['..', /'\.\.'/],
    ['a\0b', /NUL/],
    ['a\\b', /backslash/],
    ['..\\x', /backslash/],
    ['./a', /'\.' segments/],
    ['a/./b', /'\.' segments/],
    ['a//b', /empty segments/],
    ['a/', /empty segments/],
    ['a\nb', /control/],
    ['.cronium+job.json', /launcher/],
    ['main.sh', /script is written there/],
    ['x'.repeat(256), /at most 255/],
    [('a/'.repeat(2100) + 'b'), /at most 4096/],
  ];
  for (const [p, why] of bad) {
    it(`refuses ${JSON.stringify(p.length > 40 ? p.slice(0, 40) + '…' : p)}`, () => {
      assert.match(pathProblem(p, ['main.sh']) ?? 'accepted', why);
      const r = checkFiles([f(p)], 'main.sh', limits);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.status, 400);
        assert.equal(r.field, 'files.0.path');
        assert.match(r.message, /^files\.0\.path: /);
      }
    });
  }

  const good = ['a', 'data/orders.csv', 'out/seed.txt', '.hidden', 'a..b', 'sub/main.sh', 'é/ü.txt', '...', 'x'.repeat(255)];
  for (const p of good) it(`accepts ${JSON.stringify(p.length > 40 ? p.slice(0, 40) + '…' : p)}`, () => assert.equal(pathProblem(p, ['main.sh']), null));

  it('refuses the same file twice, naming the second', () => {
    const r = checkFiles([f('a/b'), f('c'), f('a/b')], 'main.sh', limits);
    assert.deepEqual(r.ok ? null : [r.status, r.field], [400, 'files.2.path']);
    assert.match(r.ok ? '' : r.message, /"a\/b" names the same file twice/);
  });

  it('refuses a file that is another file’s directory, in either order', () => {
    const r1 = checkFiles([f('a'), f('a/b')], 'main.sh', limits);
    assert.match(r1.ok ? '' : r1.message, /files\.1\.path: "a\/b" would be under the file "a"/);
    const r2 = checkFiles([f('a/b'), f('a')], 'main.sh', limits);
    assert.match(r2.ok ? '' : r2.message, /files\.1\.path: "a" is also the directory of another file/);
  });

  it('decodes utf8 and base64 content and takes the mode', () => {
    const r = checkFiles([f('t.txt', 'é'), f('b.bin', 'AAH/', { encoding: 'base64', mode: '0755' })], 'main.sh', limits);
    assert.ok(r.ok);
    assert.deepEqual(r.files.map((x) => [x.path, x.mode.toString(8), [...x.bytes]]), [['t.txt', '644', [0xc3, 0xa9]], ['b.bin', '755', [0, 1, 255]]]);
    assert.deepEqual(r.dirs, []);
    assert.equal(r.totalBytes, 5);
  });

  it('refuses base64 that is not, naming the content', () => {
    const r = checkFiles([f('b', 'no!', { encoding: 'base64' })], 'main.sh', limits);
    assert.deepEqual(r.ok ? null : [r.status, r.field], [400, 'files.0.content']);
  });

  it('refuses a file beyond the per-file limit and files beyond the total with 413', () => {
    const big = checkFiles([f('a', 'x'.repeat(11))], 'main.sh', limits);
    assert.deepEqual(big.ok ? null : [big.status, big.field], [413, 'files.0.content']);
    const total = checkFiles([f('a', 'x'.repeat(10)), f('b', 'x'.repeat(6))], 'main.sh', limits);
    assert.deepEqual(total.ok ? null : [total.status, total.field], [413, 'files']);
  });

  it('lists each directory once, parents first', () => {
    const r = checkFiles([f('z/y/x'), f('a/b'), f('z/q')], 'main.sh', limits);
    assert.deepEqual(r.ok ? r.dirs : null, ['a', 'z', 'z/y']);
  });

  it('grows the tmpfs by the files, within the maximum', () => {
    assert.equal(tmpfsFor(50 * 1024 * 1024, 64, 1024), 114);
    assert.equal(tmpfsFor(1, 64, 1024), 64, 'small files keep the pooled sandboxes’ size');
    assert.equal(tmpfsFor(16 * 1024 * 1024, 64, 1024), 64);
    assert.equal(tmpfsFor(16 * 1024 * 1024 + 1, 64, 1024), 81);
    assert.equal(tmpfsFor(2000 * 1024 * 1024, 64, 1024), null);
  });
});
