/**
 * The view's stylesheet. It lives in the view's shadow root, so it styles nothing else
 * on the page; the page can still set the fonts through the inherited custom properties
 * `--bokeh-live-font` and `--bokeh-live-code-font`.
 */

type Palette = {[name: string]: string}

const LIGHT: Palette = {
  "bg": "#ffffff",
  "fg": "#1f2328",
  "muted": "#656d76",
  "border": "#d8dee4",
  "bar-bg": "#f6f8fa",
  "editor-bg": "#ffffff",
  "output-bg": "#fbfcfd",
  "gutter": "#8c959f",
  "active-line": "rgba(234, 238, 242, 0.6)",
  "selection": "#cfe2ff",
  "bracket": "rgba(84, 174, 255, 0.18)",
  "bracket-border": "rgba(84, 174, 255, 0.6)",
  "accent": "#2563eb",
  "accent-hover": "#1d4ed8",
  "accent-fg": "#ffffff",
  "button-bg": "#ffffff",
  "button-hover": "#f0f2f5",
  "ok": "#1a7f37",
  "busy": "#bf8700",
  "error": "#cf222e",
  "error-bg": "#fff1f0",
  "error-border": "#ffcecb",
  "stderr": "#b42318",
  "stderr-bg": "rgba(255, 129, 130, 0.13)",
  "shadow": "0 1px 2px rgba(31, 35, 40, 0.05), 0 2px 8px rgba(31, 35, 40, 0.06)",
  "syn-keyword": "#cf222e",
  "syn-string": "#0a3069",
  "syn-number": "#0550ae",
  "syn-comment": "#6e7781",
  "syn-function": "#8250df",
  "syn-class": "#953800",
}

const DARK: Palette = {
  "bg": "#0d1117",
  "fg": "#e6edf3",
  "muted": "#8d96a0",
  "border": "#30363d",
  "bar-bg": "#161b22",
  "editor-bg": "#0d1117",
  "output-bg": "#10151c",
  "gutter": "#6e7681",
  "active-line": "rgba(110, 118, 129, 0.12)",
  "selection": "rgba(56, 139, 253, 0.35)",
  "bracket": "rgba(56, 139, 253, 0.2)",
  "bracket-border": "rgba(56, 139, 253, 0.7)",
  "accent": "#2f81f7",
  "accent-hover": "#4493f8",
  "accent-fg": "#ffffff",
  "button-bg": "#21262d",
  "button-hover": "#30363d",
  "ok": "#3fb950",
  "busy": "#d29922",
  "error": "#f85149",
  "error-bg": "rgba(248, 81, 73, 0.1)",
  "error-border": "rgba(248, 81, 73, 0.4)",
  "stderr": "#ff7b72",
  "stderr-bg": "rgba(248, 81, 73, 0.12)",
  "shadow": "0 1px 2px rgba(0, 0, 0, 0.3), 0 2px 8px rgba(0, 0, 0, 0.25)",
  "syn-keyword": "#ff7b72",
  "syn-string": "#a5d6ff",
  "syn-number": "#79c0ff",
  "syn-comment": "#8b949e",
  "syn-function": "#d2a8ff",
  "syn-class": "#ffa657",
}

const vars = (palette: Palette) => Object.entries(palette).map(([name, value]) => `--bl-${name}: ${value};`).join(" ")

