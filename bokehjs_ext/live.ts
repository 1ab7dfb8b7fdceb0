/**
 * BokehLive: runs Python in the visitor's browser (Pyodide in the page's shared worker)
 * and talks to its server model. Python twin: bokeh_live/live.py.
 */
import {LayoutDOM, LayoutDOMView} from "@bokehjs/models/layouts/layout_dom"
import type {DOMBoxSizing} from "@bokehjs/models/layouts/layout_dom"
import type {UIElement} from "@bokehjs/models/ui/ui_element"
import type {StyleSheetLike} from "@bokehjs/core/dom"
import {Signal} from "@bokehjs/core/signaling"
import type * as p from "@bokehjs/core/properties"
import type {Dict} from "@bokehjs/core/types"

import {ServerMessages} from "./protocol"
import type {ServerMessage} from "./protocol"
import {PYODIDE_CDN, Runtime, default_index_url} from "./runtime"
import type {ModelMessage, RuntimeEvent, RuntimeListener} from "./runtime"
import type {FromWorker} from "./worker"
import {Tail, from_worker, keep_tail, to_worker} from "./values"
import type {Chunk} from "./chunks"
import {Channel} from "./channel"
import {COMPLETE_TIMEOUT_MS, MAX_MESSAGE_BYTES, VERSION} from "./shared"
import {CSS, LiveUI, default_width} from "./ui"
import {refuse_update} from "./allow"
import {EditorAssets} from "./editor"
import type {Completions} from "./editor"

/** A run in the worker: the model's `code`, or a server's `run_python` call. */
type Run = {kind: "code" | "call", stdout: Tail, stderr: Tail, timer?: number, stopped?: string, start?: () => void,
  began?: number}

/** The last line of a stopped run's error: why it was stopped. */
const TIMED_OUT = "TimeoutError"
const STOPPED = "KeyboardInterrupt"

/** `bokeh_live.send` without a server is said once per page, not once per call. */
let no_server_noted = false

/** While a run of `code` prints, the server's `stdout` and `stderr` follow this often. */
const STREAM_PROPERTY_MS = 200

export class BokehLiveView extends LayoutDOMView {
  declare model: BokehLive

  protected runtime!: Runtime
  protected ui = new LiveUI({
    run: (code) => this.run_from_ui(code),
    stop: () => this.stop_code(`${STOPPED}: stopped from the page`),
    complete: (before) => this.complete(before),
  })
  /** The editor's completion requests waiting for the worker, by id. */
  protected completions = new Map<string, (found: Completions | null) => void>()
  protected completion_number = 0
  protected runs = new Map<string, Run>()
  protected code_run: string | null = null
  protected code_runs = 0
  /** The run of `code` that was stopped (a runaway): a restart does not start it again. */
  protected stopped_code: string | null = null
  /** Settles when the model's packages are loaded and its code has run (or will not run):
   * calls and server data wait for it. A restart makes a new one. */
  protected code_settled!: Promise<void>
  protected settle_code!: () => void
  protected packages_loaded: Promise<string | null> = Promise.resolve(null)
  /** What the status line says while this model loads its packages. */
  protected package_phase: string | null = null
  protected stream_timer: number | null = null
  protected progress_timer: number | null = null
  protected code_runs_ended = 0
  protected last_run_ms: number | null = null
  protected packages_ms: number | null = null
  protected progress_next: [number, string] | null = null
  protected run_when_ready = false
  protected channel!: Channel
  protected readonly listener: RuntimeListener = {
    message: (message) => this.on_worker(message),
    runtime: (event) => this.on_runtime(event),
    resend: (ids) => {
      for (const id of ids) {
        const run = this.runs.get(id)
        if (run?.kind == "call") {
          run.start?.()
        } else if (run != null) {
          this.runs.delete(id)
          this.run_when_ready = true  // the model's code, asked for while a run was being stopped
        }
      }
    },
  }

  get child_models(): UIElement[] {
    return []
  }

