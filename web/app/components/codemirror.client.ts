/** CodeMirror 6, loaded only in the browser (dynamic import) to enhance the script textarea. */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage, bracketMatching, defaultHighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from '@codemirror/view';

export type EditorLanguage = 'python' | 'node' | 'bash';

function languageExtension(lang: EditorLanguage): Extension {
  if (lang === 'python') return [python(), indentUnit.of('    ')];
  if (lang === 'node') return [javascript(), indentUnit.of('  ')];
  return [StreamLanguage.define(shell), indentUnit.of('  ')];
}

export interface EditorHandle {
  setValue(v: string): void;
  setLanguage(lang: EditorLanguage): void;
  focus(): void;
  destroy(): void;
}

export function createEditor(
  parent: HTMLElement,
  opts: { doc: string; language: EditorLanguage; onChange: (v: string) => void; contentAttributes: Record<string, string> },
): EditorHandle {
  const lang = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.doc,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        drawSelection(),
        history(),
        indentOnInput(),
        bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's own accessible escape hatch).
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        placeholder('Write your script here'),
        lang.of(languageExtension(opts.language)),
        EditorView.contentAttributes.of(opts.contentAttributes),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    setValue(v) {
      if (view.state.doc.toString() !== v) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: v } });
    },
    setLanguage(l) {
      view.dispatch({ effects: lang.reconfigure(languageExtension(l)) });
    },
    focus() {
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
