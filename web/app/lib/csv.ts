/**
 * A small RFC 4180 reader for previews: quoted fields (with `""` for a quote, and line breaks inside quotes),
 * CRLF or LF line ends. Stops after `maxRows` rows. `complete` is false when the text was cut (a preview reads
 * only the start of a file), and then the last, possibly partial, row is left out.
 */
export function parseCsv(text: string, opts: { delimiter?: string; maxRows?: number; complete?: boolean } = {}): { rows: string[][]; more: boolean } {
  const delimiter = opts.delimiter ?? ',';
  const maxRows = opts.maxRows ?? Infinity;
  const complete = opts.complete ?? true;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
      if (rows.length > maxRows) return { rows: rows.slice(0, maxRows), more: true };
    } else field += c;
    i++;
  }
  // What follows the last line break is a row if the text is whole; a cut preview's last row may be partial.
  if (complete && (field !== '' || row.length > 0)) endRow();
  const more = rows.length > maxRows || (!complete && (field !== '' || row.length > 0 || quoted));
  return { rows: rows.slice(0, maxRows), more };
}
