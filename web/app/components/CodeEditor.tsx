import { useEffect, useRef, useState } from 'react';
import type { EditorHandle, EditorLanguage } from './codemirror.client';

/**
 * A code editor that starts as a plain textarea (so the form works without JavaScript) and becomes CodeMirror
 * once the browser has loaded it. The textarea stays in the form, hidden, and carries the value.
 */
export function CodeEditor({
  id,
  name,
  value,
  onChange,
  language,
  labelId,
  describedBy,
  invalid,
}: {
  id: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  language: EditorLanguage;
  labelId: string;
  describedBy?: string;
  invalid?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const latest = useRef({ value, onChange, language });
  latest.current = { value, onChange, language };
  const [enhanced, setEnhanced] = useState(false);

  useEffect(() => {
    let cancelled = false;
    import('./codemirror.client')
      .then(({ createEditor }) => {
        if (cancelled || !host.current) return;
        editor.current = createEditor(host.current, {
          doc: latest.current.value,
          language: latest.current.language,
          onChange: (v) => latest.current.onChange(v),
          contentAttributes: {
            'aria-labelledby': labelId,
            ...(describedBy ? { 'aria-describedby': describedBy } : {}),
            'data-testid': `${id}-editor`,
          },
        });
        setEnhanced(true);
      })
      .catch(() => {
        /* the textarea keeps working */
      });
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => editor.current?.setValue(value), [value]);
  useEffect(() => editor.current?.setLanguage(language), [language]);

  return (
    <div className={`code-editor${enhanced ? ' is-enhanced' : ''}${invalid ? ' is-invalid' : ''}`}>
      <textarea
        id={id}
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className="code-input"
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        rows={18}
        aria-labelledby={labelId}
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        hidden={enhanced}
      />
      <div ref={host} className="cm-host" onClick={() => editor.current?.focus()} />
    </div>
  );
}
