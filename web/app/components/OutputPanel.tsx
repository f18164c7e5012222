import { useEffect, useState } from 'react';
import { copyText } from '../lib/clipboard';
import { formatJson } from '../lib/format';
import { JsonBlock } from './ui';

/**
 * The output an execution set, as JSON, with Copy (the JSON text; needs JavaScript) and Download (a plain link to
 * /executions/:id/output.json, which works without).
 */
export function OutputPanel({ executionId, output, empty }: { executionId: string; output: unknown; empty: string }) {
  const [js, setJs] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => setJs(true), []);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 2500);
    return () => clearTimeout(t);
  }, [copied]);
  const has = output !== null && output !== undefined;
  return (
    <>
      {has && (
        <div className="output-tools">
          {js && (
            <button type="button" className="btn btn-small" onClick={async () => setCopied((await copyText(formatJson(output))) ? 'Copied the output.' : 'The browser would not copy.')}>
              Copy output
            </button>
          )}
          <a className="btn btn-small" href={`/executions/${executionId}/output.json`} download>
            Download output
          </a>
          <span className="muted small" role="status">
            {copied}
          </span>
        </div>
      )}
      <div data-testid="output">
        <JsonBlock value={output} empty={empty} label="Output" />
      </div>
    </>
  );
}
