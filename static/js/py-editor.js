// The Python console's editor: CodeMirror 6 (vendored, static/vendor/codemirror/) with
// Python highlighting, 4-space indentation, Tab indents, Ctrl/Cmd+Enter runs.
// Imported by py/app/panels/console.py when the panel is first opened, never at boot.
import {
  basicSetup, EditorView, EditorState, Prec, keymap, indentWithTab, indentUnit, python,
} from "../vendor/codemirror/codemirror.mjs";

/**
 * An editor in `parent` holding `text`. `onRun()` is called on Ctrl/Cmd+Enter,
 * `onChange(text)` after each edit. Returns { getText, setText, focus, destroy }.
 */
export function createEditor(parent, text, onRun, onChange) {
  const run = Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]));
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        run,
        basicSetup,
        keymap.of([indentWithTab]),
        indentUnit.of("    "),
        python(),
        EditorView.contentAttributes.of({ "aria-label": "Python code", spellcheck: "false" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    getText: () => view.state.doc.toString(),
    setText: (value) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
