import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterLines, findMatches, linesToText, mergeLogs, parseLogEvent, toLines, toLogEntry } from '../app/lib/logs';
import type { LogEntry } from '../app/lib/types';

const e = (seq: number, text: string, extra: Partial<LogEntry> = {}): LogEntry => ({ seq, ts: `2026-01-01T00:00:0${seq % 10}.000Z`, stream: 'stdout', text, ...extra });

describe('log entries', () => {
  it('merges the loader’s and the stream’s entries, one per seq, in order', () => {
    assert.deepEqual(
      mergeLogs([e(0, 'a'), e(2, 'c')], [e(1, 'b'), e(2, 'c again')]).map((x) => x.text),
      ['a', 'b', 'c'],
    );
  });
  it('reads entries as the API sends them, keeping escaped and continued', () => {
    assert.deepEqual(toLogEntry({ seq: 1, ts: 't', stream: 'stderr', text: 'x', escaped: true, continued: true, other: 1 }), {
      seq: 1,
      ts: 't',
      stream: 'stderr',
      text: 'x',
      escaped: true,
      continued: true,
    });
    assert.deepEqual(toLogEntry({ seq: 1, ts: 't', stream: 'weird', text: 'x', escaped: 'yes' }), { seq: 1, ts: 't', stream: 'stdout', text: 'x' });
    assert.equal(toLogEntry({ seq: '1', text: 'x' }), null);
    assert.equal(parseLogEvent('not json'), null);
    assert.equal(parseLogEvent('{"seq":3,"ts":"t","stream":"system","text":"hi"}')?.stream, 'system');
  });
});

describe('toLines', () => {
  it('joins a continued entry to the line before it, with the colour running across the cut', () => {
    const lines = toLines([e(0, '\x1b[31mred start'), e(1, ' red end\x1b[0m', { continued: true }), e(2, 'next')]);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0]!.parts, [{ text: '\x1b[31mred start red end\x1b[0m', escaped: false }]);
    assert.equal(lines[0]!.plain, 'red start red end');
    assert.equal(lines[0]!.seq, 0);
  });
  it('does not join across streams, nor a continuation with nothing before it', () => {
    const lines = toLines([e(0, 'out'), e(1, 'err', { stream: 'stderr', continued: true }), e(2, 'x', { continued: true, stream: 'stderr' })]);
    assert.deepEqual(
      lines.map((l) => l.plain),
      ['out', 'errx'],
    );
    assert.equal(toLines([e(5, 'orphan', { continued: true })])[0]!.plain, 'orphan');
  });
  it('shows escaped text as it is: its \\x1b is not a colour, while a real escape sequence in it still is', () => {
    const [line] = toLines([e(0, 'bytes \\x1b[31m \\xff', { escaped: true })]);
    assert.deepEqual(line!.parts, [{ text: 'bytes \\x1b[31m \\xff', escaped: true }]);
    assert.equal(line!.plain, 'bytes \\x1b[31m \\xff');
    const [coloured] = toLines([e(0, '\x1b[32mok\x1b[0m nul\\x00byte', { escaped: true })]);
    assert.equal(coloured!.plain, 'ok nul\\x00byte');
  });
  it('keeps escaped and text parts of one line apart', () => {
    const [line] = toLines([e(0, 'a'), e(1, '\\xff', { escaped: true, continued: true }), e(2, 'b', { continued: true })]);
    assert.deepEqual(
      line!.parts.map((p) => p.escaped),
      [false, true, false],
    );
    assert.equal(line!.plain, 'a\\xffb');
  });
});

describe('search, filter, text', () => {
  const lines = toLines([e(0, 'Hello World'), e(1, 'an error', { stream: 'stderr' }), e(2, '[cronium] note', { stream: 'system' }), e(3, '\x1b[1mhello\x1b[0m again')]);
  it('filters by stream and by text, case-insensitively, in the text as read (no colour codes)', () => {
    assert.deepEqual(
      filterLines(lines, { streams: new Set(['stdout', 'stderr', 'system']), query: 'HELLO' }).map((l) => l.seq),
      [0, 3],
    );
    assert.deepEqual(
      filterLines(lines, { streams: new Set(['stderr', 'system']), query: '' }).map((l) => l.seq),
      [1, 2],
    );
    assert.deepEqual(filterLines(lines, { streams: new Set(['stdout']), query: '1m' }), [], 'escape codes are not searched');
  });
  it('finds every match', () => {
    assert.deepEqual(findMatches('abcABCabc', 'bc'), [
      [1, 3],
      [4, 6],
      [7, 9],
    ]);
    assert.deepEqual(findMatches('aaaa', 'aa'), [
      [0, 2],
      [2, 4],
    ]);
    assert.deepEqual(findMatches('abc', '  '), []);
  });
  it('copies without times and downloads with them', () => {
    assert.equal(linesToText(lines, { timestamps: false }), 'Hello World\nan error\n[cronium] note\nhello again\n');
    assert.equal(linesToText(lines.slice(1, 2), { timestamps: true }), '2026-01-01T00:00:01.000Z stderr an error\n');
    assert.equal(linesToText([], { timestamps: true }), '');
  });
});
