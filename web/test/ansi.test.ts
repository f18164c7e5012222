import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_BACKGROUND, PALETTE, contrast, parseAnsi, readable, segmentStyle, stripAnsi } from '../app/lib/ansi';

const ESC = '\x1b';
const texts = (s: string) => parseAnsi(s).map((seg) => seg.text);

describe('parseAnsi', () => {
  it('turns SGR colours into segments and never leaves a sequence in the text', () => {
    const segs = parseAnsi(`${ESC}[32mok${ESC}[0m done ${ESC}[1;31mFAIL${ESC}[m`);
    assert.deepEqual(
      segs.map((s) => [s.text, s.state.fg, s.state.bold]),
      [
        ['ok', { kind: 'index', n: 2 }, false],
        [' done ', null, false],
        ['FAIL', { kind: 'index', n: 1 }, true],
      ],
    );
    assert.doesNotMatch(segs.map((s) => s.text).join(''), /\[\d*m/);
  });

  const cases: [string, string, string][] = [
    ['bright colours', `${ESC}[92mgreen`, 'green'],
    ['256 colours', `${ESC}[38;5;196mred`, 'red'],
    ['true colour', `${ESC}[38;2;10;200;30mrgb`, 'rgb'],
    ['colon sub-parameters', `${ESC}[38:2::10:200:30mrgb`, 'rgb'],
    ['cursor movement and erase', `${ESC}[2K${ESC}[1Gprogress`, 'progress'],
    ['a window title (OSC, BEL)', `${ESC}]0;title\x07text`, 'text'],
    ['a hyperlink (OSC 8, ST)', `${ESC}]8;;https://example.com${ESC}\\link${ESC}]8;;${ESC}\\`, 'link'],
    ['charset selection', `${ESC}(Btext`, 'text'],
    ['a lone ESC at the end', `text${ESC}`, 'text'],
    ['an unfinished CSI', `text${ESC}[31`, 'text31'],
    ['other control characters', 'a\x07b\x00c\x08d', 'abcd'],
    ['tabs are kept', 'a\tb', 'a\tb'],
    ['a carriage return starts over (a progress bar)', '10%\r50%\r100%', '100%'],
    ['a trailing carriage return erases nothing', 'line\r', 'line'],
    ['the 8-bit CSI', '\x9b31mred', 'red'],
  ];
  for (const [name, input, plain] of cases) {
    it(name, () => assert.equal(stripAnsi(input), plain));
  }

  it('keeps markup as text: nothing here becomes HTML', () => {
    const evil = `${ESC}[31m<img src=x onerror=alert(1)>${ESC}[0m<script>`;
    assert.deepEqual(texts(evil), ['<img src=x onerror=alert(1)>', '<script>']);
  });

  it('ignores malformed colour numbers instead of using them', () => {
    const [seg] = parseAnsi(`${ESC}[38;2;999;0;0mx`);
    assert.equal(seg!.state.fg, null);
    const [seg2] = parseAnsi(`${ESC}[38;5;300mx`);
    assert.equal(seg2!.state.fg, null);
  });

  it('resets by parts: 39 the colour, 22 the weight, 0 everything', () => {
    const segs = parseAnsi(`${ESC}[1;33ma${ESC}[39mb${ESC}[22mc${ESC}[4md${ESC}[0me`);
    assert.deepEqual(
      segs.map((s) => [s.text, s.state.fg?.kind ?? null, s.state.bold, s.state.underline]),
      [
        ['a', 'index', true, false],
        ['b', null, true, false],
        ['c', null, false, false],
        ['d', null, false, true],
        ['e', null, false, false],
      ],
    );
  });

  it('joins text around sequences that change nothing', () => {
    assert.deepEqual(texts(`a${ESC}[0mb${ESC}[Kc`), ['abc']);
  });
});

describe('segmentStyle', () => {
  it('gives plain text no style', () => {
    assert.deepEqual(segmentStyle(parseAnsi('x')[0]!.state), {});
  });
  it('builds colours only from numbers: hex strings', () => {
    const style = segmentStyle(parseAnsi(`${ESC}[1;3;4;38;2;1;2;3;48;5;17mx`)[0]!.state);
    assert.match(style.color!, /^#[0-9a-f]{6}$/);
    assert.match(style.backgroundColor!, /^#[0-9a-f]{6}$/);
    assert.equal(style.fontWeight, 700);
    assert.equal(style.fontStyle, 'italic');
    assert.equal(style.textDecoration, 'underline');
  });
  it('keeps every colour readable (4.5:1) on what is behind it', () => {
    for (let n = 0; n < 256; n++) {
      const fg = segmentStyle(parseAnsi(`${ESC}[38;5;${n}mx`)[0]!.state);
      assert.ok(contrast(fg.color!, LOG_BACKGROUND) >= 4.5, `colour ${n}: ${fg.color}`);
      const bg = segmentStyle(parseAnsi(`${ESC}[48;5;${n}mx`)[0]!.state);
      assert.ok(contrast(bg.color!, bg.backgroundColor!) >= 4.5, `background ${n}: ${bg.color} on ${bg.backgroundColor}`);
    }
    const dim = segmentStyle(parseAnsi(`${ESC}[2;30mx`)[0]!.state);
    assert.ok(contrast(dim.color!, LOG_BACKGROUND) >= 4.5);
    const inverse = segmentStyle(parseAnsi(`${ESC}[7mx`)[0]!.state);
    assert.ok(contrast(inverse.color!, inverse.backgroundColor!) >= 4.5);
  });
  it('the basic palette is readable as it is', () => {
    for (const c of PALETTE) assert.ok(contrast(c, LOG_BACKGROUND) >= 4.5, c);
  });
  it('readable() leaves a readable colour alone and moves a dark one towards white', () => {
    assert.equal(readable('#ffffff', LOG_BACKGROUND), '#ffffff');
    const c = readable('#000080', LOG_BACKGROUND);
    assert.notEqual(c, '#000080');
    assert.ok(contrast(c, LOG_BACKGROUND) >= 4.5);
  });
});
