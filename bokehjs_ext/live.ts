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

import {ClientMessages, ServerMessages} from "./protocol"
import type {ClientMessage, ServerMessage} from "./protocol"
import {Runtime, default_index_url} from "./runtime"
import type {FromWorker} from "./worker"
import {from_worker, to_worker} from "./values"
import {Assembler, EVENT_BYTES, chunk_bytes, inline_bytes, split} from "./chunks"
import type {Chunk} from "./chunks"
import {CSS, LiveUI, default_width} from "./ui"

type Run = {kind: "code" | "call", stdout: string, stderr: string}

/** `bokeh_live.send` without a server is said once per page, not once per call. */
let no_server_noted = false

export class BokehLiveView extends LayoutDOMView {
  declare model: BokehLive

  protected runtime!: Runtime
  protected ui = new LiveUI({run: (code) => this.run_from_ui(code)})
  protected runs = new Map<string, Run>()
  protected code_run: string | null = null
  protected code_runs = 0
  /** Settles when the model's code has run once (or will not run): calls wait for it. */
  protected code_settled!: Promise<void>
  protected settle_code!: () => void
  protected packages_loaded: Promise<string | null> = Promise.resolve(null)
  protected outbox: ClientMessage[] = []
  protected flush_scheduled = false
  protected blobs = new Assembler()
  protected readonly listener = (message: FromWorker & {model: string}) => this.on_worker(message)

  get child_models(): UIElement[] {
    return []
  }

  override async lazy_initialize(): Promise<void> {
    await super.lazy_initialize()
    this.code_settled = new Promise((resolve) => this.settle_code = resolve)
    this.runtime = this.model.runtime()
    this.runtime.attach(this.model.id, this.listener)
    this.connect_runtime()
    this.receive()
    // An empty batch tells the server this view exists: it holds its messages until then.
    this.model.trigger_event(new ClientMessages(this.model, []))
  }

  override connect_signals(): void {
    super.connect_signals()
    const {code, mode, value, max_message_size, packages, theme, examples} = this.model.properties
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
    this.on_change([value, max_message_size], () => this.send_config())
    this.on_change(packages, () => {
      this.packages_loaded = this.runtime.ready.then(() => this.runtime.load(this.model.packages))
      if (this.model.auto_run) {
        void this.run_code()
      }
    })
    this.connect(this.model.server_messages, () => this.receive())
  }

  override remove(): void {
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

  protected connect_runtime(): void {
    const stop = this.runtime.watch((message) => {
      if (message.kind == "phase") {
        this.show_status()
      }
    })
    this.set_status("loading")
    this.packages_loaded = this.runtime.ready.then(() => this.runtime.load(this.model.packages))
    this.runtime.ready.then(() => {
      stop()
      this.send_config()
      if (this.model.auto_run && this.model.code.trim() != "") {
        void this.run_code()
      } else {
        this.set_status("ready")
        this.settle_code()
      }
    }, (error: Error) => {
      stop()
      this.model.setv({status: "error", error: `Pyodide failed to start from ${this.runtime.index_url}\n${error.message}`})
      this.settle_code()
      this.show_status()
    })
  }

  protected send_config(): void {
    const {value, max_message_size} = this.model
    this.runtime.post({kind: "config", model: this.model.id, value: to_worker(value), limit: max_message_size})
  }

  /** Run the model's `code` in a fresh namespace, after its packages. */
  async run_code(): Promise<void> {
    const id = `code-${++this.code_runs}`
    this.code_run = id
    this.set_status("running")
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
    this.ui.clear()
    this.runs.set(id, {kind: "code", stdout: "", stderr: ""})
    this.runtime.post({kind: "run", model: this.model.id, id, code: this.model.code, kwargs: {}, fresh: true})
  }

  // --- messages -------------------------------------------------------------------------

  /** Take the batches the model holds, which may have come before this view existed. */
  protected receive(): void {
    for (const {messages, chunks} of this.model.inbox.splice(0)) {
      chunks.forEach((chunk) => this.blobs.add(chunk))
      this.on_server(messages.map((message) => this.blobs.restore(message) as ServerMessage))
    }
  }

  protected on_server(messages: ServerMessage[]): void {
    for (const message of messages) {
      switch (message.type) {
        case "server_data": {
          this.el.dispatchEvent(new CustomEvent("bokeh-live:server-data", {detail: message.data, bubbles: true, composed: true}))
          const transfer: Transferable[] = []
          const data = to_worker(message.data, transfer)
          this.runtime.post({kind: "server_data", model: this.model.id, data}, transfer)
          break
        }
        case "run_python": {
          const {code, kwargs, request_id} = message
          this.runs.set(request_id, {kind: "call", stdout: "", stderr: ""})
          void this.code_settled.then(() => {
            const transfer: Transferable[] = []
            const worker_kwargs = to_worker(kwargs, transfer)
            this.runtime.post({kind: "run", model: this.model.id, id: request_id, code, kwargs: worker_kwargs, fresh: false}, transfer)
          })
          break
        }
      }
    }
  }

  protected on_worker(message: FromWorker & {model: string}): void {
    switch (message.kind) {
      case "stream": {
        const run = this.runs.get(message.id)
        if (run != null) {
          run[message.name] += message.text
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
        this.queue({type: "output", data})
        break
      }
      case "update": {
        this.apply_update(message)
        break
      }
      case "done":
      case "failed": {
        const run = this.runs.get(message.id)
        this.runs.delete(message.id)
        if (run?.kind == "code") {
          this.code_finished(message.id, run, message)
        } else if (message.kind == "done") {
          this.queue({type: "run_python_result", request_id: message.id, result: from_worker(message.result)})
        } else {
          this.queue({type: "run_python_error", request_id: message.id, error: message.error, error_type: message.error_type})
        }
        break
      }
    }
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
        run.stderr += text
      }
      this.ui.stream("stderr", text)
      console.error(text.trim())
    }
  }

