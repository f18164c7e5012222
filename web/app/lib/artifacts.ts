/**
 * What the dashboard does with an execution's artifacts: where each downloads from (the dashboard's own routes,
 * which stream from the API with the user's key) and which it previews in the page, up to what size.
 */

/** A text preview reads this much of the file (one range request), whatever its size. */
export const TEXT_PREVIEW_BYTES = 256 * 1024;
/** An image is previewed whole, so only up to this size. */
export const IMAGE_PREVIEW_BYTES = 4 * 1024 * 1024;
/** A CSV preview shows at most this many rows. */
export const CSV_PREVIEW_ROWS = 200;

export type PreviewKind = 'text' | 'csv' | 'tsv' | 'json' | 'image';

/**
 * The preview for a content type (the API's, from the name's extension), or null. Only types the API serves
 * inline: never HTML or SVG. An image larger than IMAGE_PREVIEW_BYTES is not previewed; text always is (its start).
 */
export function previewKind(contentType: string, size: number): PreviewKind | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (type === 'text/tab-separated-values') return 'tsv';
  if (type === 'application/json') return 'json';
  if (type === 'text/plain' || type === 'text/markdown' || type === 'application/x-ndjson') return 'text';
  if (/^image\/(png|jpeg|gif|webp)$/.test(type)) return size <= IMAGE_PREVIEW_BYTES ? 'image' : null;
  return null;
}

const base = (executionId: string) => `/executions/${encodeURIComponent(executionId)}/artifacts`;

/** One artifact's download (a `/` in its name as %2F, as the API takes it); `inline` for a preview. */
export function artifactHref(executionId: string, name: string, opts: { inline?: boolean } = {}): string {
  return `${base(executionId)}/${encodeURIComponent(name)}${opts.inline ? '?inline=1' : ''}`;
}

export function artifactsZipHref(executionId: string): string {
  return `${base(executionId)}.zip`;
}

/**
 * The artifact name from a dashboard URL's path, decoded exactly once (a name may hold `%` and `/`; the router's
 * own params turn `%2F` into `/` and cannot tell `a%252Fb` from `a%2Fb`). Null when the path is not one of ours.
 */
export function artifactNameFromPath(pathname: string): string | null {
  const m = /^\/executions\/[^/]+\/artifacts\/([^/]+)$/.exec(pathname);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}
