/** CodeMirror 6, loaded only in the browser (dynamic import) to enhance the script textarea. */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { HighlightStyle, StreamLanguage, bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import type { Language } from '../lib/types';

export type EditorLanguage = Language;

/**
 * Syntax colours that are all readable on the editor's background and its active line (at least 4.5:1); the
 * default style's orange strings were 3.7:1.
 */
const highlightStyle = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.moduleKeyword, t.definitionKeyword], color: '#6d28d9' },
  { tag: [t.string, t.special(t.string), t.regexp], color: '#9a3412' },
  { tag: [t.number, t.bool, t.null, t.atom], color: '#0e7490' },
  { tag: [t.comment, t.lineComment, t.blockComment, t.meta], color: '#5f6b7a', fontStyle: 'italic' },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.definition(t.variableName), t.definition(t.function(t.variableName))], color: '#1d4ed8' },
  { tag: [t.className, t.typeName, t.namespace], color: '#0f766e' },
  { tag: [t.escape, t.special(t.variableName), t.self], color: '#b91c1c' },
  { tag: t.invalid, color: '#b91c1c', textDecoration: 'underline' },
]);

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
        syntaxHighlighting(highlightStyle),
        // Long lines wrap instead of scrolling sideways (a phone), and the editor needs no scrollable region.
        EditorView.lineWrapping,
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
