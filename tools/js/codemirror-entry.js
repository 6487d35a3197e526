// What the Python console's editor (static/js/py-editor.js) takes from CodeMirror 6.
// tools/vendor.py bundles this file with esbuild into static/vendor/codemirror/codemirror.mjs
// (one self-contained ES module, no bare imports, no CDN).
export { basicSetup, EditorView } from "codemirror";
export { EditorState, Prec } from "@codemirror/state";
export { keymap } from "@codemirror/view";
export { indentWithTab } from "@codemirror/commands";
export { indentUnit } from "@codemirror/language";
export { python } from "@codemirror/lang-python";