  override async lazy_initialize(): Promise<void> {
    await super.lazy_initialize()
    this.renew_code_settled()
    this.restore_code()  // before the signals are connected: the first run runs it, once
    this.runtime = this.model.runtime()
    this.runtime.attach(this.model.id, this.listener)
    this.channel = new Channel(this.model, (messages) => this.on_server(messages))
    this.set_status("loading")
    if (this.runtime.state == "ready") {
      this.runtime_ready()
    } else if (this.runtime.state == "failed" || this.runtime.state == "crashed") {
      this.on_runtime({kind: this.runtime.state, error: this.runtime.failure})
    }
    this.channel.receive()
    this.channel.announce()
    window.addEventListener("pagehide", this.page_hidden)
    window.addEventListener("pageshow", this.page_shown)
  }

  /**
   * A page left for another stays in the back/forward cache with its websocket open: the
   * server fails its calls at once instead of at their timeouts, and holds new messages
   * until the page is shown again.
   */
  protected readonly page_hidden = (event: PageTransitionEvent) => {
    this.save_code()
    if (event.persisted) {
      this.channel.send({type: "view", state: "hidden"})
    }
  }

  protected readonly page_shown = (event: PageTransitionEvent) => {
    if (event.persisted) {
      this.channel.send({type: "view", state: "shown"})
    }
  }

  override connect_signals(): void {
    super.connect_signals()
    const {code, mode, value, max_message_size, packages, requirements, index_urls, auto_packages, theme, examples} =
      this.model.properties
    this.on_change(code, () => {
      this.ui.set_code(this.model.code)
      if (this.model.auto_run) {
        void this.run_code()
      }
    })
    this.on_change(mode, () => {
      this.ui.set_mode(this.model.mode)
      this.invalidate_layout()
    })
    this.on_change(theme, () => this.ui.set_theme(this.model.theme))
    this.on_change(examples, () => this.ui.set_examples(this.model.examples))
    this.on_change([value, max_message_size, auto_packages], () => this.send_config())
    this.on_change([packages, requirements, index_urls], () => {
      if (this.runtime.state == "ready") {
        this.load_packages()
        if (this.model.auto_run) {
          void this.run_code()
        }
      }
    })
    this.connect(this.model.server_messages, () => this.channel.receive())
  }

  override remove(): void {
    this.save_code()
    window.removeEventListener("pagehide", this.page_hidden)
    window.removeEventListener("pageshow", this.page_shown)
    this.runtime.detach(this.model.id, this.listener)
    this.ui.remove()
    super.remove()
  }

  override stylesheets(): StyleSheetLike[] {
    return [...super.stylesheets(), CSS]
  }

  override render(): void {
    super.render()
    const {mode, code, theme, examples} = this.model
    this.ui.render(this.shadow_el, {mode, code, theme, examples})
    this.show_status()
  }

  protected override _update_layout(): void {
    super._update_layout()
    if (this.model.mode == "headless") {
      this.style.append(":host", {display: "none"})
    }
    const {height, height_policy} = this.box_sizing()
    this.ui.set_fill(height != null || height_policy == "fit" || height_policy == "max")
  }

  /** A model given no width gets one that suits its mode, as Bokeh's widgets do. */
  override box_sizing(): DOMBoxSizing {
    const sizing = super.box_sizing()
    if (sizing.width == null && sizing.width_policy == "auto") {
      sizing.width = default_width(this.model.mode)
    }
    return sizing
  }

  // --- runtime and code ---------------------------------------------------------------

  protected on_runtime(event: RuntimeEvent): void {
    switch (event.kind) {
      case "phase":
        this.show_status()
        break
      case "ready":
        this.runtime_ready()
        break
      case "failed":
        this.model.setv({status: "error", error: `Pyodide failed to start from ${this.runtime.index_url}\n${event.error}`})
        this.settle_code()
        this.show_status()
        break
      case "restarting":
        // Runs in the old worker have already ended; calls from now on wait for the re-run.
        this.renew_code_settled()
        this.set_status("loading")
        break
      case "crashed":
        this.model.setv({status: "error", error: `RuntimeError: the Python runtime crashed: ${event.error}. ` +
          "It restarts on the next run or call.\n"})
        this.settle_code()
        this.show_status()
        break
    }
  }

