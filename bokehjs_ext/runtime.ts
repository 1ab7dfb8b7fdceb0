/**
 * A Pyodide worker of the page, shared by the BokehLive views of one `worker` name (all of
 * them, by default; models of other names run in parallel, in workers of their own). Each
 * model keeps its own Python namespace inside; messages are routed to views by the model's
 * key on the page (`page_key`).
 *
 * The runtime makes sure every run and every package load ends (pending.ts): it knows
 * which runs are in the worker, stops one on request (cancel if it waits at an await; else
 * an interrupt when the page is cross-origin isolated; else, or if that is not honoured, a
 * fresh worker), and turns a worker that dies into an ending for everything that was in
 * it. Its WorkerChannel is the one way to a worker: batches, encoded values, transfers.
 */
import {worker_main} from "./worker"
import type {FromWorker, Snapshot, ToWorker} from "./worker"
import {BROWSER_PY, BROWSER_PY_DIGEST} from "./browser_py"
import {SandboxedWorker} from "./sandbox"
import {PHASES, PYODIDE_VERSION, VERSION} from "./shared"
import {Pending} from "./pending"
import {to_worker} from "./values"

export const PYODIDE_CDN = `https://cdn.jsdelivr.net/pyodide/v${PYODIDE_VERSION}/full/`

/**
 * How long a run may ignore a cancel before it is interrupted, then before the worker goes.
 * A run waiting at an await ends as soon as the worker reads the cancel; on a loaded machine
 * that can take a while, and taking a waiting run for a busy one costs a restart (every
 * model's code runs again): so the grace is generous next to the few milliseconds it takes.
 */
const CANCEL_GRACE_MS = 500
const INTERRUPT_GRACE_MS = 1000
const INTERRUPT_REPEAT_MS = 100
/** Package loads and Pyodide's start each have an end. */
const LOAD_TIMEOUT_MS = 300_000
const START_TIMEOUT_MS = 180_000

export type ModelMessage = FromWorker & {model: string}

/** Runtime-wide news for the views: where start-up is, and when everything was lost. */
export type RuntimeEvent =
  | {kind: "phase", phase: string}
  | {kind: "ready"}
  | {kind: "failed", error: string}
  | {kind: "restarting", reason: string}
  | {kind: "crashed", error: string}

export interface RuntimeListener {
  message(message: ModelMessage): void
  runtime(event: RuntimeEvent): void
  /** Runs that never reached a worker that was then replaced: start them again. */
  resend(ids: string[]): void
}

const documents = new WeakMap<object, number>()
let documents_seen = 0

/**
 * A model's name on the page and in its worker. A Bokeh id is unique only within its
 * document: two notebooks in one JupyterLab tab, or two embeds made by different processes,
 * both have a `p1012`. So it is prefixed with its document's number on this page.
 */
export function page_key(model: {id: string, document: object | null}): string {
  const {document} = model
  let number = document != null ? documents.get(document) : 0
  if (number == null) {
    number = ++documents_seen
    documents.set(document!, number)
  }
  return `${number}:${model.id}`
}

/** Where the bundle was loaded from, when a Bokeh server (or another host) serves it. */
export function bundle_url(): string | null {
  const script = document.querySelector<HTMLScriptElement>('script[src*="/extensions/bokeh_live/bokeh_live"]')
  return script?.src ?? null
}

/**
 * Where Pyodide lives when the model does not say: beside this bundle when a Bokeh server
 * serves it (`/static/extensions/bokeh_live/pyodide/`); on the Bokeh server of an app that
 * was loaded into a page that had BokehJS already (a notebook's `show(app)`: its autoload
 * script then loads no bundle); else the public CDN.
 */
export function default_index_url(): string {
  const bundle = bundle_url()
  if (bundle != null) {
    return new URL("pyodide/", bundle).href
  }
  const server = autoload_server()
  return server != null ? new URL("/static/extensions/bokeh_live/pyodide/", server).href : PYODIDE_CDN
}

