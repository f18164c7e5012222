/**
 * ANSI escape sequences in log lines: SGR colours and attributes become styled segments, everything else
 * (cursor moves, titles, hyperlinks' control parts, stray control characters) is dropped. Pure: the output is
 * plain text plus styles built only from numbers, which React renders as text, so nothing a script prints can
 * become markup.
 */

export type AnsiColor = { kind: 'index'; n: number } | { kind: 'rgb'; r: number; g: number; b: number };

export interface AnsiState {
  fg: AnsiColor | null;
  bg: AnsiColor | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  strike: boolean;
  inverse: boolean;
}

export interface AnsiSegment {
  text: string;
  state: AnsiState;
}

const PLAIN: AnsiState = Object.freeze({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, strike: false, inverse: false });

/**
 * The 16 basic colours, chosen so that each is readable (contrast at least 4.5:1) on the log's dark background;
 * "black" is a grey for the same reason.
 */
export const PALETTE: readonly string[] = [
  '#8b949e', '#ff7b72', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#c9d1d9',
  '#9ea7b3', '#ffa198', '#56d364', '#e3b341', '#79c0ff', '#d2a8ff', '#56d4dd', '#f0f6fc',
];

/** Background colours for 40-47 and 100-107: the usual terminal tones (text on them is made readable). */
const BG_PALETTE: readonly string[] = [
  '#000000', '#b62324', '#1a7f37', '#9a6700', '#0550ae', '#8250df', '#1b7c83', '#d0d7de',
  '#57606a', '#da3633', '#2da44e', '#bf8700', '#218bff', '#a475f9', '#3192aa', '#ffffff',
];

/** The log's own colours (styles.css `.log`). */
export const LOG_BACKGROUND = '#0f1117';
export const LOG_TEXT = '#d6dae3';

// CSI (ESC [ or the 8-bit 0x9B) … final byte; OSC (ESC ]) … BEL or ESC \; other two- and three-byte ESC sequences.
// eslint-disable-next-line no-control-regex
const ESCAPE = /(?:\x1b\[|\x9b)([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?|\r|[\x00-\x08\x0b-\x1f\x7f]/g;

/** Splits a log line into styled segments; `\r` starts the line over (progress bars), as a terminal would. */
export function parseAnsi(text: string): AnsiSegment[] {
  let segments: AnsiSegment[] = [];
  let state: AnsiState = PLAIN;
  let last = 0;
  const emit = (t: string) => {
    if (!t) return;
    const prev = segments[segments.length - 1];
    if (prev && prev.state === state) prev.text += t;
    else segments.push({ text: t, state });
  };
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    emit(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === '\r') {
      // A trailing \r (a CRLF line end) erases nothing.
      if (last < text.length) segments = [];
    } else if (m[2] === 'm') {
      state = applySgr(state, m[1] ?? '');
    }
  }
  emit(text.slice(last));
  return segments;
}

/** The text without any escape sequence or control character (for search, copy and download). */
export function stripAnsi(text: string): string {
  return parseAnsi(text)
    .map((s) => s.text)
    .join('');
}

function byte(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,3}$/.test(v)) return null;
  const n = Number(v);
  return n <= 255 ? n : null;
}

/** 38;5;n / 38;2;r;g;b (and the colon forms 38:5:n, 38:2::r:g:b): the colour and how many parameters it used. */
function extendedColor(params: string[], i: number): { color: AnsiColor | null; used: number } {
  const head = params[i]!;
  if (head.includes(':')) {
    const sub = head.split(':');
    if (sub[1] === '5') {
      const n = byte(sub[2]);
      return { color: n === null ? null : { kind: 'index', n }, used: 1 };
    }
    if (sub[1] === '2') {
      // 38:2:<colour space>:r:g:b, the colour space often left empty, sometimes left out.
      const rgb = sub.length >= 6 ? sub.slice(3, 6) : sub.slice(2, 5);
      const [r, g, b] = rgb.map(byte);
      return { color: r == null || g == null || b == null ? null : { kind: 'rgb', r, g, b }, used: 1 };
    }
    return { color: null, used: 1 };
  }
  if (params[i + 1] === '5') {
    const n = byte(params[i + 2]);
    return { color: n === null ? null : { kind: 'index', n }, used: 3 };
  }
  if (params[i + 1] === '2') {
    const [r, g, b] = [params[i + 2], params[i + 3], params[i + 4]].map(byte);
    return { color: r == null || g == null || b == null ? null : { kind: 'rgb', r, g, b }, used: 5 };
  }
  return { color: null, used: params.length - i };
}