  /** A (fresh) runtime is ready: give it this model's state, packages and code. */
  protected runtime_ready(): void {
    this.send_config()
    this.load_packages()
    const stopped = this.stopped_code != null && this.stopped_code == this.code_run
    const run = this.run_when_ready || (this.model.auto_run && this.model.code.trim() != "" && !stopped)
    this.run_when_ready = false
    if (run) {
      void this.run_code()
    } else {
      void this.packages_loaded.then((failure) => {
        // A stopped run keeps its error: the namespace it was building is gone.
        if (failure != null) {
          this.model.setv({status: "error", error: failure})
        } else {
          this.model.status = stopped ? "error" : "ready"
        }
        this.settle_code()
        this.show_status()
      })
    }
  }

  protected load_packages(): void {
    const {packages, requirements, index_urls} = this.model
    const names = [...packages, ...requirements]
    this.package_phase = names.length != 0 ? `loading packages: ${names.join(", ")}` : null
    const began = performance.now()
    const loaded = this.packages_loaded = this.runtime.load(packages, requirements, index_urls)
    void loaded.then(() => {
      if (this.packages_loaded == loaded) {
        this.package_phase = null
        this.packages_ms = names.length != 0 ? performance.now() - began : 0
        this.report_metrics()
      }
    })
  }

  /** What the server's `live.metrics()` reads from the browser (BROWSER_METRICS). */
  protected report_metrics(): void {
    const metrics: Dict<number> = {code_runs: this.code_runs_ended, restarts: this.runtime.restarts}
    if (this.runtime.snapshot != null) {
      metrics.from_snapshot = this.runtime.snapshot == "loaded" ? 1 : 0
    }
    const optional = {python_start_ms: this.runtime.start_ms, packages_ms: this.packages_ms,
                      last_run_ms: this.last_run_ms}
    for (const [key, value] of Object.entries(optional)) {
      if (value != null) {
        metrics[key] = Math.round(value * 10) / 10
      }
    }
    this.model.browser_metrics = metrics
  }

  protected renew_code_settled(): void {
    this.settle_code?.()
    this.code_settled = new Promise((resolve) => this.settle_code = resolve)
  }

  /** Wait for the model's code, including a re-run after a restart that happens meanwhile. */
  protected async when_code_settled(): Promise<void> {
    for (let settled = this.code_settled; ; settled = this.code_settled) {
      await settled
      if (settled == this.code_settled) {
        return
      }
    }
  }

  protected send_config(): void {
    const {value, max_message_size, auto_packages} = this.model
    this.runtime.post({kind: "config", model: this.model.id, value: to_worker(value), limit: max_message_size,
      auto_packages})
  }

  /** A crashed runtime restarts when something needs it: every model's code then runs again. */
  protected restart_if_crashed(): boolean {
    if (this.runtime.state != "crashed") {
      return false
    }
    this.runtime.restart("it had crashed")
    return true
  }

  /** Run the model's `code` in a fresh namespace, after its packages. */
  async run_code(): Promise<void> {
    if (this.restart_if_crashed()) {
      this.run_when_ready = true  // the fresh runtime runs it, with or without auto_run
      return
    }
    const id = `code-${++this.code_runs}`
    this.code_run = id
    this.stopped_code = null
    this.set_status(this.package_phase != null ? "loading" : "running")
    const failure = await this.packages_loaded
    if (this.code_run != id) {
      return  // superseded while packages loaded
    }
    if (failure != null) {
      this.model.setv({status: "error", error: failure, stdout: "", stderr: ""})
      this.settle_code()
      this.show_status()
      return
    }
    this.set_status("running")
    this.ui.clear()
    this.report_progress(null)
    const run: Run = {kind: "code", stdout: new Tail(), stderr: new Tail(), began: performance.now()}
    const {run_timeout} = this.model
    if (run_timeout != null) {
      run.timer = window.setTimeout(() => this.stop_code(`${TIMED_OUT}: the code ran longer than run_timeout (${run_timeout} s)`),
        run_timeout * 1000)
    }
    this.runs.set(id, run)
    this.runtime.run(this.model.id, id, this.model.code, {}, true)
  }