/**
 * The Bokeh server of the newest app the page loaded with an autoload script: from
 * `.../autoload.js?...&bokeh-absolute-url=...`, loaded as a script (`server_document`) or
 * fetched by one (what a notebook's `show(app)` displays, which then replaces itself).
 */
export function autoload_server(): string | null {
  const urls = [
    ...[...document.querySelectorAll<HTMLScriptElement>("script[src]")].map((script) => script.src),
    ...performance.getEntriesByType("resource").map((entry) => entry.name),
  ]
  for (const url of urls.reverse()) {
    if (url.includes("/autoload.js?")) {
      const absolute = new URL(url, document.baseURI).searchParams.get("bokeh-absolute-url")
      if (absolute != null) {
        return absolute
      }
    }
  }
  return null
}

/**
 * The worker script: the static `worker.mjs` beside the bundle when the page may use it (a
 * same-origin file needs no `blob:` or eval in a Content-Security-Policy), else one made
 * from the worker function's source (standalone HTML; a `data:` URL on file:// pages).
 */
function worker_url(): string {
  const bundle = bundle_url()
  if (bundle != null && new URL(bundle).origin == location.origin) {
    return new URL("worker.mjs", bundle).href
  }
  const source = worker_source()
  if (location.protocol == "file:") {
    return `data:text/javascript;charset=utf-8,${encodeURIComponent(source)}`
  }
  return URL.createObjectURL(new Blob([source], {type: "text/javascript"}))
}

function worker_source(): string {
  return `(${worker_main.toString()})()\n`
}

/** What runtime.ts needs of a worker: a Worker, or one inside a sandboxed iframe. */
type WorkerLike = {
  postMessage(message: unknown, transfer?: Transferable[]): void
  terminate(): void
  onmessage: ((event: MessageEvent) => void) | null
  onerror: ((event: ErrorEvent) => void) | null
}

/** A message from the worker, out of its batch. */
type Unbatched = Exclude<FromWorker, {kind: "batch"}>

/**
 * The field of a message that holds a value from Bokeh, encoded for the worker on the way
 * (values.ts), and whether buffers the page made itself may be handed over whole: only
 * where nothing but the worker gets the value.
 */
const VALUES: {[K in ToWorker["kind"]]?: [field: string, take: boolean]} = {
  config: ["value", false],  // the model keeps its value
  server_data: ["data", false],  // the page's listeners got it too (bokeh-live:server-data)
  run: ["kwargs", true],
  reply: ["result", true],
  watched: ["properties", false],  // the page's own models keep their values
  changes: ["items", false],
}

/**
 * The page's end of the hop to one worker. What the page posts in one task leaves as one
 * batch, with the buffers it hands over: the calls of one server batch then run in one task
 * of the worker, and their replies leave together. Once closed (the worker is ended),
 * nothing more goes in or comes out.
 */
class WorkerChannel {
  private outgoing: ToWorker[] = []
  private transfers: Transferable[] = []
  private closed = false

  /** `first` goes alone, before any batch: the worker starts on it. */
  constructor(private readonly worker: WorkerLike, first: ToWorker, receive: (message: Unbatched) => void,
              fail: (error: string) => void) {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const {data} = event
      for (const message of this.closed ? [] : data.kind == "batch" ? data.messages : [data]) {
        receive(message as Unbatched)
      }
    }
    worker.onerror = (event: ErrorEvent) => {
      if (!this.closed) {
        fail(event.message)
      }
    }
    worker.postMessage(first)
  }

  post(message: ToWorker): void {
    const value = VALUES[message.kind]
    if (value != null) {
      const [field, take] = value
      const fields = message as unknown as {[field: string]: unknown}
      message = {...message, [field]: to_worker(fields[field], this.transfers, take)}
    }
    this.outgoing.push(message)
    if (this.outgoing.length == 1) {
      queueMicrotask(() => {
        const [messages, transfers] = [this.outgoing, this.transfers]
        this.outgoing = [], this.transfers = []
        if (!this.closed) {
          this.worker.postMessage({kind: "batch", messages} satisfies ToWorker, transfers)
        }
      })
    }
  }

  close(): void {
    this.closed = true
    this.outgoing = [], this.transfers = []
    this.worker.terminate()
  }
}

