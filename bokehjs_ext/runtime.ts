/**
 * The one Pyodide worker of a page, shared by every BokehLive view on it. Each model keeps
 * its own Python namespace inside; messages from the worker are routed to views by model id.
 */
import {worker_main} from "./worker"
import type {FromWorker, ToWorker} from "./worker"
import {BROWSER_PY} from "./browser_py"

export const PYODIDE_VERSION = "314.0.7"
export const PYODIDE_CDN = `https://cdn.jsdelivr.net/pyodide/v${PYODIDE_VERSION}/full/`

export type ModelListener = (message: FromWorker & {model: string}) => void
export type RuntimeListener = (message: FromWorker) => void

/**
 * Where Pyodide lives when the model does not say: beside this bundle when a Bokeh server
 * serves it (`/static/extensions/bokeh_live/pyodide/`), else the public CDN.
 */
export function default_index_url(): string {
  const script = document.querySelector<HTMLScriptElement>('script[src*="/extensions/bokeh_live/bokeh_live"]')
  return script != null ? new URL("pyodide/", script.src).href : PYODIDE_CDN
}

function worker_url(): string {
  const source = `(${worker_main.toString()})()\n`
  // A blob: module worker is refused on file:// pages; a data: URL one is not.
  if (location.protocol == "file:") {
    return `data:text/javascript;charset=utf-8,${encodeURIComponent(source)}`
  }
  return URL.createObjectURL(new Blob([source], {type: "text/javascript"}))
}

export class Runtime {
  private static _shared: Runtime | null = null

  /** The page's runtime; the first view to ask decides where Pyodide comes from. */
  static shared(index_url: string): Runtime {
    const url = new URL(index_url.endsWith("/") ? index_url : `${index_url}/`, document.baseURI).href
    if (Runtime._shared == null) {
      Runtime._shared = new Runtime(url)
    } else if (Runtime._shared.index_url != url) {
      console.warn(`bokeh_live: this page already runs Pyodide from ${Runtime._shared.index_url}; ignoring ${url}`)
    }
    return Runtime._shared
  }

  phase: string = "starting"
  state: "loading" | "ready" | "failed" = "loading"
  failure: string = ""
  readonly ready: Promise<void>

  private readonly worker: Worker
  private readonly models = new Map<string, ModelListener>()
  private readonly watchers = new Set<RuntimeListener>()
  private readonly loads = new Map<string, (error: string | null) => void>()
  private readonly outgoing: ToWorker[] = []
  private readonly transfers: Transferable[] = []
  private next_id = 0

  private constructor(readonly index_url: string) {
    this.worker = new Worker(worker_url(), {type: "module", name: "bokeh_live"})
    this.ready = new Promise((resolve, reject) => {
      this.watchers.add((message) => {
        if (message.kind == "ready") {
          this.state = "ready"
          resolve()
        } else if (message.kind == "init_failed") {
          this.state = "failed"
          this.failure = message.error
          reject(new Error(message.error))
        } else if (message.kind == "phase") {
          this.phase = message.phase
        }
      })
    })
    this.ready.catch(() => {})  // views report the failure; nothing here is unhandled
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data)
    this.worker.onerror = (event: ErrorEvent) => {
      this.receive({kind: "init_failed", error: `the Pyodide worker failed: ${event.message}`})
    }
    this.post({kind: "init", index_url, browser_py: BROWSER_PY})
  }

  private receive(message: FromWorker): void {
    if (message.kind == "batch") {
      message.messages.forEach((m) => this.receive(m))
    } else if ("model" in message) {
      this.models.get(message.model)?.(message)
    } else if (message.kind == "loaded") {
      this.loads.get(message.id)?.(message.error)
      this.loads.delete(message.id)
    } else {
      for (const watcher of [...this.watchers]) {
        watcher(message)
      }
    }
  }

  /**
   * Send to the worker. Messages posted in one task go as one batch: the calls of one
   * server batch then run in one task of the worker, and their replies leave together.
   */
  post(message: ToWorker, transfer: Transferable[] = []): void {
    if (message.kind == "init") {
      this.worker.postMessage(message)
      return
    }
    this.outgoing.push(message)
    this.transfers.push(...transfer)
    if (this.outgoing.length == 1) {
      queueMicrotask(() => {
        this.worker.postMessage({kind: "batch", messages: this.outgoing.splice(0)}, this.transfers.splice(0))
      })
    }
  }

  /** Listen to runtime-wide news (phase, ready, failure); returns the way to stop. */
  watch(listener: RuntimeListener): () => void {
    this.watchers.add(listener)
    return () => this.watchers.delete(listener)
  }

  attach(model: string, listener: ModelListener): void {
    this.models.set(model, listener)
  }

  /**
   * Stop routing to `listener` and drop the model's namespace, unless a newer view of the
   * same model has attached meanwhile (BokehJS rebuilds views when it reconnects).
   */
  detach(model: string, listener: ModelListener): void {
    if (this.models.get(model) === listener) {
      this.models.delete(model)
      this.post({kind: "forget", model})
    }
  }

  /** Load packages into the shared runtime; resolves with an error text or null. */
  load(packages: string[]): Promise<string | null> {
    if (packages.length == 0) {
      return Promise.resolve(null)
    }
    const id = `load-${this.next_id++}`
    return new Promise((resolve) => {
      this.loads.set(id, resolve)
      this.post({kind: "load", id, packages})
    })
  }
}
