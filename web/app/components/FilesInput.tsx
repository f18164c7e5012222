import { useEffect, useRef, useState } from 'react';
import { formatBytes } from '../lib/format';

interface Chosen {
  key: number;
  file: File;
  /** Where it goes, relative to /work; its name unless edited. */
  path: string;
}

/**
 * Files for the sandbox's /work, by drag and drop or a file picker, each with an editable path and its size.
 * The chosen files live in the form's own file input (kept in step through a DataTransfer), so the form posts
 * them like any file input, in the order of the hidden `filePath` fields that come before it: the action streams
 * them to the API as they arrive (readStreamedForm), which is why this must be the form's last field. Without
 * JavaScript it is a plain multiple file input, each file put in /work under its own name.
 */
export function FilesInput({ error }: { error?: string | undefined }) {
  const [js, setJs] = useState(false);
  const [items, setItems] = useState<Chosen[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const nextKey = useRef(1);
  useEffect(() => setJs(true), []);

  // The input holds exactly the listed files, in the listed order.
  useEffect(() => {
    if (!js || !input.current) return;
    const dt = new DataTransfer();
    for (const i of items) dt.items.add(i.file);
    input.current.files = dt.files;
  }, [items, js]);

  const add = (files: FileList | null) => {
    if (!files?.length) return;
    const added = [...files].map((file) => ({ key: nextKey.current++, file, path: file.name }));
    setItems((prev) => [...prev, ...added]);
  };
  const total = items.reduce((n, i) => n + i.file.size, 0);
  const errorId = error ? 'files-error' : undefined;

  return (
    <div className={`field files-field${error ? ' field-invalid' : ''}`}>
      <span className="label" id="files-label">
        Files
      </span>
      {items.length > 0 && (
        <ul className="file-list" data-testid="file-list" aria-labelledby="files-label">
          {items.map((i, n) => (
            <li key={i.key} className="file-item" data-testid="file-item">
              <span className="file-path">
                <span className="mono small muted" aria-hidden="true">
                  /work/
                </span>
                <input
                  className="mono"
                  value={i.path}
                  aria-label={`Path under /work for ${i.file.name}`}
                  spellCheck={false}
                  onChange={(e) => {
                    const path = e.target.value;
                    setItems((prev) => prev.map((x) => (x.key === i.key ? { ...x, path } : x)));
                  }}
                />
              </span>
              <span className="file-size small muted" data-testid="file-size">
                {formatBytes(i.file.size)}
              </span>
              <button type="button" className="btn btn-ghost btn-small" aria-label={`Remove ${i.path || i.file.name}`} onClick={() => setItems((prev) => prev.filter((x) => x.key !== i.key))}>
                Remove
              </button>
              <input type="hidden" name="filePath" value={i.path || i.file.name} data-index={n} />
            </li>
          ))}
        </ul>
      )}
      {items.length > 1 && (
        <p className="field-hint" data-testid="files-total">
          {items.length} files, {formatBytes(total)} in all.
        </p>
      )}
      <div
        className={`drop-zone${over ? ' is-over' : ''}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          if (!e.dataTransfer.types.includes('Files')) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          add(e.dataTransfer.files);
        }}
      >
        {js ? (
          <>
            <span>Drop files here or</span>{' '}
            <button type="button" className="btn btn-small" onClick={() => input.current?.click()} aria-describedby={['files-hint', errorId].filter(Boolean).join(' ')}>
              Choose files…
            </button>
          </>
        ) : null}
        <input
          ref={input}
          type="file"
          name="files"
          multiple
          id="files"
          className={js ? 'sr-only' : undefined}
          tabIndex={js ? -1 : undefined}
          aria-labelledby="files-label"
          aria-describedby={['files-hint', errorId].filter(Boolean).join(' ')}
          data-testid="files-input"
          onChange={(e) => {
            if (!js) return;
            // The picker replaces the input's files: take them into the list, which then puts all back.
            const picked = e.target.files;
            add(picked);
          }}
        />
      </div>
      <p className="field-hint" id="files-hint">
        Put in <code>/work</code>, the script’s working directory, before it starts. Edit a path to put a file in a folder, like <code>data/orders.csv</code>. Files the script
        leaves in <code>/work/out</code> become its artifacts.
      </p>
      {error && (
        <p className="field-error" id="files-error" data-field-error="files">
          {error}
        </p>
      )}
    </div>
  );
}