type Run = {model: string, stopping: boolean}
/** What runs in the worker until its done or failed: code, or a batch for browser callbacks. */
export type RunMessage = Extract<ToWorker, {kind: "run" | "changes"}>
/** Runs being stopped, in one worker: resolved when the last of them has ended. */
type Stop = {ids: Set<string>}

export class Runtime {
  private static readonly _shared = new Map<string, Runtime>()

  /**
   * The page's runtime for models of this `name` (a model's `worker`), sandboxed or not;
   * the first view to ask decides where Pyodide comes from. Each is a worker of its own.
   */
  static shared(index_url: string, sandbox: boolean = false, package_url: string | null = null,
                name: string = "", snapshot: boolean = true): Runtime {
    const folder = (url: string) => new URL(url.endsWith("/") ? url : `${url}/`, document.baseURI).href
    const url = folder(index_url)
    const key = JSON.stringify([sandbox, name])
    let runtime = Runtime._shared.get(key)
    // A runtime that failed to start does not hold the page: a model asking for Pyodide from
    // elsewhere starts afresh (the failed one keeps its models, in error).
    if (runtime == null || (runtime.state == "failed" && runtime.index_url != url)) {
      runtime?.channel?.close()
      runtime = new Runtime(url, sandbox, package_url != null ? folder(package_url) : null, name, snapshot)
      Runtime._shared.set(key, runtime)
    } else if (runtime.index_url != url && !runtime.sources.includes(url)) {
      console.warn(`bokeh_live: this page already runs Pyodide from ${runtime.index_url}; ${url} is kept ` +
                   "for restarts, should that one stop answering")
    }
    runtime.sources = [url, ...runtime.sources.filter((source) => source != url)]
    return runtime
  }

  /** Where the page's models would have Pyodide come from, the newest first: if the address
   * it runs from stops answering (a notebook's kernel restarted), a restart tries these. */
  sources: string[] = []

  phase: string = PHASES[0]
  state: "loading" | "ready" | "failed" | "crashed" = "loading"
  failure: string = ""
  /** Fresh workers started after the first: a count the views and tests can read. */
  restarts = 0
  /** How long the last start took, from the worker's creation to Python ready (ms). */
  start_ms: number | null = null
  /** How Python last started: from a memory snapshot or not (see worker.ts). */
  snapshot: Snapshot | null = null
  private started_at = 0

  /** Shared with the worker when the page is cross-origin isolated: writing 2 raises
   * KeyboardInterrupt in the running Python code. */
  private readonly interrupt: Int32Array | null
  private channel: WorkerChannel | null = null
  private readonly listeners = new Map<string, RuntimeListener>()
  /** The runs in the worker; each ends with its done or failed, which goes to its model. */
  private readonly runs = new Pending<ModelMessage, Run>()
  /** Runs asked for while a stop is pending: held, not queued behind a run that may be
   * killed with its worker. */
  private held: {model: string, message: RunMessage}[] = []
  private stops: Stop[] = []
  /** Package loads, each ending with an error text or null. */
  private readonly loads = new Pending<string | null>("load")
  private start_timer = 0

  /**
   * `package_url`: where lockfile packages come from. Its own lockfile is used, unless it is
   * the public distribution of this version, whose lockfile is the core's own (no request).
   */
  private constructor(public index_url: string, readonly sandbox: boolean, readonly package_url: string | null,
                      readonly name: string, readonly use_snapshot: boolean) {
    // No memory can be shared with the opaque origin of a sandbox.
    const can_share = typeof SharedArrayBuffer != "undefined" && globalThis.crossOriginIsolated && !sandbox
    this.interrupt = can_share ? new Int32Array(new SharedArrayBuffer(4)) : null
    this.start("")
  }

