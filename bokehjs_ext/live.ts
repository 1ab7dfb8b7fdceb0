/**
 * BokehLive: runs Python in the visitor's browser (Pyodide in the page's shared worker)
 * and talks to its server model. Python twin: bokeh_live/live.py.
 *
 * This file holds the model and its view's lifecycle, and routes messages: from the server
 * (channel.ts), from the worker (runtime.ts), and from the UI (ui.ts). Runs live in runs.ts.
 */
import {LayoutDOM, LayoutDOMView} from "@bokehjs/models/layouts/layout_dom"
import type {DOMBoxSizing} from "@bokehjs/models/layouts/layout_dom"
import type {UIElement} from "@bokehjs/models/ui/ui_element"
import type {StyleSheetLike} from "@bokehjs/core/dom"
import {Signal} from "@bokehjs/core/signaling"
import type * as p from "@bokehjs/core/properties"
import type {Dict} from "@bokehjs/core/types"

import {ServerMessages} from "./protocol"
import type {ClientMessage, ServerMessage} from "./protocol"
import {PYODIDE_CDN, Runtime, default_index_url, page_key} from "./runtime"
import type {ModelMessage, RuntimeEvent, RuntimeListener} from "./runtime"
import type {FromWorker} from "./worker"
import {from_worker, keep_tail} from "./values"
import type {Chunk} from "./chunks"
import {Channel} from "./channel"
import {Pending} from "./pending"
import {Runs, STOPPED} from "./runs"
import type {RunsHost} from "./runs"
import {has_server, heal_reconnections} from "./bokeh_internals"
import {save_code, saved_code} from "./persist"
import {BROWSER_METRICS, COMPLETE_TIMEOUT_MS, MAX_MESSAGE_BYTES, MODES, PHASES, STATUSES, THEMES, VERSION} from "./shared"
import {CSS, LiveUI, default_width} from "./ui"
import type {Mode, Status, Theme} from "./ui"
import {check_update} from "./allow"
import {Watcher} from "./watch"
import {module_sources} from "./modules"
import {EditorAssets} from "./editor"
import type {Completions} from "./editor"

/** `bokeh_live.send` without a server is said once per page, not once per call. */
let no_server_noted = false

export class BokehLiveView extends LayoutDOMView implements RunsHost {
  declare model: BokehLive

  runtime!: Runtime
  channel!: Channel
  /** The model's name on the page and in its worker: unique, whatever document it is of. */
  key!: string
  readonly ui = new LiveUI({
    run: (code) => this.run_from_ui(code),
    stop: () => {
      this.runs.stop_code(`${STOPPED}: stopped from the page`)
      this.watcher.stop(`${STOPPED}: stopped from the page`)
    },
    complete: (before) => this.complete(before),
  })
  protected readonly runs = new Runs(this)
  /** Browser callbacks: what `watch` lists, mirrored into the worker and sent as it changes. */
  protected readonly watcher = new Watcher({
    get_model: () => this.model,
    get_key: () => this.key,
    post: (message) => this.runtime.post(message),
    run: (message) => this.runtime.start_run(message),
    stop: (id, reason) => this.runtime.stop([id], reason),
    when_code_settled: () => this.runs.when_code_settled(),
  })
  /** The editor's completion requests, waiting for the worker. */
  protected readonly completions = new Pending<Completions>("complete")
  packages_loaded: Promise<string | null> = Promise.resolve(null)
  /** What the status line says while this model loads its packages. */
  package_phase: string | null = null
  protected packages_ms: number | null = null
  protected readonly listener: RuntimeListener = {
    message: (message) => this.on_worker(message),
    runtime: (event) => this.on_runtime(event),
    resend: (ids) => this.runs.resend(ids),
  }

  get child_models(): UIElement[] {
    return []
  }

