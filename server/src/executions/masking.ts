export const MASK = '***';

/** Values shorter than this are not masked: masking "a" would destroy every log line and hide nothing. */
export const MIN_MASKED_LENGTH = 3;

export class Masker {
  private readonly values: string[];

  constructor(values: Iterable<string>) {
    this.values = [...new Set([...values].filter((v) => v.length >= MIN_MASKED_LENGTH))].sort((a, b) => b.length - a.length);
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  /** Length of the longest tail of `text` that could be the start of a masked value: that much must wait for more text. */
  unsafeTail(text: string): number {
    let keep = 0;
    for (const v of this.values) {
      const max = Math.min(text.length, v.length - 1);
      for (let n = max; n > keep; n--) {
        if (v.startsWith(text.slice(text.length - n))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }

  /** Masks every string inside a JSON value. */
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
