/**
 * What a BokehLive shows, mode by mode. live.ts owns the runtime and the messages; this
 * file owns the DOM inside the view's shadow root, so nothing here leaks into the page.
 *
 * Every part (editor, output, status, buttons) is built once and only re-arranged when
 * the mode changes or Bokeh re-renders: the editor keeps its undo history and the output
 * keeps what the code printed.
 */
import {button, div, kbd, option, select, span} from "@bokehjs/core/dom"
import type {Dict} from "@bokehjs/core/types"

import {CodeEditor} from "./editor"
import type {Complete} from "./editor"
import {OutputArea} from "./output"
import {error_line, error_summary} from "./traceback"
import type {Stream} from "./output"
import {ICONS} from "./icons"
import type {MODES, STATUSES, THEMES} from "./shared"
import {PHASES} from "./shared"

export {CSS} from "./styles"

export type Mode = typeof MODES[number]
export type Status = typeof STATUSES[number]
export type Theme = typeof THEMES[number]

/** What the view tells the UI it can do. */
export interface UIHost {
  /** Run `code` now (the editor's Run button, Ctrl/Cmd+Enter); the view writes it to `code`. */
  run(code: string): void
  /** Stop the running code (the Stop button, Esc). */
  stop(): void
  /** The editor's completions, from the model's live namespace. */
  complete: Complete
}

export type UIProps = {mode: Mode, code: string, theme: Theme, examples: Dict<string>}

/** `examples` arrives as a Map from a server and as an object from standalone HTML. */
function to_map(examples: Dict<string>): Map<string, string> {
  return examples instanceof Map ? new Map(examples) : new Map(Object.entries(examples))
}

/** Widths for a model given none (Bokeh's own widgets do the same with `default_size`). */
export function default_width(mode: Mode): number | null {
  switch (mode) {
    case "editor":
    case "playground": return 720
    case "debug": return 560
    default: return null
  }
}

/** A `V` for each item of the tuple `T`: as many, in the same order. */
type Each<T extends readonly unknown[], V> = {[I in keyof T]: V}

/** How far along each of the worker's start-up PHASES is, in their order, for the progress bar. */
const PHASE_PROGRESS: Each<typeof PHASES, number> = [0.12, 0.45, 0.8]

const LABELS: {[S in Status]: string} = {idle: "Idle", loading: "Loading Python", running: "Running", ready: "Ready", error: "Error"}

const MAC = typeof navigator != "undefined" && /Mac|iPhone|iPad/.test(navigator.userAgent)

function icon(name: keyof typeof ICONS): HTMLElement {
  const el = span({class: "bl-icon", "aria-hidden": "true"})
  el.innerHTML = ICONS[name]
  return el
}

export class LiveUI {
  readonly root_el = div({class: "bl-root"})
  readonly output = new OutputArea((line) => this.editor?.go_to(line))

  protected readonly status_el = div({class: "bl-status", role: "status"})
  protected readonly status_label = span({class: "bl-status-label"})
  protected readonly status_detail = span({class: "bl-status-detail"})
  protected readonly loading_el = div({class: "bl-loading"})
  protected readonly loading_phase = span({class: "bl-loading-phase"})
  protected readonly progress_el = div({class: "bl-progress", role: "progressbar"})
  protected readonly progress_fill = div({class: "bl-progress-fill"})
  protected readonly progress_text = span({class: "bl-progress-text"})
  protected readonly run_button = button({class: ["bl-button", "bl-run"], type: "button", title: `Run (${MAC ? "⌘" : "Ctrl"}+Enter)`})
  protected readonly stop_button = button({class: ["bl-button", "bl-stop"], type: "button", title: "Stop the running code (Esc)"})
  protected readonly examples_select = select({class: "bl-select", title: "Examples"})
  protected readonly reset_button = button({class: "bl-button", type: "button", title: "Put the selected example's code back"})
  protected readonly copy_button = button({class: "bl-button", type: "button", title: "Copy the code"})
  protected readonly clear_output_button = button({class: ["bl-button", "bl-small"], type: "button", title: "Clear the output"})
  protected readonly copy_output_button = button({class: ["bl-button", "bl-small"], type: "button", title: "Copy the output as text"})
  protected readonly output_tools = div({class: "bl-output-tools"}, this.clear_output_button, this.copy_output_button)

  protected editor: CodeEditor | null = null
  protected shadow: ShadowRoot | null = null
  protected props: UIProps = {mode: "editor", code: "", theme: "auto", examples: {}}
  protected examples = new Map<string, string>()
  protected selected: string | null = null
  protected status: Status = "idle"
  protected run_started: number | null = null
  protected last_run: number | null = null
  protected readonly copied_timers = new Map<HTMLElement, number>()
  /** The traceback in the output area, so a failure reported only by status is shown once. */
  protected shown_error: string | null = null

