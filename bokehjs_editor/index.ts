import {CodeMirrorEditor} from "./codemirror"
import {EDITOR_GLOBAL, EDITOR_READY_EVENT} from "./shared"

// The handover to bokeh_live's bundle (bokehjs_ext/editor.ts), which may have loaded before
// or after this one.
const scope = globalThis as unknown as {[EDITOR_GLOBAL]?: typeof CodeMirrorEditor}
scope[EDITOR_GLOBAL] = CodeMirrorEditor
globalThis.dispatchEvent(new Event(EDITOR_READY_EVENT))