  /**
   * What could follow `before` in this model's namespace, asked of the worker; null when
   * Python is not ready, or busy beyond COMPLETE_TIMEOUT_MS (a run that never awaits).
   */
  protected complete(before: string): Promise<Completions | null> {
    if (this.runtime.state != "ready") {
      return Promise.resolve(null)
    }
    const id = `complete-${++this.completion_number}`
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => end(null), COMPLETE_TIMEOUT_MS)
      const end = (found: Completions | null) => {
        clearTimeout(timer)
        this.completions.delete(id)
        resolve(found)
      }
      this.completions.set(id, end)
      this.runtime.post({kind: "complete", model: this.model.id, id, before})
    })
  }

  /** Stop the running `code` (the Stop button, Esc, run_timeout); `reason` ends its error. */
  stop_code(reason: string): void {
    const id = this.code_run
    const run = id != null ? this.runs.get(id) : null
    if (id != null && run != null && run.stopped == null) {
      run.stopped = reason
      this.stopped_code = id
      this.runtime.stop([id], reason)
    }
  }

  // --- messages -------------------------------------------------------------------------

  protected on_server(messages: ServerMessage[]): void {
    for (const message of messages) {
      switch (message.type) {
        case "server_data": {
          this.el.dispatchEvent(new CustomEvent("bokeh-live:server-data", {detail: message.data, bubbles: true, composed: true}))
          // After the code that registers on_server_data has run; in order, as promises are.
          void this.when_code_settled().then(() => {
            const transfer: Transferable[] = []
            const data = to_worker(message.data, transfer)
            this.runtime.post({kind: "server_data", model: this.model.id, data}, transfer)
          })
          break
        }
        case "run_python": {
          const {code, kwargs, request_id} = message
          const start = () => void this.when_code_settled().then(() => {
            if (this.runs.has(request_id)) {  // not cancelled meanwhile
              const transfer: Transferable[] = []
              this.runtime.run(this.model.id, request_id, code, to_worker(kwargs, transfer, true), false, transfer)
            }
          })
          this.runs.set(request_id, {kind: "call", stdout: new Tail(), stderr: new Tail(), start})
          this.restart_if_crashed()  // then the call waits for this model's code to run again
          start()
          break
        }
        case "cancel": {
          // The server stopped waiting (a timeout, a cancelled task): stop the run, send nothing.
          this.runs.delete(message.request_id)
          this.runtime.stop([message.request_id], "the server stopped waiting for a call")
          break
        }
        case "interrupt": {
          this.stop_code(`${STOPPED}: interrupted by the server`)
          this.runtime.stop(this.runtime.runs_of(this.model.id), "interrupted by the server")
          break
        }
        case "restart": {
          this.runtime.restart("the server asked for a restart")
          break
        }
        case "call_result": {
          const transfer: Transferable[] = []
          const result = to_worker(message.result, transfer)
          this.reply(message.call_id, {result, error: null, error_type: null}, transfer)
          break
        }
        case "call_error": {
          this.reply(message.call_id, {result: null, error: message.error, error_type: message.error_type})
          break
        }
      }
    }
  }

  protected on_worker(message: ModelMessage): void {
    switch (message.kind) {
      case "stream": {
        const run = this.runs.get(message.id)
        if (run != null) {
          run[message.name].append(message.text)
          if (run.kind == "code" && message.id == this.code_run) {
            this.stream_to_server(message.id)
          }
        }
        if (this.shows(message.id)) {
          this.ui.stream(message.name, message.text)
        }
        break
      }
      case "display": {
        if (this.shows(message.id)) {
          this.ui.display(message.display, message.data)
        }
        break
      }
      case "send": {
        const data = from_worker(message.data)
        this.el.dispatchEvent(new CustomEvent("bokeh-live:output", {detail: data, bubbles: true, composed: true}))
        if (!this.has_server()) {
          if (!no_server_noted) {
            no_server_noted = true
            console.info("bokeh_live: this page has no Bokeh server, so bokeh_live.send() goes nowhere " +
              "(it still fires the 'bokeh-live:output' DOM event). Use bokeh_live.update() to change other models.")
          }
          break
        }
        this.channel.send({type: "output", data})
        break
      }
      case "update": {
        this.apply_update(message)
        break
      }
      case "completions": {
        this.completions.get(message.id)?.({prefix: message.prefix, options: message.options})
        break
      }
      case "call": {
        const {id, name, args, kwargs} = message
        if (!this.has_server()) {
          this.reply(id, {result: null, error_type: "RuntimeError",
            error: `this page has no Bokeh server, so bokeh_live.call('${name}') has nobody to call`})
        } else {
          this.channel.send({type: "call", call_id: id, name, args: from_worker(args) as unknown[],
            kwargs: from_worker(kwargs) as {[name: string]: unknown}})
        }
        break
      }
      case "progress": {
        if (this.runs.has(message.id)) {  // not a run the server stopped waiting for
          this.ui.progress(message.fraction, message.text)
          this.report_progress([message.fraction, message.text])
        }
        break
      }
      case "done":
      case "failed": {
        const run = this.runs.get(message.id)
        this.runs.delete(message.id)
        if (run == null) {
          break  // a call the server cancelled: it waits for no answer
        }
        clearTimeout(run.timer)
        if (run.kind == "code") {
          this.code_finished(message.id, run, message)
        } else if (message.kind == "done") {
          this.channel.send({type: "run_python_result", request_id: message.id, result: from_worker(message.result)})
        } else {
          this.channel.send({type: "run_python_error", request_id: message.id, error: keep_tail(message.error), error_type: message.error_type})
        }
        break
      }
    }
  }

  /** The answer to a `bokeh_live.call` of this model's browser code. */
  protected reply(id: string, answer: {result: unknown, error: string | null, error_type: string | null},
                  transfer: Transferable[] = []): void {
    this.runtime.post({kind: "reply", model: this.model.id, id, ...answer}, transfer)
  }

  /**
   * Whether the document's changes and events reach a server. BokehJS says so nowhere
   * public: a server session (ClientSession) is the one listener that takes batched
   * changes, so look for that. Standalone HTML and notebook output have none.
   */
  protected has_server(): boolean {
    const callbacks = (this.model.document as unknown as {_callbacks?: unknown} | null)?._callbacks
    if (!(callbacks instanceof Map)) {
      return true  // BokehJS changed inside: assume a server rather than drop messages
    }
    return [...callbacks.values()].some((allow_batches) => allow_batches === true)
  }

  /**
   * `bokeh_live.update(name, **props)`: set properties of another model of this document,
   * as CustomJS would (so a server, if any, gets the change too). Everything is checked
   * before anything is set: a failure leaves the model as it was and is written to the
   * run's stderr, never dropped silently.
   */
  protected apply_update(message: Extract<FromWorker, {kind: "update"}>): void {
    const {target, id} = message
    const failure = ((): string | null => {
      const doc = this.model.document
      if (doc == null) {
        return "this BokehLive is not in a document"
      }
      let model
      try {
        model = doc.get_model_by_name(target)
      } catch (error) {
        return `${(error as Error).message}: names given to update() must be unique`
      }
      if (model == null) {
        return `no model named '${target}' in this document (give the model name="${target}")`
      }
      const props = from_worker(message.props) as {[attr: string]: unknown}
      const refused = refuse_update(this.model.allow_update, target, model, Object.keys(props))
      if (refused != null) {
        return refused
      }
      for (const [attr, value] of Object.entries(props)) {
        const prop = (model.properties as {[attr: string]: p.Property<unknown> | undefined})[attr]
        if (prop == null) {
          return `${model.type} '${target}' has no property '${attr}'`
        }
        if (prop.readonly) {
          return `${model.type}.${attr} is read-only`
        }
        if (!prop.valid(value)) {
          return `${model.type}.${attr} cannot take this value (expected ${prop.kind})`
        }
      }
      try {
        model.setv(props)
      } catch (error) {
        return `setting ${model.type} '${target}' failed: ${(error as Error).message}`
      }
      return null
    })()
    if (failure != null) {
      const text = `bokeh_live.update: ${failure}\n`
      const run = this.runs.get(id)
      if (run != null) {
        run.stderr.append(text)
      }
      this.ui.stream("stderr", text)
      console.error(text.trim())
    }
  }

  protected code_finished(id: string, run: Run, message: ModelMessage): void {
    this.code_runs_ended++
    if (run.began != null) {
      this.last_run_ms = performance.now() - run.began
    }
    this.report_metrics()
    if (id != this.code_run) {
      return  // a newer run of `code` has started; its result is the one that counts
    }
    const [stdout, stderr] = [run.stdout.toString(), run.stderr.toString()]
    if (message.kind == "done") {
      this.model.setv({status: "ready", error: "", stdout, stderr})
    } else if (message.kind == "failed") {
      const error = run.stopped != null ? `${message.error}\n${run.stopped}\n` : message.error
      this.ui.error(error)
      this.model.setv({status: "error", error: keep_tail(error), stdout, stderr})
    }
    this.settle_code()
    this.show_status()
  }

  /** `progress` on the server follows the browser code's reports a few times a second; the
   * last one always arrives. */
  protected report_progress(progress: [number, string] | null): void {
    this.progress_next = progress
    if (progress == null) {
      clearTimeout(this.progress_timer ?? undefined)
      this.progress_timer = null
      this.model.progress = null
    } else if (this.progress_timer == null) {
      this.progress_timer = window.setTimeout(() => {
        this.progress_timer = null
        this.model.progress = this.progress_next
      }, STREAM_PROPERTY_MS)
    }
  }

  /** The server sees what a running `code` prints while it runs, a few times a second. */
  protected stream_to_server(id: string): void {
    if (this.stream_timer == null) {
      this.stream_timer = window.setTimeout(() => {
        this.stream_timer = null
        const run = this.runs.get(id)
        if (run != null && id == this.code_run) {
          this.model.setv({stdout: run.stdout.toString(), stderr: run.stderr.toString()})
        }
      }, STREAM_PROPERTY_MS)
    }
  }

  // --- display --------------------------------------------------------------------------

  protected set_status(status: BokehLive["status"]): void {
    if (this.model.status != status) {
      this.model.status = status
    }
    this.show_status()
  }

  protected show_status(): void {
    const phase = this.runtime?.state == "ready" ? this.package_phase ?? this.runtime.phase : this.runtime?.phase
    this.ui.show_status(this.model.status, phase ?? "starting", this.model.error)
  }

  /** Output of a run of `code` that a newer run replaced would land in the newer one's. */
  protected shows(id: string): boolean {
    return this.runs.get(id)?.kind != "code" || id == this.code_run
  }

  // --- persist: the editor's text across reloads -------------------------------------------

  protected storage_key(): string | null {
    const {persist, name} = this.model
    if (!persist) {
      return null
    }
    if (name == null) {
      console.warn("bokeh_live: persist needs the model's name, to know its text again after a reload")
      return null
    }
    return `bokeh_live:code:${location.pathname}:${name}`
  }

  protected restore_code(): void {
    const key = this.storage_key()
    try {
      const saved = key != null ? localStorage.getItem(key) : null
      if (saved != null && saved != this.model.code) {
        this.model.code = saved
      }
    } catch {}  // no storage here (a sandboxed frame, a privacy mode): nothing to restore
  }

  protected save_code(): void {
    const key = this.storage_key()
    try {
      if (key != null) {
        localStorage.setItem(key, this.ui.code ?? this.model.code)
      }
    } catch {}  // full, or not allowed: the text is simply not kept
  }

  /** The editor ran `code`: keep the server's `code` in step and run it even if unchanged. */
  protected run_from_ui(code: string): void {
    this.save_code()
    if (this.model.code != code) {
      this.model.code = code  // with auto_run, the change itself starts the run
      if (this.model.auto_run) {
        return
      }
    }
    void this.run_code()
  }
}