  override async lazy_initialize(): Promise<void> {
    await super.lazy_initialize()
    // Before the signals are connected: the first run runs it, once.
    const saved = saved_code(this.model)
    if (saved != null && saved != this.model.code) {
      this.model.code = saved
    }
    heal_reconnections(this.model.document)
    this.key = page_key(this.model)
    this.runtime = this.model.runtime()
    this.runtime.attach(this.key, this.listener)
    if (this.model.module_files.length != 0) {
      void this.fetch_modules()
    }
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
        void this.runs.run_code()
      }
    })
    this.on_change(mode, () => {
      this.ui.set_mode(this.model.mode)
      this.invalidate_layout()
    })
    this.on_change(theme, () => this.ui.set_theme(this.model.theme))
    this.on_change(examples, () => this.ui.set_examples(this.model.examples))
    this.on_change([value, max_message_size, auto_packages], () => this.send_config())
    this.on_change(this.model.properties.watch, () => {
      if (this.runtime.state == "ready") {
        this.watcher.start()
      }
    })
    this.on_change([packages, requirements, index_urls, this.model.properties.module_files], () => {
      if (this.runtime.state == "ready") {
        this.load_packages()
        if (this.model.auto_run) {
          void this.runs.run_code()
        }
      }
    })
    this.connect(this.model.server_messages, () => this.channel.receive())
  }

  override remove(): void {
    this.save_code()
    window.removeEventListener("pagehide", this.page_hidden)
    window.removeEventListener("pageshow", this.page_shown)
    this.runtime.detach(this.key, this.listener)
    this.completions.end_all("the view was removed")
    this.watcher.remove()
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
    if (this.model.width == null && this.model.width_policy == "auto" && default_width(this.model.mode) != null) {
      // A width of our choosing gives way to a narrower container (a notebook's split panel).
      this.style.append(":host", {max_width: "100%"})
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

  // --- the runtime ----------------------------------------------------------------------

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
        this.runs.settle_code()
        this.show_status()
        break
      case "restarting":
        // Runs in the old worker have already ended; calls from now on wait for the re-run.
        this.runs.renew_code_settled()
        this.watcher.restarting()
        this.set_status("loading")
        break
      case "crashed":
        this.model.setv({status: "error", error: `RuntimeError: the Python runtime crashed: ${event.error}. ` +
          "It restarts on the next run or call.\n"})
        this.runs.settle_code()
        this.show_status()
        break
    }
  }

  /** A (fresh) runtime is ready: give it this model's state (what it may watch included),
   * packages and modules, and code. */
  protected runtime_ready(): void {
    this.send_config()
    this.watcher.start()
    this.load_packages()
    this.runs.runtime_ready()
  }

  /** Packages, requirements and shipped modules, before the model's code runs. */
  protected load_packages(): void {
    const {packages, requirements, index_urls, modules} = this.model
    const names = [...packages, ...requirements, ...modules]
    this.package_phase = names.length != 0 ? `loading packages: ${names.join(", ")}` : null
    const began = performance.now()
    const loaded = this.packages_loaded = Promise.all([
      this.runtime.load(packages, requirements, index_urls), this.load_modules(),
    ]).then((failures) => failures.find((failure) => failure != null) ?? null)
    void loaded.then(() => {
      if (this.packages_loaded == loaded) {
        this.package_phase = null
        this.packages_ms = names.length != 0 ? performance.now() - began : 0
        this.report_metrics()
      }
    })
  }

  /** What the server's `live.metrics()` reads from the browser: each of BROWSER_METRICS it has. */
  report_metrics(): void {
    const {runtime, runs} = this
    const known: {[K in typeof BROWSER_METRICS[number]]: number | null} = {
      python_start_ms: runtime.start_ms,
      packages_ms: this.packages_ms,
      last_run_ms: runs.last_run_ms,
      code_runs: runs.code_runs_ended,
      restarts: runtime.restarts,
      from_snapshot: runtime.snapshot == null ? null : runtime.snapshot == "loaded" ? 1 : 0,
    }
    const metrics: Dict<number> = {}
    for (const key of BROWSER_METRICS) {
      const value = known[key]
      if (value != null) {
        metrics[key] = Math.round(value * 10) / 10
      }
    }
    this.model.browser_metrics = metrics
  }

  /** The texts of the model's shipped files, asked for as soon as the view starts: their fetch
   * overlaps Python's start. */
  protected fetched: {files: BokehLive["module_files"], sources: ReturnType<typeof module_sources>} | null = null

  protected fetch_modules(): ReturnType<typeof module_sources> {
    const files = this.model.module_files
    if (this.fetched?.files !== files) {
      this.fetched = {files, sources: module_sources(files)}
    }
    return this.fetched.sources
  }

  /** Hand the worker the files of the model's `modules`; why they cannot be had, or null. */
  protected async load_modules(): Promise<string | null> {
    if (this.model.module_files.length == 0) {
      return null
    }
    const sources = await this.fetch_modules()
    if (typeof sources == "string") {
      return sources
    }
    this.runtime.post({kind: "modules", model: this.key, files: sources})
    return null
  }

  protected send_config(): void {
    const {value, max_message_size, auto_packages} = this.model
    this.runtime.post({kind: "config", model: this.key, value, limit: max_message_size, auto_packages})
  }

  /**
   * What could follow `before` in this model's namespace, asked of the worker; null when
   * Python is not ready, or busy beyond COMPLETE_TIMEOUT_MS (a run that never awaits).
   */
  protected async complete(before: string): Promise<Completions | null> {
    if (this.runtime.state != "ready") {
      return null
    }
    const {id, ending} = this.completions.open(null, {timeout_ms: COMPLETE_TIMEOUT_MS})
    this.runtime.post({kind: "complete", model: this.key, id, before})
    const end = await ending
    return end.how == "settled" ? end.value : null
  }

  // --- messages -------------------------------------------------------------------------

  /** To the server, by the model's channel. */
  send(message: ClientMessage): void {
    this.channel.send(message)
  }

  protected on_server(messages: ServerMessage[]): void {
    for (const message of messages) {
      switch (message.type) {
        case "server_data": {
          this.el.dispatchEvent(new CustomEvent("bokeh-live:server-data", {detail: message.data, bubbles: true, composed: true}))
          // After the code that registers on_server_data has run; in order, as promises are.
          void this.runs.when_code_settled().then(() => {
            this.runtime.post({kind: "server_data", model: this.key, data: message.data})
          })
          break
        }
        case "run_python":
          this.runs.call(message)
          break
        case "cancel":
          this.runs.cancel(message.request_id)
          break
        case "interrupt":
          this.runs.interrupt()
          break
        case "restart":
          this.runtime.restart("the server asked for a restart")
          break
        case "call_result":
          this.reply(message.call_id, {result: message.result, error: null, error_type: null})
          break
        case "call_error":
          this.reply(message.call_id, {result: null, error: message.error, error_type: message.error_type})
          break
      }
    }
  }

  protected on_worker(message: ModelMessage): void {
    switch (message.kind) {
      case "stream":
        this.runs.stream(message)
        break
      case "display":
        if (this.runs.shows(message.id)) {
          this.ui.display(message.display, message.data)
        }
        break
      case "send": {
        const data = from_worker(message.data)
        this.el.dispatchEvent(new CustomEvent("bokeh-live:output", {detail: data, bubbles: true, composed: true}))
        if (!has_server(this.model.document)) {
          if (!no_server_noted) {
            no_server_noted = true
            console.info("bokeh_live: this page has no Bokeh server, so bokeh_live.send() goes nowhere " +
              "(it still fires the 'bokeh-live:output' DOM event). Use bokeh_live.update() to change other models.")
          }
          break
        }
        this.send({type: "output", data})
        break
      }
      case "update":
        this.apply_update(message)
        break
      case "completions":
        this.completions.settle(message.id, {prefix: message.prefix, options: message.options})
        break
      case "call": {
        const {id, name, args, kwargs} = message
        if (!has_server(this.model.document)) {
          this.reply(id, {result: null, error_type: "RuntimeError",
            error: `this page has no Bokeh server, so bokeh_live.call('${name}') has nobody to call`})
        } else {
          this.send({type: "call", call_id: id, name, args: from_worker(args) as unknown[],
            kwargs: from_worker(kwargs) as {[name: string]: unknown}})
        }
        break
      }
      case "progress":
        this.runs.progress(message)
        break
      case "done":
      case "failed":
        if (this.watcher.owns(message.id)) {
          this.watcher.ended(message.id)
        } else {
          this.runs.ended(message)
        }
        break
      case "callback_error":
        // The traceback is on stderr already (shown); the server hears it as the model's error.
        this.model.error = keep_tail(message.error)
        break
    }
  }

  /** The answer to a `bokeh_live.call` of this model's browser code. */
  protected reply(id: string, answer: {result: unknown, error: string | null, error_type: string | null}): void {
    this.runtime.post({kind: "reply", model: this.key, id, ...answer})
  }

  /**
   * `bokeh_live.update(name, **props)`: set properties of another model of this document,
   * as CustomJS would (so a server, if any, gets the change too), if allow.ts allows it. A
   * failure leaves the model as it was and is written to the run's stderr, never dropped
   * silently.
   */
  protected apply_update({target, id, props}: Extract<FromWorker, {kind: "update"}>): void {
    const values = from_worker(props) as {[attr: string]: unknown}
    const checked = check_update(this.model.document, this.model.allow_update, target, values)
    let failure = typeof checked == "string" ? checked : null
    if (typeof checked != "string") {
      try {
        checked.setv(values)
      } catch (error) {
        failure = `setting ${checked.type} '${target}' failed: ${(error as Error).message}`
      }
    }
    if (failure != null) {
      const text = `bokeh_live.update: ${failure}\n`
      this.runs.append(id, "stderr", text)
      this.ui.stream("stderr", text)
      console.error(text.trim())
    }
  }

  // --- display --------------------------------------------------------------------------

  set_status(status: Status): void {
    if (this.model.status != status) {
      this.model.status = status
    }
    this.show_status()
  }

  show_status(): void {
    const phase = this.runtime?.state == "ready" ? this.package_phase ?? this.runtime.phase : this.runtime?.phase
    this.ui.show_status(this.model.status, phase ?? PHASES[0], this.model.error)
  }

  protected save_code(): void {
    save_code(this.model, this.ui.code ?? this.model.code)
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
    void this.runs.run_code()
  }
}

export namespace BokehLive {
  export type Attrs = p.AttrsOf<Props>
  export type Props = LayoutDOM.Props & {
    code: p.Property<string>
    mode: p.Property<Mode>
    status: p.Property<Status>
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
    theme: p.Property<Theme>
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
    watch: p.Property<Dict<string[]>>
    modules: p.Property<string[]>
    module_files: p.Property<[string, string, string | null, string[]][]>
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
      mode:             [ Enum(...MODES), MODES[0] ],
      status:           [ Enum(...STATUSES), STATUSES[0] ],
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
      theme:            [ Enum(...THEMES), THEMES[0] ],
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
      watch:            [ Dict(List(Str)), {} ],
      modules:          [ List(Str), [] ],
      module_files:     [ List(Tuple(Str, Str, Nullable(Str), List(Str))), [] ],
    }))
  }
}