  /** Where Python's memory snapshot is cached (worker.ts), or null for none: named by where
   * Pyodide comes from, this package's version and its browser sources. A sandbox's opaque
   * origin has no storage for one. */
  get snapshot_key(): string | null {
    return this.use_snapshot && !this.sandbox
      ? `${this.index_url}bokeh-live-snapshot/${VERSION}-${BROWSER_PY_DIGEST}` : null
  }

  get can_interrupt(): boolean {
    return this.interrupt != null
  }

  /** Addresses a start was tried from since Python last started. */
  private readonly tried = new Set<string>()

  private start(reason: string): void {
    this.tried.add(this.index_url)
    this.started_at = performance.now()
    this.state = "loading"
    this.phase = reason == "" ? PHASES[0] : `restarting Python (${reason})`
    const worker = this.sandbox
      ? new SandboxedWorker(worker_source())
      : new Worker(worker_url(), {type: "module", name: this.name == "" ? "bokeh_live" : `bokeh_live: ${this.name}`})
    const {package_url} = this
    const lock_url = package_url != null && package_url != PYODIDE_CDN ? `${package_url}pyodide-lock.json` : null
    const init: ToWorker = {kind: "init", index_url: this.index_url, browser_py: BROWSER_PY, lock_url, package_url,
      interrupt: (this.interrupt?.buffer as SharedArrayBuffer | undefined) ?? null, snapshot: this.snapshot_key}
    this.channel = new WorkerChannel(worker, init, (message) => this.receive(message), (message) => {
      const error = `the Pyodide worker failed: ${message || "it could not be loaded"}`
      this.receive(this.state == "loading" ? {kind: "init_failed", error} : {kind: "crashed", error})
    })
    this.start_timer = window.setTimeout(() => {
      this.receive({kind: "init_failed", error: `Pyodide did not start within ${START_TIMEOUT_MS / 1000} s`})
    }, START_TIMEOUT_MS)
    this.emit({kind: "phase", phase: this.phase})
  }

  /** Snapshots being made by this page, by key: one each, whatever the number of workers. */
  private static readonly _making = new Set<string>()