export namespace BokehLive {
  export type Attrs = p.AttrsOf<Props>
  export type Props = LayoutDOM.Props & {
    code: p.Property<string>
    mode: p.Property<"editor" | "app" | "playground" | "headless" | "compact" | "debug">
    status: p.Property<"idle" | "loading" | "ready" | "running" | "error">
    error: p.Property<string>
    stdout: p.Property<string>
    stderr: p.Property<string>
    auto_run: p.Property<boolean>
    packages: p.Property<string[]>
    pyodide_url: p.Property<string | null>
    value: p.Property<unknown>
    output: p.Property<unknown>
    max_message_size: p.Property<number>
    examples: p.Property<Dict<string>>
    theme: p.Property<"auto" | "light" | "dark">
    allow_update: p.Property<Dict<string[]>>
    run_timeout: p.Property<number | null>
    sandbox: p.Property<boolean>
    package_url: p.Property<string | null>
    auto_packages: p.Property<boolean>
    requirements: p.Property<string[]>
    index_urls: p.Property<string[]>
    editor_assets: p.Property<EditorAssets | null>
    version: p.Property<string>
    progress: p.Property<[number, string] | null>
    browser_metrics: p.Property<Dict<number>>
    persist: p.Property<boolean>
    worker: p.Property<string>
    snapshot: p.Property<boolean>
  }
}

