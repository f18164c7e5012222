/**
 * A `Range` header against a file of `size` bytes (RFC 9110 §14): one range of bytes, as inclusive offsets.
 * `null`: serve the whole file (no header, another unit, or several ranges, which a server may ignore);
 * `unsatisfiable`: answer 416. Pure.
 */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length !== 1) return specs.length ? null : 'unsatisfiable';
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) return 'unsatisfiable';
  if (r[1] === '') {
    // The last n bytes.
    const n = Number(r[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  // The end is capped at the last byte: a start at or past it, or past the end asked for, leaves nothing.
  if (end < start) return 'unsatisfiable';
  return { start, end };
}
