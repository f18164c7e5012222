import { useState } from 'react';
import { artifactHref, artifactsZipHref, previewKind } from '../lib/artifacts';
import { formatBytes } from '../lib/format';
import type { ArtifactList } from '../lib/types';
import { ArtifactPreview } from './ArtifactPreview';
import { Alert, Card, Table, Time } from './ui';

/**
 * The files an execution left under /work/out: name, size, type, a download each and all of them as a zip (plain
 * links to the dashboard's routes, which stream from the API with the user's key), when they expire, whether some
 * were cut or not kept, and a preview in the page for text, CSV, JSON and images.
 */
export function ArtifactsCard({
  executionId,
  list,
  error,
  active,
  truncated,
  expiresAt,
}: {
  executionId: string;
  list: ArtifactList | null;
  error: string | null;
  active: boolean;
  truncated: boolean;
  expiresAt: string | null;
}) {
  const [previewed, setPreviewed] = useState<string | null>(null);
  const items = list?.items ?? [];
  const shown = items.find((a) => a.name === previewed);
  const shownKind = shown ? previewKind(shown.contentType, shown.size) : null;
  const expires = list?.expiresAt ?? expiresAt;
  const total = items.reduce((n, a) => n + a.size, 0);

  return (
    <Card title="Artifacts" id="artifacts">
      <div data-testid="artifacts">
        {error && <Alert kind="warning">The artifacts are not available: {error}</Alert>}
        {(list?.truncated || truncated) && (
          <Alert kind="warning" title="Not all kept.">
            <span data-testid="artifacts-truncated">Some files were cut or not kept: a limit on artifacts was reached. The log says which file and which limit.</span>
          </Alert>
        )}
        {items.length ? (
          <>
            <div className="artifacts-head">
              <p className="muted small">
                {items.length} {items.length === 1 ? 'file' : 'files'}, {formatBytes(total)}
                {expires && (
                  <>
                    {' '}
                    · kept until <Time iso={expires} />
                  </>
                )}
              </p>
              <a className="btn btn-small" href={artifactsZipHref(executionId)} download data-testid="artifacts-zip">
                Download all (.zip)
              </a>
            </div>
            <Table columns={['Name', 'Size', 'Type']} actions testId="artifact-list">
              {items.map((a) => {
                const kind = previewKind(a.contentType, a.size);
                return (
                  <tr key={a.name} data-artifact={a.name}>
                    <td className="mono small artifact-name">{a.name}</td>
                    <td className="small" title={`${a.size} bytes`}>
                      {formatBytes(a.size)}
                    </td>
                    <td className="mono small">{a.contentType.split(';')[0]}</td>
                    <td className="row-actions">
                      {kind && (
                        <button
                          type="button"
                          className="btn btn-ghost btn-small"
                          aria-pressed={previewed === a.name}
                          aria-label={`Preview ${a.name}`}
                          onClick={() => setPreviewed((p) => (p === a.name ? null : a.name))}
                        >
                          Preview
                        </button>
                      )}
                      <a className="btn btn-small" href={artifactHref(executionId, a.name)} download aria-label={`Download ${a.name}`}>
                        Download
                      </a>
                    </td>
                  </tr>
                );
              })}
            </Table>
            {shown && shownKind && (
              <section className="artifact-preview-box" aria-label={`Preview of ${shown.name}`}>
                <p className="mono small preview-title">{shown.name}</p>
                <ArtifactPreview key={shown.name} executionId={executionId} artifact={shown} kind={shownKind} />
              </section>
            )}
          </>
        ) : (
          !error && (
            <p className="muted" data-testid="artifacts-none">
              {active ? 'Files the script leaves in /work/out appear here when it ends.' : 'The script left no files in /work/out.'}
            </p>
          )
        )}
      </div>
    </Card>
  );
}