  protected code_finished(id: string, run: Run, message: FromWorker): void {
    if (id != this.code_run) {
      return  // a newer run of `code` has started; its result is the one that counts
    }
    const {stdout, stderr} = run
    if (message.kind == "done") {
      if (message.repr != null) {
        this.ui.result(message.repr)
      }
      this.model.setv({status: "ready", error: "", stdout, stderr})
    } else if (message.kind == "failed") {
      this.ui.error(message.error)
      this.model.setv({status: "error", error: message.error, stdout, stderr})
    }
    this.settle_code()
    this.show_status()
  }

  /**
   * Replies leave in one batch per task (the worker batches too), however many calls
   * finished meanwhile. A microtask, not a timer: timers of background tabs are throttled.
   */
  protected queue(message: ClientMessage): void {
    this.outbox.push(message)
    if (!this.flush_scheduled) {
      this.flush_scheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  /**
   * Large binary values go as chunks before their message. An event holds at most
   * EVENT_BYTES, or one larger item alone: every event stays under Bokeh's 20 MiB limit.
   */
  protected flush(): void {
    this.flush_scheduled = false
    let messages: ClientMessage[] = []
    let chunks: Chunk[] = []
    let size = 0
    const make_room = (n: number) => {
      if ((messages.length != 0 || chunks.length != 0) && size + n > EVENT_BYTES) {
        this.model.trigger_event(new ClientMessages(this.model, messages, chunks))
        messages = [], chunks = [], size = 0
      }
      size += n
    }
    for (const message of this.outbox.splice(0)) {
      const pieces: Chunk[] = []
      const small = split(message, pieces) as ClientMessage
      for (const chunk of pieces) {
        make_room(chunk_bytes(chunk))
        chunks.push(chunk)
      }
      make_room(inline_bytes(small))
      messages.push(small)
    }
    if (messages.length != 0 || chunks.length != 0) {
      this.model.trigger_event(new ClientMessages(this.model, messages, chunks))
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
    this.ui.show_status(this.model.status, this.runtime?.phase ?? "starting", this.model.error)
  }

  /** Output of a run of `code` that a newer run replaced would land in the newer one's. */
  protected shows(id: string): boolean {
    return this.runs.get(id)?.kind != "code" || id == this.code_run
  }

  /** The editor ran `code`: keep the server's `code` in step and run it even if unchanged. */
  protected run_from_ui(code: string): void {
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
    return Runtime.shared(this.pyodide_url ?? default_index_url())
  }

  override initialize(): void {
    super.initialize()
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

    this.define<BokehLive.Props>(({Any, Bool, Dict, Enum, Int, List, Nullable, Str}) => ({
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
      max_message_size: [ Int, 64 * 1024 * 1024 ],
      examples:         [ Dict(Str), {} ],
      theme:            [ Enum("auto", "light", "dark"), "auto" ],
    }))
  }
}