  constructor(readonly host: UIHost) {
    this.status_el.append(span({class: "bl-dot"}), this.status_label, this.status_detail)
    this.loading_el.append(
      div({class: "bl-loading-title"}, span({class: "bl-spinner"}), "Loading Python"),
      this.loading_phase,
      div({class: "bl-bar"}, div({class: "bl-bar-fill"})),
    )
    this.progress_el.append(div({class: "bl-bar"}, this.progress_fill), this.progress_text)
    this.progress_el.setAttribute("aria-valuemin", "0")
    this.progress_el.setAttribute("aria-valuemax", "100")
    this.progress(null)
    this.run_button.append(icon("run"), "Run", kbd(MAC ? "⌘↵" : "Ctrl ↵"))
    this.run_button.addEventListener("click", () => this.run())
    this.stop_button.append(icon("stop"), "Stop", kbd("Esc"))
    this.stop_button.addEventListener("click", () => this.host.stop())
    this.root_el.addEventListener("keydown", (event) => {
      if (event.key == "Escape" && this.status == "running") {
        event.preventDefault()
        this.host.stop()
      }
    })
    this.reset_button.append(icon("reset"), "Reset")
    this.reset_button.addEventListener("click", () => this.reset())
    this.copy_button.append(icon("copy"), span("Copy"))
    this.copy_button.addEventListener("click", () => void this.copy(this.editor?.code ?? this.props.code, this.copy_button))
    this.clear_output_button.append("Clear")
    this.clear_output_button.addEventListener("click", () => {
      this.output.clear()
      this.shown_error = null
    })
    this.copy_output_button.append(icon("copy"), span("Copy"))
    this.copy_output_button.addEventListener("click", () => void this.copy(this.output.text(), this.copy_output_button))
    this.examples_select.addEventListener("change", () => this.choose(this.examples_select.value))
  }

  /** Put the UI into the (emptied) shadow root, arranged for `props.mode`. */
  render(root: ShadowRoot, props: UIProps): void {
    this.shadow = root
    this.props = {...props}
    this.examples = to_map(props.examples)
    this.root_el.dataset.theme = props.theme
    this.arrange()
    root.append(this.root_el)
    this.editor?.attached()
  }

  set_mode(mode: Mode): void {
    if (mode != this.props.mode) {
      this.props.mode = mode
      this.arrange()
      this.editor?.attached()
    }
  }

  set_theme(theme: Theme): void {
    this.props.theme = theme
    this.root_el.dataset.theme = theme
  }

  /** The server changed `code`: show it, unless the editor already holds it. */
  set_code(code: string): void {
    this.props.code = code
    this.editor?.set_code(code)
    this.sync_examples()
  }

  set_examples(examples: Dict<string>): void {
    this.examples = to_map(examples)
    this.sync_examples()
  }

  /** Whether the view has a height of its own to fill (else it grows with its content). */
  set_fill(fill: boolean): void {
    this.root_el.dataset.fill = fill ? "true" : "false"
  }

