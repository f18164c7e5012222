import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGE_PREVIEW_BYTES, artifactHref, artifactNameFromPath, artifactsZipHref, previewKind } from '../app/lib/artifacts';
import { parseCsv } from '../app/lib/csv';

describe('artifact links and previews', () => {
  it('encodes a name once, a "/" as %2F, and reads it back exactly', () => {
    const id = '11111111-2222-3333-4444-555555555555';
    for (const name of ['report.csv', 'sub/dir/a b.txt', 'a%2Fb', '100%.txt', 'ümlaut?#.json']) {
      const href = artifactHref(id, name);
      assert.equal(href.split('/').length, 5, `${href}: one path segment for the name`);
      assert.equal(artifactNameFromPath(new URL(href, 'http://x').pathname), name);
    }
    assert.equal(artifactHref(id, 'a/b.png', { inline: true }), `/executions/${id}/artifacts/a%2Fb.png?inline=1`);
    assert.equal(artifactsZipHref(id), `/executions/${id}/artifacts.zip`);
    assert.equal(artifactNameFromPath(`/executions/${id}/artifacts/%E0%A4%A`), null, 'not decodable');
    assert.equal(artifactNameFromPath('/elsewhere/x'), null);
  });

  it('previews text, CSV, JSON and small images; never HTML or SVG', () => {
    assert.equal(previewKind('text/csv; charset=utf-8', 10), 'csv');
    assert.equal(previewKind('text/tab-separated-values', 10), 'tsv');
    assert.equal(previewKind('application/json', 10), 'json');
    assert.equal(previewKind('text/plain; charset=utf-8', 10 ** 9), 'text', 'text of any size: its start');
    assert.equal(previewKind('image/png', IMAGE_PREVIEW_BYTES), 'image');
    assert.equal(previewKind('image/png', IMAGE_PREVIEW_BYTES + 1), null);
    for (const t of ['text/html', 'image/svg+xml', 'application/octet-stream', 'application/zip']) assert.equal(previewKind(t, 10), null, t);
  });
});

describe('parseCsv', () => {
  it('reads quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF', () => {
    assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"two\nlines",3\n').rows, [
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\nlines', '3'],
    ]);
    assert.deepEqual(parseCsv('a,b\n1,2').rows, [['a', 'b'], ['1', '2']], 'no final line break');
    assert.deepEqual(parseCsv('a\tb\n1\t2\n', { delimiter: '\t' }).rows, [['a', 'b'], ['1', '2']]);
    assert.deepEqual(parseCsv('a,,\n').rows, [['a', '', '']]);
  });

  it('stops at maxRows and says there is more; leaves out the partial last row of a cut text', () => {
    const text = Array.from({ length: 10 }, (_, i) => `${i},x`).join('\n');
    const r = parseCsv(text, { maxRows: 3 });
    assert.equal(r.rows.length, 3);
    assert.equal(r.more, true);
    const cut = parseCsv('a,b\n1,2\n3,"unfinish', { complete: false });
    assert.deepEqual(cut.rows, [['a', 'b'], ['1', '2']]);
    assert.equal(cut.more, true);
    assert.equal(parseCsv('a,b\n', { complete: true }).more, false);
  });
});
