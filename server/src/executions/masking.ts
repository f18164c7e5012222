export const MASK = '***';

/** Values shorter than this are not masked: masking "a" would destroy every log line and hide nothing. */
export const MIN_MASKED_LENGTH = 3;

/**
 * The texts masked for some secret values: each value whole, and each line of a multi-line value on its own,
 * since logs are stored and masked one line at a time (a PEM key echoed by a script never appears whole in any
 * one log entry). A line counts when, without its surrounding whitespace (indentation, a CR of CRLF), it is at
 * least MIN_MASKED_LENGTH long and has a letter or digit: a line of punctuation only (`}`, `-----`, `});`) says
 * nothing about the secret, and masking it would blot out unrelated output. Lines such as
 * `-----BEGIN RSA PRIVATE KEY-----` are masked like the others: that costs nothing, and no key format has to be
 * recognised.
 */
export function maskedTexts(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v.length >= MIN_MASKED_LENGTH) out.add(v);
    if (!/[\r\n]/.test(v)) continue;
    for (const raw of v.split(/\r\n|\r|\n/)) {
      const line = raw.trim();
      if (line.length >= MIN_MASKED_LENGTH && /[\p{L}\p{N}]/u.test(line)) out.add(line);
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Masker {
  /** Longest first, so a value is masked whole before a shorter value inside it is. */
  private readonly values: string[];
  /** The values a single line can hold (no line breaks): the only ones a partial line can be the start of. */
  private readonly lineValues: string[];
  private caseless: RegExp | null = null;

  constructor(secrets: Iterable<string>) {
    this.values = maskedTexts(secrets);
    this.lineValues = this.values.filter((v) => !/[\r\n]/.test(v));
  }

  /** One masker for several executions' secrets. */
  static union(maskers: Iterable<Masker>): Masker {
    return new Masker([...maskers].flatMap((m) => m.values));
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  /** A masker that also catches the values after `transform`, for text that went through it (an escaped log excerpt). */
  through(transform: (value: string) => string): Masker {
    return new Masker([...this.values, ...this.values.map(transform)]);
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  /**
   * For text that was compared ignoring case and may have been lowercased on the way (host names: the egress
   * proxy normalises `Example.COM` to `example.com`).
   */
  maskIgnoringCase(text: string): string {
    if (!this.active) return text;
    this.caseless ??= new RegExp(this.values.map(escapeRegExp).join('|'), 'gi');
    return text.replace(this.caseless, MASK);
  }

  /**
   * For text whose end was cut off before it reached us (a bounded excerpt): besides whole values, a tail that is
   * the start of a value is masked too, since the rest of that value was never going to arrive.
   */
  maskCut(text: string, { ignoreCase = false } = {}): string {
    const masked = ignoreCase ? this.maskIgnoringCase(text) : this.mask(text);
    const keep = this.unsafeTail(masked, { ignoreCase });
    return keep >= MIN_MASKED_LENGTH ? masked.slice(0, masked.length - keep) + MASK : masked;
  }

  /** Length of the longest tail of `text` that could be the start of a masked value: that much must wait for more text. */
  unsafeTail(text: string, { ignoreCase = false } = {}): number {
    const fold = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
    let keep = 0;
    for (const value of this.lineValues) {
      const v = fold(value);
      const max = Math.min(text.length, v.length - 1);
      for (let n = max; n > keep; n--) {
        if (v.startsWith(fold(text.slice(text.length - n)))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }

  /** Masks every string inside a JSON value, object keys included. */
  maskJson(value: unknown): unknown {
    if (!this.active) return value;
    if (typeof value === 'string') return this.mask(value);
    if (Array.isArray(value)) return value.map((v) => this.maskJson(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.mask(k), this.maskJson(v)]));
    }
    return value;
  }
}