export const CSS = `
:host {
  --bl-ui-font: var(--bokeh-live-font, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif);
  --bl-code-font: var(--bokeh-live-code-font, ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace);
  --bl-code-size: 13px;
}
.bl-root { ${vars(LIGHT)} color-scheme: light; }
.bl-root[data-theme="dark"] { ${vars(DARK)} color-scheme: dark; }
@media (prefers-color-scheme: dark) {
  .bl-root[data-theme="auto"] { ${vars(DARK)} color-scheme: dark; }
}

.bl-root {
  box-sizing: border-box;
  width: 100%;
  height: 100%;
  display: flex;
  flex-direction: column;
  color: var(--bl-fg);
  font: 13px/1.45 var(--bl-ui-font);
  --bl-progress: 10%;
}
.bl-root[data-mode="editor"], .bl-root[data-mode="playground"], .bl-root[data-mode="debug"] {
  background: var(--bl-bg);
  border: 1px solid var(--bl-border);
  border-radius: 10px;
  box-shadow: var(--bl-shadow);
  overflow: hidden;
}
.bl-root[data-mode="app"] { min-width: 240px; }

/* toolbar */
.bl-toolbar {
  box-sizing: border-box;
  flex: none;
  display: flex;
  align-items: center;
  gap: 6px;
  min-height: 42px;
  padding: 6px 8px 6px 10px;
  background: var(--bl-bar-bg);
  border-bottom: 1px solid var(--bl-border);
}
.bl-spacer { flex: 1 1 0; min-width: 4px; }
.bl-title { font-weight: 600; display: flex; align-items: baseline; gap: 8px; }
.bl-subtitle { font-weight: 400; color: var(--bl-muted); font-size: 12px; }

.bl-button, .bl-select {
  box-sizing: border-box;
  flex: none;
  display: inline-flex;
  align-items: center;
  gap: 6px;
  height: 28px;
  padding: 0 10px;
  font: 500 12.5px/1 var(--bl-ui-font);
  color: var(--bl-fg);
  background: var(--bl-button-bg);
  border: 1px solid var(--bl-border);
  border-radius: 6px;
  cursor: pointer;
  white-space: nowrap;
  transition: background-color 0.12s, border-color 0.12s;
}
.bl-button:hover:not(:disabled), .bl-select:hover:not(:disabled) { background: var(--bl-button-hover); }
.bl-button:disabled, .bl-select:disabled { opacity: 0.5; cursor: default; }
.bl-button:focus-visible, .bl-select:focus-visible { outline: 2px solid var(--bl-accent); outline-offset: 1px; }
.bl-run { background: var(--bl-accent); border-color: var(--bl-accent); color: var(--bl-accent-fg); padding: 0 8px 0 10px; }
.bl-run:hover:not(:disabled) { background: var(--bl-accent-hover); border-color: var(--bl-accent-hover); }
.bl-stop { display: none; background: var(--bl-error); border-color: var(--bl-error); color: #fff; padding: 0 8px 0 10px; }
.bl-root[data-status="running"] .bl-stop { display: inline-flex; }
.bl-root[data-status="running"] .bl-run { display: none; }
:is(.bl-run, .bl-stop) kbd {
  font: 500 11px/1 var(--bl-ui-font);
  padding: 3px 5px;
  border-radius: 4px;
  background: rgba(255, 255, 255, 0.18);
}
.bl-icon { display: inline-flex; }
.bl-select-wrap { position: relative; display: inline-flex; flex: 0 1 auto; min-width: 0; }
.bl-select { appearance: none; padding-right: 28px; width: 100%; min-width: 96px; max-width: 240px; flex: 1 1 auto; }
.bl-select-wrap::after {
  content: "";
  position: absolute;
  right: 11px;
  top: 10px;
  width: 5px;
  height: 5px;
  border: solid var(--bl-muted);
  border-width: 0 1.5px 1.5px 0;
  transform: rotate(45deg);
  pointer-events: none;
}

/* status */
.bl-status {
  display: inline-flex;
  align-items: center;
  gap: 7px;
  flex: 0 1 auto;
  min-width: 0;
  max-width: 100%;
  overflow: hidden;
  padding: 0 6px;
  font-size: 12px;
  color: var(--bl-muted);
  white-space: nowrap;
}
.bl-status-label { color: var(--bl-fg); font-weight: 500; }
.bl-status-detail { overflow: hidden; text-overflow: ellipsis; min-width: 0; }
.bl-status-detail:empty { display: none; }
.bl-status-label:has(+ .bl-status-detail:not(:empty))::after { content: " ·"; color: var(--bl-muted); }
.bl-dot { flex: none; width: 8px; height: 8px; border-radius: 50%; background: var(--bl-muted); }
.bl-status[data-status="loading"] .bl-dot { background: var(--bl-accent); animation: bl-pulse 1.2s ease-in-out infinite; }
.bl-status[data-status="running"] .bl-dot { background: var(--bl-busy); animation: bl-pulse 0.9s ease-in-out infinite; }
.bl-status[data-status="ready"] .bl-dot { background: var(--bl-ok); }
.bl-status[data-status="error"] .bl-dot { background: var(--bl-error); }
.bl-status[data-status="error"] .bl-status-label { color: var(--bl-error); }

/* editor and output side by side, or stacked when there is no room for both */
/* Editor and output side by side when there is room, else stacked. The 1px gap shows the
   panes' background, the border colour: a divider wherever the panes meet. */
.bl-root[data-mode="editor"], .bl-root[data-mode="playground"] { container-type: inline-size; }
.bl-panes { flex: 1 1 auto; min-height: 0; display: flex; flex-direction: column; gap: 1px; background: var(--bl-border); }
.bl-pane { flex: 1 1 0; min-width: 0; min-height: 0; display: flex; flex-direction: column; }
.bl-root[data-fill="false"] .bl-pane { flex-basis: auto; }
@container (min-width: 600px) {
  .bl-panes { flex-direction: row; }
  .bl-root[data-fill] .bl-pane { flex-basis: 0; }
}
.bl-editor-pane { background: var(--bl-editor-bg); min-height: 160px; }
.bl-code-editor { flex: 1 1 auto; min-height: 160px; display: flex; flex-direction: column; }
.bl-editor-pane :is(.cm-editor, .bl-plain-editor) { flex: 1 1 auto; min-height: 160px; }
.bl-root[data-fill="false"] .bl-editor-pane :is(.cm-editor, .bl-plain-editor) { max-height: 460px; }
.bl-root[data-fill="true"] :is(.bl-editor-pane, .bl-code-editor, .bl-editor-pane .cm-editor, .bl-plain-editor, .bl-output-pane) { min-height: 0; }
/* the stand-in until CodeMirror's bundle arrives, or where it cannot */
.bl-plain-editor {
  resize: none; border: none; outline: none; margin: 0; padding: 8px 14px; tab-size: 4;
  color: var(--bl-fg); background: var(--bl-editor-bg); caret-color: var(--bl-fg);
  font-family: var(--bl-code-font); font-size: var(--bl-code-size); line-height: 1.55; white-space: pre;
}
.bl-output-pane { background: var(--bl-output-bg); min-height: 120px; position: relative; }
/* Clear and Copy: in the pane's corner, shown while the pointer or focus is in the pane */
.bl-output-tools {
  position: absolute; top: 6px; right: 8px; z-index: 1; display: flex; gap: 4px;
  opacity: 0; transition: opacity 0.12s;
}
.bl-output-pane:hover .bl-output-tools, .bl-output-tools:focus-within { opacity: 1; }
.bl-output-pane:has(.bl-output:empty) .bl-output-tools { display: none; }
.bl-small { height: 22px; padding: 0 7px; font-size: 11.5px; gap: 4px; }
.bl-root[data-mode="app"] .bl-output-pane, .bl-root[data-mode="debug"] .bl-output-pane { flex: 1 1 auto; }
.bl-root[data-mode="app"] .bl-output-pane { background: transparent; min-height: 0; }
.bl-root[data-mode="debug"] .bl-output-pane { min-height: 160px; }

/* output */
.bl-output {
  box-sizing: border-box;
  flex: 1 1 auto;
  min-height: 0;
  overflow: auto;
  padding: 10px 14px;
  font: var(--bl-code-size)/1.55 var(--bl-code-font);
}
.bl-root[data-mode="app"] .bl-output { padding: 4px 2px; }
.bl-root[data-fill="false"] .bl-output { max-height: 460px; }
.bl-root[data-fill="false"][data-mode="app"] .bl-output { max-height: none; }
.bl-output:empty::before { content: attr(data-placeholder); color: var(--bl-muted); font: italic 12.5px var(--bl-ui-font); }
.bl-root[data-status="loading"] .bl-output:empty { display: none; }
.bl-output > * { margin: 0 0 8px; }
.bl-output > :last-child { margin-bottom: 0; }
.bl-streams, .bl-result, .bl-display, .bl-traceback { font: inherit; white-space: pre-wrap; overflow-wrap: anywhere; }
.bl-stderr {
  color: var(--bl-stderr);
  background: var(--bl-stderr-bg);
  border-radius: 3px;
  box-decoration-break: clone;
  -webkit-box-decoration-break: clone;
}
.bl-result { padding-left: 10px; border-left: 2px solid var(--bl-accent); }
.bl-error {
  padding: 8px 12px;
  background: var(--bl-error-bg);
  border: 1px solid var(--bl-error-border);
  border-radius: 8px;
}
.bl-error-head { color: var(--bl-error); overflow-wrap: anywhere; }
.bl-error-type { font-weight: 700; }
.bl-traceback { margin: 6px 0 0; color: var(--bl-fg); opacity: 0.85; }
.bl-line {
  all: unset;
  color: var(--bl-accent);
  cursor: pointer;
  text-decoration: underline;
  text-underline-offset: 2px;
}
.bl-line:focus-visible { outline: 2px solid var(--bl-accent); }
.bl-root:not([data-mode="editor"], [data-mode="playground"]) .bl-line { color: inherit; text-decoration: none; pointer-events: none; }
.bl-html { font: 13px/1.5 var(--bl-ui-font); overflow: auto; position: relative; contain: paint; }
.bl-html table { border-collapse: collapse; font-size: 12px; }
.bl-html th, .bl-html td { padding: 4px 10px; border-bottom: 1px solid var(--bl-border); text-align: right; }
.bl-html thead th { border-bottom-width: 2px; }
.bl-plot { overflow: auto; }
.bl-root[data-mode="debug"] :is(.bl-result, .bl-html, .bl-plot, .bl-display) { display: none; }

/* loading */
.bl-loading { display: none; flex-direction: column; gap: 8px; padding: 14px 16px; max-width: 420px; }
.bl-root[data-status="loading"] .bl-loading { display: flex; }
.bl-loading-title { display: flex; align-items: center; gap: 8px; font-weight: 500; }
.bl-loading-phase { color: var(--bl-muted); font-size: 12px; }
.bl-spinner {
  width: 12px;
  height: 12px;
  border-radius: 50%;
  border: 2px solid var(--bl-border);
  border-top-color: var(--bl-accent);
  animation: bl-spin 0.8s linear infinite;
}
.bl-bar { position: relative; height: 4px; border-radius: 2px; background: var(--bl-border); overflow: hidden; }
.bl-bar-fill {
  height: 100%;
  width: var(--bl-progress);
  border-radius: inherit;
  background: linear-gradient(90deg, var(--bl-accent), var(--bl-accent-hover), var(--bl-accent));
  background-size: 200% 100%;
  animation: bl-shimmer 1.4s linear infinite;
  transition: width 0.4s ease;
}

/* bokeh_live.progress(): a bar above the output, or beside the status line in compact mode */
.bl-progress { display: flex; align-items: center; gap: 10px; padding: 8px 14px 0; font-size: 12px; color: var(--bl-muted); }
.bl-progress[hidden] { display: none; }
.bl-progress .bl-bar { flex: 1 1 auto; min-width: 40px; }
.bl-progress-fill { height: 100%; width: 0; border-radius: inherit; background: var(--bl-accent); transition: width 0.15s linear; }
.bl-progress-text { flex: 0 1 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-variant-numeric: tabular-nums; }
.bl-root[data-mode="compact"] .bl-progress { padding: 0; width: 180px; }

/* compact: one status line */
.bl-root[data-mode="compact"] {
  flex-direction: row;
  align-items: center;
  gap: 8px;
  width: auto;
  height: auto;
  max-width: 100%;
  padding: 3px 8px 3px 4px;
  background: var(--bl-bar-bg);
  border: 1px solid var(--bl-border);
  border-radius: 999px;
}
.bl-mini-bar { display: none; width: 56px; flex: none; }
.bl-root[data-mode="compact"][data-status="loading"] .bl-mini-bar { display: block; }

@keyframes bl-spin { to { transform: rotate(360deg); } }
@keyframes bl-pulse { 50% { opacity: 0.35; } }
@keyframes bl-shimmer { from { background-position: 200% 0; } to { background-position: 0 0; } }
@media (prefers-reduced-motion: reduce) {
  .bl-dot, .bl-spinner, .bl-bar-fill { animation: none !important; }
  .bl-progress-fill { transition: none; }
}
`
