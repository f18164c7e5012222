import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseByteRange } from '../../src/files/byte-range.js';
import { contentDisposition } from '../../src/files/artifact-routes.js';
import { contentTypeOf } from '../../src/files/artifact-collector.js';

it('Range headers against a file of 1000 bytes (and of 0)', () => {
  const cases: [string | undefined, number, ReturnType<typeof parseByteRange>][] = [
    [undefined, 1000, null],
    ['', 1000, null],
    ['items=0-1', 1000, null],
    ['bytes=0-99', 1000, { start: 0, end: 99 }],
    ['bytes=990-', 1000, { start: 990, end: 999 }],
    ['bytes=990-5000', 1000, { start: 990, end: 999 }],
    ['bytes=-10', 1000, { start: 990, end: 999 }],
    ['bytes=-5000', 1000, { start: 0, end: 999 }],
    [' Bytes = 5-5', 1000, { start: 5, end: 5 }],
    ['bytes=0-1,5-6', 1000, null],
    ['bytes=1000-', 1000, 'unsatisfiable'],
    ['bytes=5-4', 1000, 'unsatisfiable'],
    ['bytes=-0', 1000, 'unsatisfiable'],
    ['bytes=-', 1000, 'unsatisfiable'],
    ['bytes=abc', 1000, 'unsatisfiable'],
    ['bytes=', 1000, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-1', 0, 'unsatisfiable'],
  ];
  for (const [h, size, want] of cases) assert.deepEqual(parseByteRange(h, size), want, `${JSON.stringify(h)} of ${size}`);
});

it('Content-Disposition: the last segment, an ASCII fallback without quotes or backslashes, the UTF-8 name encoded', () => {
  assert.equal(contentDisposition('sub/report.txt', false), `attachment; filename="report.txt"; filename*=UTF-8''report.txt`);
  assert.equal(contentDisposition('é "x".csv', true), `inline; filename="_ _x_.csv"; filename*=UTF-8''%C3%A9%20%22x%22.csv`);
  assert.equal(contentDisposition("a'b(c)*.txt", false), `attachment; filename="a'b(c)*.txt"; filename*=UTF-8''a%27b%28c%29%2A.txt`);
});

it('content types come from the name alone', () => {
  assert.equal(contentTypeOf('a/B.CSV'), 'text/csv; charset=utf-8');
  assert.equal(contentTypeOf('x.json'), 'application/json');
  assert.equal(contentTypeOf('page.html'), 'text/html; charset=utf-8');
  assert.equal(contentTypeOf('noext'), 'application/octet-stream');
  assert.equal(contentTypeOf('.bashrc'), 'application/octet-stream');
});