/** Once per page: a view compiled from other sources than the server's Python package. */
let version_warned = false
function warn_on_version(python: string): void {
  if (python != VERSION && !version_warned) {
    version_warned = true
    console.warn(`bokeh_live: the Python package is version ${python} but this page's view is ${VERSION}; ` +
                 "rebuild or reinstall bokeh_live so that both match")
  }
}

export interface BokehLive extends BokehLive.Attrs {}

export class BokehLive extends LayoutDOM {
  declare properties: BokehLive.Props
  declare __view_type__: BokehLiveView

  /**
   * Batches from the server wait in `inbox` until a view takes them: they can arrive after
   * the document is built but before its views are (a model also outlives its views).
   */
  declare inbox: {messages: ServerMessage[], chunks: Chunk[]}[]
  declare server_messages: Signal<void, this>

  static override __module__ = "bokeh_live.live"

  constructor(attrs?: Partial<BokehLive.Attrs>) {
    super(attrs)
  }

  /** The page's runtime, started by the first model built: Pyodide's download then overlaps
   * the building of the page's views. */
  runtime(): Runtime {
    return Runtime.shared(this.pyodide_url ?? default_index_url(), this.sandbox, this.package_url ??
      (this.pyodide_url == null ? PYODIDE_CDN : null), this.worker, this.snapshot)
  }

