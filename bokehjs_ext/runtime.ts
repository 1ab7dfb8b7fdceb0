/**
 * A Pyodide worker of the page, shared by the BokehLive views of one `worker` name (all of
 * them, by default; models of other names run in parallel, in workers of their own). Each
 * model keeps its own Python namespace inside; messages are routed to views by model id.
 *
 * The runtime makes sure every run and every package load ends: it knows which runs are in
 * the worker, stops one on request (cancel if it waits at an await; else an interrupt when
 * the page is cross-origin isolated; else, or if that is not honoured, a fresh worker),
 * and turns a worker that dies into an ending for everything that was in it.
 */
import {worker_main} from "./worker"
import type {FromWorker, Snapshot, ToWorker} from "./worker"
import {BROWSER_PY, BROWSER_PY_DIGEST} from "./browser_py"
import {SandboxedWorker} from "./sandbox"
import {PYODIDE_VERSION, VERSION} from "./shared"

export const PYODIDE_CDN = `https://cdn.jsdelivr.net/pyodide/v${PYODIDE_VERSION}/full/`

/** How long a run may ignore a cancel before it is interrupted, then before the worker goes. */
const CANCEL_GRACE_MS = 100
const INTERRUPT_GRACE_MS = 1000
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
function autoload_server(): string | null {
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

type Run = {model: string, stopping: boolean}
type Held = {model: string, message: ToWorker, transfer: Transferable[]}
/** Runs being stopped, in one worker: resolved when the last of them has ended. */
type Stop = {ids: Set<string>}
type Load = {resolve: (error: string | null) => void, timer: number}

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
      runtime?.worker?.terminate()
      runtime = new Runtime(url, sandbox, package_url != null ? folder(package_url) : null, name, snapshot)
      Runtime._shared.set(key, runtime)
    } else if (runtime.index_url != url) {
      console.warn(`bokeh_live: this page already runs Pyodide from ${runtime.index_url}; ignoring ${url}`)
    }
    return runtime
  }

  phase: string = "starting"
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
  private worker: WorkerLike | null = null
  private readonly listeners = new Map<string, RuntimeListener>()
  private readonly runs = new Map<string, Run>()
  /** Runs asked for while a stop is pending: held, not queued behind a run that may be
   * killed with its worker. */
  private held: Held[] = []
  private stops: Stop[] = []
  private readonly loads = new Map<string, Load>()
  private outgoing: ToWorker[] = []
  private transfers: Transferable[] = []
  private start_timer = 0
  private next_id = 0

  /**
   * `package_url`: where lockfile packages come from. Its own lockfile is used, unless it is
   * the public distribution of this version, whose lockfile is the core's own (no request).
   */
  private constructor(readonly index_url: string, readonly sandbox: boolean, readonly package_url: string | null,
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

  private start(reason: string): void {
    this.started_at = performance.now()
    this.state = "loading"
    this.phase = reason == "" ? "starting" : `restarting Python (${reason})`
    const worker: WorkerLike = this.worker = this.sandbox
      ? new SandboxedWorker(worker_source())
      : new Worker(worker_url(), {type: "module", name: this.name == "" ? "bokeh_live" : `bokeh_live: ${this.name}`})
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (worker == this.worker) {
        this.receive(event.data)
      }
    }
    worker.onerror = (event: ErrorEvent) => {
      if (worker == this.worker) {
        const error = `the Pyodide worker failed: ${event.message || "it could not be loaded"}`
        this.receive(this.state == "loading" ? {kind: "init_failed", error} : {kind: "crashed", error})
      }
    }
    const {package_url} = this
    const lock_url = package_url != null && package_url != PYODIDE_CDN ? `${package_url}pyodide-lock.json` : null
    worker.postMessage({kind: "init", index_url: this.index_url, browser_py: BROWSER_PY, lock_url, package_url,
      interrupt: (this.interrupt?.buffer as SharedArrayBuffer | undefined) ?? null,
      snapshot: this.snapshot_key} satisfies ToWorker)
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
    const maker = new Worker(worker_url(), {type: "module", name: "bokeh_live: snapshot"})
    const end = (error: string | null) => {
      clearTimeout(timer)
      maker.terminate()
      Runtime._making.delete(key)
      if (error != null) {
        console.warn(`bokeh_live: no memory snapshot was cached (${error}); the next page starts afresh too`)
      }
    }
    const timer = window.setTimeout(() => end(`not made within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS)
    maker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (event.data.kind == "snapshot_saved") {
        end(event.data.error)
      }
    }
    maker.onerror = (event: ErrorEvent) => end(event.message || "its worker failed")
    maker.postMessage({kind: "make_snapshot", index_url: this.index_url, browser_py: BROWSER_PY,
                       snapshot: key} satisfies ToWorker)
  }

  private emit(event: RuntimeEvent): void {
    for (const listener of [...this.listeners.values()]) {
      listener.runtime(event)
    }
  }

  private receive(message: FromWorker): void {
    switch (message.kind) {
      case "batch":
        message.messages.forEach((m) => this.receive(m))
        break
      case "phase":
        this.phase = message.phase
        this.emit(message)
        break
      case "ready":
        clearTimeout(this.start_timer)
        this.state = "ready"
        this.start_ms = performance.now() - this.started_at
        this.snapshot = message.snapshot
        if (message.snapshot == "fresh") {
          this.make_snapshot()
        }
        this.emit(message)
        break
      case "init_failed":
        clearTimeout(this.start_timer)
        this.state = "failed"
        this.failure = !this.sandbox ? message.error : `${message.error}\n(a sandboxed worker fetches Pyodide ` +
          "cross-origin: its files need CORS headers, as python -m bokeh_live serve or a CDN sends them)"
        this.end_everything(this.failure)
        this.emit({kind: "failed", error: this.failure})
        break
      case "crashed":
        this.lose_worker(`The Python runtime crashed: ${message.error}. It restarts on the next run or call.`)
        this.state = "crashed"
        this.failure = message.error
        this.emit({kind: "crashed", error: message.error})
        break
      case "loaded":
        this.end_load(message.id, message.error)
        break
      case "snapshot_saved":
        break  // only from a snapshot's own worker (make_snapshot)
      default:
        if (message.kind == "done" || message.kind == "failed") {
          this.runs.delete(message.id)
          this.ended(message.id)
        }
        this.listeners.get(message.model)?.message(message)
    }
  }

  /**
   * Send to the worker. Messages posted in one task go as one batch: the calls of one
   * server batch then run in one task of the worker, and their replies leave together.
   */
  post(message: ToWorker, transfer: Transferable[] = []): void {
    this.outgoing.push(message)
    this.transfers.push(...transfer)
    if (this.outgoing.length == 1) {
      queueMicrotask(() => {
        const [messages, transfers] = [this.outgoing, this.transfers]
        this.outgoing = [], this.transfers = []
        this.worker?.postMessage({kind: "batch", messages}, transfers)
      })
    }
  }

  /** Run code for `model` (its `code` when `fresh`); its done/failed reaches the model's listener. */
  run(model: string, id: string, code: string, kwargs: unknown, fresh: boolean, transfer: Transferable[] = []): void {
    if (this.state == "crashed") {
      this.restart("it had crashed")
    } else if (this.state == "failed") {
      const error = `RuntimeError: Pyodide failed to start from ${this.index_url}: ${this.failure}\n`
      queueMicrotask(() => this.listeners.get(model)?.message({kind: "failed", model, id, error, error_type: "RuntimeError"}))
      return
    }
    this.runs.set(id, {model, stopping: false})
    const message: ToWorker = {kind: "run", model, id, code, kwargs, fresh}
    if (this.stops.length != 0) {
      this.held.push({model, message, transfer})
    } else {
      this.post(message, transfer)
    }
  }

  /** Whether the worker has this run (it has not ended). */
  running(id: string): boolean {
    return this.runs.has(id)
  }

  runs_of(model: string): string[] {
    return [...this.runs].filter(([, run]) => run.model == model).map(([id]) => id)
  }

  /**
   * Stop these runs: cancel them (a run waiting at an await ends at once); a run still busy
   * after a moment gets a KeyboardInterrupt if the page is cross-origin isolated; if it
   * still has not ended, or the page cannot interrupt, the worker is replaced.
   */
  stop(ids: string[], reason: string): void {
    const live = ids.filter((id) => this.runs.has(id) && !this.runs.get(id)!.stopping)
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
        Atomics.store(this.interrupt, 0, 2)  // SIGINT: Pyodide raises KeyboardInterrupt and resets it
        setTimeout(() => unfinished() && this.restart(`${reason}; the interrupt was not honoured`), INTERRUPT_GRACE_MS)
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
      this.held.splice(0).forEach(({message, transfer}) => this.post(message, transfer))
    }
  }

  /** A fresh worker: everything that was in the old one ends now, with `reason`. */
  restart(reason: string): void {
    const held = this.held.splice(0)
    held.forEach(({message}) => this.runs.delete((message as {id: string}).id))
    this.lose_worker(`The Python runtime was restarted (${reason}) before this run ended.`)
    this.restarts++
    this.emit({kind: "restarting", reason})
    this.start(reason)
    // What never reached the old worker was not lost with it: each view starts it again
    // (after its code has run again in the fresh runtime).
    for (const [model, listener] of this.listeners) {
      const ids = held.filter((h) => h.model == model).map(({message}) => (message as {id: string}).id)
      if (ids.length != 0) {
        listener.resend(ids)
      }
    }
  }

  private lose_worker(error: string): void {
    clearTimeout(this.start_timer)
    this.stops = [], this.held = []  // held runs are still in `runs`: they end below
    this.worker?.terminate()
    this.worker = null
    this.outgoing = [], this.transfers = []
    if (this.interrupt != null) {
      Atomics.store(this.interrupt, 0, 0)
    }
    this.end_everything(error)
  }

  /** Every run and load in the worker ends with `error`: nothing waits forever. */
  private end_everything(error: string): void {
    const runs = [...this.runs]
    this.runs.clear()
    for (const [id, {model}] of runs) {
      this.listeners.get(model)?.message({kind: "failed", model, id, error: `RuntimeError: ${error}\n`, error_type: "RuntimeError"})
    }
    for (const id of [...this.loads.keys()]) {
      this.end_load(id, error)
    }
  }

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
  load(packages: string[], requirements: string[] = [], index_urls: string[] = []): Promise<string | null> {
    if (packages.length == 0 && requirements.length == 0) {
      return Promise.resolve(null)
    }
    const id = `load-${this.next_id++}`
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => {
        const names = JSON.stringify([...packages, ...requirements])
        this.end_load(id, `Loading ${names} took longer than ${LOAD_TIMEOUT_MS / 1000} s`)
      }, LOAD_TIMEOUT_MS)
      this.loads.set(id, {resolve, timer})
      this.post({kind: "load", id, packages, requirements, index_urls})
    })
  }

  private end_load(id: string, error: string | null): void {
    const load = this.loads.get(id)
    if (load != null) {
      this.loads.delete(id)
      clearTimeout(load.timer)
      load.resolve(error)
    }
  }
}