export function applySgr(from: AnsiState, paramText: string): AnsiState {
  const params = paramText === '' ? ['0'] : paramText.split(';');
  const s: AnsiState = { ...from };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const code = p === '' ? 0 : Number(p.split(':')[0]);
    if (code === 38 || code === 48) {
      const { color, used } = extendedColor(params, i);
      if (color) s[code === 38 ? 'fg' : 'bg'] = color;
      i += used - 1;
      continue;
    }
    if (code === 0) Object.assign(s, PLAIN);
    else if (code === 1) s.bold = true;
    else if (code === 2) s.dim = true;
    else if (code === 3) s.italic = true;
    else if (code === 4) s.underline = true;
    else if (code === 7) s.inverse = true;
    else if (code === 9) s.strike = true;
    else if (code === 21 || code === 22) Object.assign(s, { bold: false, dim: false });
    else if (code === 23) s.italic = false;
    else if (code === 24) s.underline = false;
    else if (code === 27) s.inverse = false;
    else if (code === 29) s.strike = false;
    else if (code >= 30 && code <= 37) s.fg = { kind: 'index', n: code - 30 };
    else if (code === 39) s.fg = null;
    else if (code >= 40 && code <= 47) s.bg = { kind: 'index', n: code - 40 };
    else if (code === 49) s.bg = null;
    else if (code >= 90 && code <= 97) s.fg = { kind: 'index', n: code - 90 + 8 };
    else if (code >= 100 && code <= 107) s.bg = { kind: 'index', n: code - 100 + 8 };
  }
  const same = (Object.keys(s) as (keyof AnsiState)[]).every((k) => JSON.stringify(s[k]) === JSON.stringify(from[k]));
  return same ? from : s;
}

type Rgb = [number, number, number];

function hexToRgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbToCss([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/** xterm's 256 colours: 16 basic, a 6×6×6 cube, 24 greys. */
function indexed(n: number, basic: readonly string[]): Rgb {
  if (n < 16) return hexToRgb(basic[n]!);
  if (n < 232) {
    const c = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return [level(Math.floor(c / 36)), level(Math.floor(c / 6) % 6), level(c % 6)];
  }
  const g = 8 + (n - 232) * 10;
  return [g, g, g];
}

function toRgb(c: AnsiColor, basic: readonly string[]): Rgb {
  return c.kind === 'rgb' ? [c.r, c.g, c.b] : indexed(c.n, basic);
}

function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(hexToRgb(a)), luminance(hexToRgb(b))].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** `fg`, moved towards white or black (away from `bg`) just enough to be readable on `bg`: 4.5:1 at least. */
export function readable(fg: string, bg: string, min = 4.5): string {
  if (contrast(fg, bg) >= min) return fg;
  const target: Rgb = luminance(hexToRgb(bg)) < 0.18 ? [255, 255, 255] : [0, 0, 0];
  for (let t = 0.1; t < 1; t += 0.1) {
    const c = rgbToCss(mix(hexToRgb(fg), target, t));
    if (contrast(c, bg) >= min) return c;
  }
  return rgbToCss(target);
}

export interface SegmentStyle {
  color?: string;
  backgroundColor?: string;
  fontWeight?: number;
  fontStyle?: 'italic';
  textDecoration?: string;
}

/**
 * The CSS of a segment on a line whose own text colour is `lineColor`: colours from the palette or from the
 * sequence's numbers, always readable on what is behind them.
 */
export function segmentStyle(state: AnsiState, lineColor = LOG_TEXT, background = LOG_BACKGROUND): SegmentStyle {
  const out: SegmentStyle = {};
  let fg = state.fg ? rgbToCss(toRgb(state.fg, PALETTE)) : null;
  let bg = state.bg ? rgbToCss(toRgb(state.bg, BG_PALETTE)) : null;
  if (state.inverse) [fg, bg] = [bg ?? background, fg ?? lineColor];
  if (state.dim && fg === null) fg = lineColor;
  if (state.dim && fg) fg = rgbToCss(mix(hexToRgb(fg), hexToRgb(bg ?? background), 0.3));
  if (fg !== null || bg !== null) {
    const behind = bg ?? background;
    out.color = readable(fg ?? lineColor, behind);
    if (bg !== null) out.backgroundColor = bg;
  }
  if (state.bold) out.fontWeight = 700;
  if (state.italic) out.fontStyle = 'italic';
  const deco = [state.underline && 'underline', state.strike && 'line-through'].filter(Boolean).join(' ');
  if (deco) out.textDecoration = deco;
  return out;
}