  show_status(status: Status, phase: string, error: string = ""): void {
    if (status != this.status) {
      const now = performance.now()
      if (status == "running") {
        this.run_started = now
      } else if (this.status == "running" && this.run_started != null) {
        this.last_run = now - this.run_started
      }
    }
    let detail = ""
    if (status == "loading") {
      detail = phase
    } else if (status == "error") {
      detail = error_summary(error)
    } else if (status == "ready" && this.last_run != null) {
      const ms = this.last_run
      detail = `ran in ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`}`
    }
    if (status == "error" && error != "" && error != this.shown_error) {
      this.error(error)  // failures outside a run (Pyodide or a package did not load) too
    }
    this.status = status
    this.root_el.dataset.status = status
    this.status_el.dataset.status = status
    this.status_label.textContent = LABELS[status]
    this.status_detail.textContent = detail
    this.status_el.title = status == "error" ? error : `${LABELS[status]}${detail != "" ? `: ${detail}` : ""}`
    this.loading_phase.textContent = `${phase.charAt(0).toUpperCase()}${phase.slice(1)}…`
    const progress = PHASE_PROGRESS[PHASES.indexOf(phase as typeof PHASES[number])] ?? 0.9
    this.root_el.style.setProperty("--bl-progress", `${Math.round(progress * 100)}%`)
  }

  // --- output ---------------------------------------------------------------------------

  /** `bokeh_live.progress(fraction, text)` from the browser code; null hides the bar. */
  progress(fraction: number | null, text: string = ""): void {
    this.progress_el.hidden = fraction == null
    if (fraction == null) {
      return
    }
    const percent = Math.round(fraction * 100)
    this.progress_fill.style.width = `${percent}%`
    this.progress_el.setAttribute("aria-valuenow", `${percent}`)
    this.progress_text.textContent = text != "" ? `${text} · ${percent}%` : `${percent}%`
  }

  /** What the editor holds now (null without an editor): it may differ from `code` until run. */
  get code(): string | null {
    return this.editor?.code ?? null
  }

  /** A new run of the model's code starts: forget the last one's output. */
  clear(): void {
    this.progress(null)
    this.output.clear()
    this.shown_error = null
    this.editor?.mark_error(null)
  }

  stream(name: Stream, text: string): void {
    this.output.stream(name, text)
  }

  error(traceback: string): void {
    this.shown_error = traceback
    this.output.error(traceback)
    this.editor?.mark_error(error_line(traceback))
  }

  /** `bokeh_live.display(obj)`: kind "html", "bokeh" (a json_item dict) or "text". */
  display(kind: string, data: unknown): void {
    this.output.display(kind, data)
  }

  remove(): void {
    this.editor?.destroy()
    this.output.clear()
  }

  // --- layout ---------------------------------------------------------------------------

  protected arrange(): void {
    const {mode} = this.props
    this.root_el.dataset.mode = mode
    this.output.el.dataset.placeholder = {
      editor: `Press Run or ${MAC ? "⌘" : "Ctrl"}+Enter to see the output here`,
      playground: "Pick an example or write code, then press Run",
      debug: "Nothing printed yet",
    }[mode as string] ?? ""
    // Clear and Copy where the output is something to read: not in an app's own display.
    const tools = mode == "editor" || mode == "playground" || mode == "debug" ? this.output_tools : null
    const output_pane = div({class: ["bl-pane", "bl-output-pane"]}, tools, this.loading_el, this.progress_el, this.output.el)
    switch (mode) {
      case "editor":
      case "playground": {
        const tools = mode == "playground" ? [this.examples_field(), this.reset_button, this.copy_button]
          : [div({class: "bl-title"}, "Python")]
        const toolbar = div({class: "bl-toolbar"}, ...tools, div({class: "bl-spacer"}), this.status_el, this.run_button, this.stop_button)
        const editor_pane = div({class: ["bl-pane", "bl-editor-pane"]}, this.ensure_editor().dom)
        this.root_el.replaceChildren(toolbar, div({class: "bl-panes"}, editor_pane, output_pane))
        this.sync_examples()
        break
      }
      case "app":
        this.root_el.replaceChildren(output_pane)
        break
      case "debug": {
        const title = div({class: "bl-title"}, "Log", span({class: "bl-subtitle"}, "stdout · stderr"))
        this.root_el.replaceChildren(div({class: "bl-toolbar"}, title, div({class: "bl-spacer"}), this.status_el), output_pane)
        break
      }
      case "compact":
        this.root_el.replaceChildren(this.status_el, div({class: ["bl-bar", "bl-mini-bar"]}, div({class: "bl-bar-fill"})),
          this.progress_el)
        break
      case "headless":
        this.root_el.replaceChildren()
        break
    }
  }

  protected ensure_editor(): CodeEditor {
    if (this.editor == null) {
      if (this.shadow == null) {
        throw new Error("the editor needs the view's shadow root")
      }
      this.editor = new CodeEditor(this.shadow, this.props.code, (code) => this.host.run(code), this.host.complete)
    }
    return this.editor
  }

  protected examples_field(): HTMLElement {
    return span({class: "bl-select-wrap"}, this.examples_select)
  }

  // --- actions ----------------------------------------------------------------------------

  protected run(): void {
    this.host.run(this.editor?.code ?? this.props.code)
  }

  /** Keep the menu in step with `examples` and with the code the editor shows. */
  protected sync_examples(): void {
    const {examples} = this
    const names = [...examples.keys()]
    const current = this.editor?.code ?? this.props.code
    if (this.selected == null || examples.get(this.selected) != current) {
      this.selected = names.find((name) => examples.get(name) == current) ?? this.selected
    }
    if (this.selected != null && !examples.has(this.selected)) {
      this.selected = null
    }
    const placeholder = option({value: "", disabled: true}, names.length == 0 ? "No examples" : "Examples…")
    this.examples_select.replaceChildren(placeholder, ...names.map((name) => option({value: name}, name)))
    this.examples_select.value = this.selected ?? ""
    this.examples_select.disabled = names.length == 0
    this.reset_button.disabled = this.selected == null
  }

  /** Picking an example shows its code and runs it. */
  protected choose(name: string): void {
    const code = this.examples.get(name)
    if (code == null) {
      return
    }
    this.selected = name
    this.reset_button.disabled = false
    this.ensure_editor().set_code(code)
    this.host.run(code)
  }

  protected reset(): void {
    const code = this.selected != null ? this.examples.get(this.selected) : null
    if (code != null) {
      this.ensure_editor().set_code(code)
    }
  }

  /** Copy `text` to the clipboard; `source`'s label says "Copied" for a moment. */
  protected async copy(text: string, source: HTMLElement): Promise<void> {
    try {
      await navigator.clipboard.writeText(text)
    } catch {
      // Without a secure context there is no clipboard API; a selected textarea still copies.
      const area = document.createElement("textarea")
      area.value = text
      this.root_el.append(area)
      area.select()
      document.execCommand("copy")
      area.remove()
    }
    const label = source.lastElementChild!
    label.textContent = "Copied"
    clearTimeout(this.copied_timers.get(source))
    this.copied_timers.set(source, window.setTimeout(() => label.textContent = "Copy", 1200))
  }
}