  override initialize(): void {
    super.initialize()
    warn_on_version(this.version)
    this.runtime()
    this.inbox = []
    this.server_messages = new Signal(this, "server_messages")
    this.on_event(ServerMessages, ({messages, chunks}: ServerMessages) => {
      this.inbox.push({messages, chunks})
      this.server_messages.emit()
    })
  }

  static {
    this.prototype.default_view = BokehLiveView

    this.define<BokehLive.Props>(({Any, Bool, Dict, Enum, Float, Int, List, Nullable, Ref, Str, Tuple}) => ({
      code:             [ Str, "" ],
      mode:             [ Enum("editor", "app", "playground", "headless", "compact", "debug"), "editor" ],
      status:           [ Enum("idle", "loading", "ready", "running", "error"), "idle" ],
      error:            [ Str, "" ],
      stdout:           [ Str, "" ],
      stderr:           [ Str, "" ],
      auto_run:         [ Bool, true ],
      packages:         [ List(Str), [] ],
      pyodide_url:      [ Nullable(Str), null ],
      value:            [ Any, null ],
      output:           [ Any, null ],
      max_message_size: [ Int, MAX_MESSAGE_BYTES ],
      examples:         [ Dict(Str), {} ],
      theme:            [ Enum("auto", "light", "dark"), "auto" ],
      allow_update:     [ Dict(List(Str)), {} ],
      run_timeout:      [ Nullable(Float), 300 ],
      sandbox:          [ Bool, false ],
      package_url:      [ Nullable(Str), null ],
      auto_packages:    [ Bool, true ],
      requirements:     [ List(Str), [] ],
      index_urls:       [ List(Str), [] ],
      editor_assets:    [ Nullable(Ref(EditorAssets)), null ],
      version:          [ Str, VERSION ],
      progress:         [ Nullable(Tuple(Float, Str)), null ],
      browser_metrics:  [ Dict(Float), {} ],
      persist:          [ Bool, false ],
      worker:           [ Str, "" ],
      snapshot:         [ Bool, true ],
    }))
  }
}