  /** Python started afresh: have a worker of its own make and cache a memory snapshot for
   * later pages (worker.ts says why not this one), then end it. Costs one more start of
   * Python, in the background, once per site and version. */
  private make_snapshot(): void {
    const key = this.snapshot_key
    if (key == null || Runtime._making.has(key)) {
      return
    }
    Runtime._making.add(key)
    const end = (error: string | null) => {
      clearTimeout(timer)
      maker.close()
      Runtime._making.delete(key)
      if (error != null) {
        console.warn(`bokeh_live: no memory snapshot was cached (${error}); the next page starts afresh too`)
      }
    }
    const timer = window.setTimeout(() => end(`not made within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS)
    const maker = new WorkerChannel(
      new Worker(worker_url(), {type: "module", name: "bokeh_live: snapshot"}),
      {kind: "make_snapshot", index_url: this.index_url, browser_py: BROWSER_PY, snapshot: key},
      (message) => message.kind == "snapshot_saved" && end(message.error),
      (error) => end(error || "its worker failed"))
  }

  private emit(event: RuntimeEvent): void {
    for (const listener of [...this.listeners.values()]) {
      listener.runtime(event)
    }
  }

  private receive(message: Unbatched): void {
    switch (message.kind) {
      case "phase":
        this.phase = message.phase
        this.emit(message)
        break
      case "ready":
        clearTimeout(this.start_timer)
        this.tried.clear()
        this.state = "ready"
        this.start_ms = performance.now() - this.started_at
        this.snapshot = message.snapshot
        if (message.snapshot == "fresh") {
          this.make_snapshot()
        }
        this.emit(message)
        break
      case "init_failed": {
        clearTimeout(this.start_timer)
        // Pyodide's address may have gone since the page started (a kernel's server restarted
        // on another port): try the others the page's models name, the newest first.
        const next = this.sources.find((source) => !this.tried.has(source))
        if (next != null) {
          console.warn(`bokeh_live: Pyodide did not start from ${this.index_url} (${message.error}); ` +
                       `starting it from ${next}`)
          this.index_url = next
          this.channel?.close()
          this.start("its first address did not answer")
          break
        }
        this.state = "failed"
        this.failure = !this.sandbox ? message.error : `${message.error}\n(a sandboxed worker fetches Pyodide ` +
          "cross-origin: its files need CORS headers, as python -m bokeh_live serve or a CDN sends them)"
        this.end_everything(this.failure)
        this.emit({kind: "failed", error: this.failure})
        break
      }
      case "crashed":
        this.lose_worker(`The Python runtime crashed: ${message.error}. It restarts on the next run or call.`)
        this.state = "crashed"
        this.failure = message.error
        this.emit({kind: "crashed", error: message.error})
        break
      case "loaded":
        this.loads.settle(message.id, message.error)
        break
      case "snapshot_saved":
        break  // only from a snapshot's own worker (make_snapshot)
      default:
        if (message.kind == "done" || message.kind == "failed") {
          this.runs.settle(message.id, message)
          this.ended(message.id)
        }
        this.listeners.get(message.model)?.message(message)
    }
  }

  /**
   * Send to the worker (dropped while there is none: it crashed). Values from Bokeh in it
   * are encoded on the way; messages posted in one task leave as one batch.
   */
  post(message: ToWorker): void {
    this.channel?.post(message)
  }

  /** Run code for `model` (its `code` when `fresh`); its done/failed reaches the model's listener. */
  run(model: string, id: string, code: string, kwargs: unknown, fresh: boolean): void {
    this.start_run({kind: "run", model, id, code, kwargs, fresh})
  }

  /** Start a run (code, or a batch of changes for callbacks): it is stopped, restarted and
   * ended with everything else in the worker, and its done/failed reaches its model's listener. */
  start_run(message: RunMessage): void {
    const {model, id} = message
    this.restart_if_crashed()
    if (this.state == "failed") {
      const error = `RuntimeError: Pyodide failed to start from ${this.index_url}: ${this.failure}\n`
      queueMicrotask(() => this.listeners.get(model)?.message({kind: "failed", model, id, error, error_type: "RuntimeError"}))
      return
    }
    this.runs.open({model, stopping: false}, {id})
    if (this.stops.length != 0) {
      this.held.push({model, message})
    } else {
      this.post(message)
    }
  }

  /** The ids of the runs of `model` that are in the worker (or held for it). */
  runs_of(model: string): string[] {
    return this.runs.requests().filter(([, run]) => run.model == model).map(([id]) => id)
  }

  /**
   * Stop these runs: cancel them (a run waiting at an await ends at once); a run still busy
   * after a moment gets a KeyboardInterrupt if the page is cross-origin isolated; if it
   * still has not ended, or the page cannot interrupt, the worker is replaced.
   */
  stop(ids: string[], reason: string): void {
    const live = ids.filter((id) => this.runs.get(id)?.stopping === false)
    if (live.length == 0) {
      return
    }
    live.forEach((id) => this.runs.get(id)!.stopping = true)
    this.post({kind: "cancel", ids: live})
    const stop: Stop = {ids: new Set(live)}
    this.stops.push(stop)
    const unfinished = () => this.stops.includes(stop)
    setTimeout(() => {
      if (!unfinished()) {
        return
      } else if (this.interrupt == null) {
        this.restart(reason)
      } else {
        // SIGINT: Python reads and resets it, then raises KeyboardInterrupt. Stored again
        // until the run ends, since one read is sometimes not followed by the exception.
        const buffer = this.interrupt
        Atomics.store(buffer, 0, 2)
        const repeat = setInterval(() => unfinished() ? Atomics.store(buffer, 0, 2) : clearInterval(repeat),
                                   INTERRUPT_REPEAT_MS)
        setTimeout(() => {
          clearInterval(repeat)
          unfinished() && this.restart(`${reason}; the interrupt was not honoured`)
        }, INTERRUPT_GRACE_MS)
      }
    }, CANCEL_GRACE_MS)
  }

  /** A run ended: a stop waiting for it may be over, and then the held runs go to the worker. */
  private ended(id: string): void {
    if (this.stops.length == 0) {
      return
    }
    this.stops = this.stops.filter((stop) => (stop.ids.delete(id), stop.ids.size != 0))
    if (this.stops.length == 0) {
      if (this.interrupt != null) {
        Atomics.store(this.interrupt, 0, 0)  // a SIGINT stored again is for no one now
      }
      this.held.splice(0).forEach(({message}) => this.post(message))
    }
  }

  /** A crashed runtime restarts when something needs it (every model's code then runs
   * again); whether it did. */
  restart_if_crashed(): boolean {
    if (this.state != "crashed") {
      return false
    }
    this.restart("it had crashed")
    return true
  }

  /** A fresh worker: everything that was in the old one ends now, with `reason`. */
  restart(reason: string): void {
    // What never reached the old worker was not lost with it: each view starts it again
    // (after its code has run again in the fresh runtime).
    const held = this.held.splice(0)
    held.forEach(({message}) => this.runs.cancel(message.id, "started again by its view"))
    this.lose_worker(`The Python runtime was restarted (${reason}) before this run ended.`)
    this.restarts++
    this.emit({kind: "restarting", reason})
    this.start(reason)
    for (const [model, listener] of this.listeners) {
      const ids = held.filter((h) => h.model == model).map(({message}) => message.id)
      if (ids.length != 0) {
        listener.resend(ids)
      }
    }
  }

  private lose_worker(error: string): void {
    clearTimeout(this.start_timer)
    this.stops = [], this.held = []  // held runs are still in `runs`: they end below
    this.channel?.close()
    this.channel = null
    if (this.interrupt != null) {
      Atomics.store(this.interrupt, 0, 0)
    }
    this.end_everything(error)
  }

  /** Every run and load in the worker ends with `error`: nothing waits forever. */
  private end_everything(error: string): void {
    for (const [id, {model}] of this.runs.end_all(error)) {
      this.listeners.get(model)?.message({kind: "failed", model, id, error: `RuntimeError: ${error}\n`, error_type: "RuntimeError"})
    }
    this.loads.end_all(error)
  }

  /** Route `model`'s messages and the runtime's news to `listener` (a view). */
  attach(model: string, listener: RuntimeListener): void {
    this.listeners.set(model, listener)
  }

  /**
   * Stop routing to `listener` and drop the model's namespace, unless a newer view of the
   * same model has attached meanwhile (BokehJS rebuilds views when it reconnects).
   */
  detach(model: string, listener: RuntimeListener): void {
    if (this.listeners.get(model) === listener) {
      this.listeners.delete(model)
      this.post({kind: "forget", model})
    }
  }

  /** Load packages, then install requirements with micropip; resolves with an error text
   * or null, within LOAD_TIMEOUT_MS. */
  async load(packages: string[], requirements: string[] = [], index_urls: string[] = []): Promise<string | null> {
    if (packages.length == 0 && requirements.length == 0) {
      return null
    }
    const {id, ending} = this.loads.open(null, {timeout_ms: LOAD_TIMEOUT_MS})
    this.post({kind: "load", id, packages, requirements, index_urls})
    const end = await ending
    switch (end.how) {
      case "settled": return end.value
      case "timed_out": return `Loading ${JSON.stringify([...packages, ...requirements])} took longer than ${LOAD_TIMEOUT_MS / 1000} s`
      default: return end.reason
    }
  }
}
