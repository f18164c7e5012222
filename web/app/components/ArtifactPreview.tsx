import { useEffect, useState } from 'react';
import { CSV_PREVIEW_ROWS, type PreviewKind, TEXT_PREVIEW_BYTES, artifactHref } from '../lib/artifacts';
import { parseCsv } from '../lib/csv';
import { formatBytes } from '../lib/format';
import type { Artifact } from '../lib/types';

type Loaded = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; text: string; complete: boolean };

/**
 * An artifact shown in the page: an image whole (up to IMAGE_PREVIEW_BYTES), text, JSON and CSV from the first
 * TEXT_PREVIEW_BYTES (one range request, so a large file costs no more). What the file holds is rendered by
 * React as text or as table cells, never as markup.
 */
export function ArtifactPreview({ executionId, artifact, kind }: { executionId: string; artifact: Artifact; kind: PreviewKind }) {
  const href = artifactHref(executionId, artifact.name, { inline: true });
  if (kind === 'image') {
    return (
      <div className="artifact-preview" data-testid="artifact-preview">
        <img src={href} alt={`Preview of ${artifact.name}`} className="artifact-image" />
      </div>
    );
  }
  return <TextPreview href={href} artifact={artifact} kind={kind} />;
}

function TextPreview({ href, artifact, kind }: { href: string; artifact: Artifact; kind: Exclude<PreviewKind, 'image'> }) {
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  useEffect(() => {
    if (artifact.size === 0) {
      setLoaded({ state: 'ready', text: '', complete: true });
      return;
    }
    const ctl = new AbortController();
    (async () => {
      const res = await fetch(href, { headers: { range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` }, signal: ctl.signal });
      if (!res.ok) throw new Error((await res.text()).trim() || `the dashboard answered ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const shown = bytes.subarray(0, TEXT_PREVIEW_BYTES);
      const complete = shown.length >= artifact.size;
      // `stream: true` leaves out a character cut in half at the end of a partial read.
      const text = new TextDecoder('utf-8').decode(shown, { stream: !complete });
      setLoaded({ state: 'ready', text, complete });
    })().catch((err: Error) => {
      if (!ctl.signal.aborted) setLoaded({ state: 'failed', message: err.message });
    });
    return () => ctl.abort();
  }, [href, artifact.size]);

  if (loaded.state === 'loading') return <p className="muted small artifact-preview">Loading the preview…</p>;
  if (loaded.state === 'failed') return <p className="field-error artifact-preview">The preview failed: {loaded.message}</p>;
  const cut = loaded.complete ? null : (
    <p className="muted small" data-testid="preview-cut">
      The first {formatBytes(TEXT_PREVIEW_BYTES)} of {formatBytes(artifact.size)}; download it for the rest.
    </p>
  );
  if (kind === 'csv' || kind === 'tsv') {
    const { rows, more } = parseCsv(loaded.text, { delimiter: kind === 'tsv' ? '\t' : ',', maxRows: CSV_PREVIEW_ROWS + 1, complete: loaded.complete });
    const [head, ...body] = rows;
    return (
      <div className="artifact-preview" data-testid="artifact-preview">
        {head ? (
          <div className="table-wrap csv-wrap" tabIndex={0} role="region" aria-label={`Preview of ${artifact.name}`}>
            <table className="table csv-table" data-testid="csv-table">
              <thead>
                <tr>
                  {head.map((h, i) => (
                    <th key={i} scope="col">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {body.map((r, i) => (
                  <tr key={i}>
                    {r.map((c, j) => (
                      <td key={j}>{c}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">The file is empty.</p>
        )}
        {more && loaded.complete && <p className="muted small">The first {CSV_PREVIEW_ROWS} rows.</p>}
        {cut}
      </div>
    );
  }
  let text = loaded.text;
  if (kind === 'json' && loaded.complete) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as it is */
    }
  }
  return (
    <div className="artifact-preview" data-testid="artifact-preview">
      <pre className="code artifact-text" tabIndex={0} aria-label={`Preview of ${artifact.name}`}>
        {text || ' '}
      </pre>
      {cut}
    </div>
  );
}
