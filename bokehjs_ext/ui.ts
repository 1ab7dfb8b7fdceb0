/**
 * What a BokehLive shows: a status line and an output area (the editor and the other
 * modes' parts build on these). live.ts owns the runtime and the messages; this file owns
 * the DOM inside the view's shadow root, so nothing here leaks into the page.
 */
import {div} from "@bokehjs/core/dom"

export type Mode = "editor" | "app" | "playground" | "headless" | "compact" | "debug"
export type Status = "idle" | "loading" | "ready" | "running" | "error"
export type Stream = "stdout" | "stderr"

/** What the view tells the UI it can do. */
export interface UIHost {
  /** Run `code` now (the editor's Run button, Ctrl/Cmd+Enter); the view writes it to `code`. */
  run(code: string): void
}

export const CSS = `
:host { font-family: var(--bokeh-live-font, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace); font-size: 13px; }
.bl-status { color: #555; padding: 2px 4px; }
.bl-status[data-status="error"] { color: #b00020; }
.bl-output { margin: 0; padding: 4px; white-space: pre-wrap; overflow: auto; }
.bl-stderr, .bl-error { color: #b00020; }
`

export class LiveUI {
  readonly status_el = div({class: "bl-status"})
  readonly output_el = div({class: "bl-output"})

  constructor(readonly host: UIHost) {}

  /** Build the DOM for `mode` into the (emptied) shadow root. */
  render(root: ShadowRoot, _mode: Mode, _code: string): void {
    root.append(this.status_el, this.output_el)
  }

  show_status(status: Status, phase: string): void {
    this.status_el.textContent = status == "loading" ? `loading: ${phase}` : status
    this.status_el.dataset.status = status
  }

  /** A new run of the model's code starts: forget the last one's output. */
  clear(): void {
    this.output_el.replaceChildren()
  }

  stream(name: Stream, text: string): void {
    this.append(text, `bl-${name}`)
  }

  /** The value of the code's last expression, if not None. */
  result(repr: string): void {
    this.append(`${repr}\n`, "bl-result")
  }

  error(traceback: string): void {
    this.append(traceback, "bl-error")
  }

  /** `bokeh_live.display(obj)`: kind "html", "bokeh" (a json_item dict) or "text". */
  display(kind: string, data: unknown): void {
    this.append(`${kind == "text" || kind == "html" ? String(data) : JSON.stringify(data)}\n`, "bl-display")
  }

  protected append(text: string, cls: string): void {
    const last = this.output_el.lastElementChild as HTMLElement | null
    if (last != null && last.className == cls) {
      last.textContent += text
    } else {
      this.output_el.append(div({class: cls, style: {display: "inline"}}, text))
    }
  }
}
