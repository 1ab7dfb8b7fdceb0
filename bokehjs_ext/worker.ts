/**
 * The Web Worker that runs Pyodide for every BokehLive on a page.
 *
 * A bundle built by `bokeh build` cannot itself be a worker script, so the worker is this
 * one self-contained function: the build also writes it out as a static module file
 * (`worker.mjs`, served beside the bundle), and runtime.ts falls back to a worker made
 * from its source text where that file cannot be used. It must not refer to anything
 * outside its own body at run time: only types may be imported.
 */
import type {Lockfile, PyodideAPI, loadPyodide} from "pyodide"
import type {PyProxy} from "pyodide/ffi"

/**
 * Page -> worker. All but `batch`, `init` and `load` go straight to
 * Python. The page sends what it posts in one task as one batch.
 */
export type ToWorker =
  | {kind: "batch", messages: ToWorker[]}
  | {kind: "init", index_url: string, browser_py: {[file: string]: string}, interrupt: SharedArrayBuffer | null,
     lock_url: string | null, package_url: string | null, snapshot: string | null}
  | {kind: "make_snapshot", index_url: string, browser_py: {[file: string]: string}, snapshot: string}
  | {kind: "load", id: string, packages: string[], requirements: string[], index_urls: string[]}
  | {kind: "run", model: string, id: string, code: string, kwargs: unknown, fresh: boolean}
  | {kind: "config", model: string, value: unknown, limit: number, auto_packages: boolean}
  | {kind: "server_data", model: string, data: unknown}
  | {kind: "forget", model: string}
  | {kind: "cancel", ids: string[]}
  | {kind: "reply", model: string, id: string, result: unknown, error: string | null, error_type: string | null}
  | {kind: "complete", model: string, id: string, before: string}
  | {kind: "watched", model: string, watch: WatchList, properties: WatchedValues, events: WatchList, missing: Reasons}
  | {kind: "changes", model: string, id: string, items: Change[]}
  | {kind: "modules", model: string, files: ModuleSource[]}

/** Model names to properties or events (a BokehLive's `watch`). */
export type WatchList = {[name: string]: string[]}
/** Model names to the values of their watched properties. */
export type WatchedValues = {[name: string]: {[attr: string]: unknown}}
/** Why an entry of `watch` ("name" or "name.attr") cannot be watched. */
export type Reasons = {[key: string]: string}
/** A watched property's new value (`event` null), or a watched event's values. */
export type Change = {target: string, attr: string | null, value: unknown, event: string | null,
  values: {[field: string]: unknown} | null}
/** A shipped file (bokeh_live/modules.py): its path below the import root, SHA-256, text, and
 * the top-level names it imports. */
export type ModuleSource = {path: string, sha256: string, source: string, imports: string[]}

/** Worker -> page. All but the first seven come from Python (bokeh_live/browser/), in batches. */
export type FromWorker =
  | {kind: "batch", messages: FromWorker[]}
  | {kind: "phase", phase: string}
  | {kind: "ready", snapshot: Snapshot}
  | {kind: "snapshot_saved", error: string | null}
  | {kind: "init_failed", error: string}
  | {kind: "crashed", error: string}
  | {kind: "loaded", id: string, error: string | null}
  | {kind: "stream", model: string, id: string, name: "stdout" | "stderr", text: string}
  | {kind: "display", model: string, id: string, display: "html" | "bokeh" | "text" | "result", data: unknown}
  | {kind: "send", model: string, data: unknown}
  | {kind: "update", model: string, id: string, target: string, props: {[name: string]: unknown}}
  | {kind: "progress", model: string, id: string, fraction: number, text: string}
  | {kind: "call", model: string, id: string, name: string, args: unknown[], kwargs: {[name: string]: unknown}}
  | {kind: "completions", model: string, id: string, prefix: string, options: Completion[]}
  | {kind: "done", model: string, id: string, result: unknown}
  | {kind: "failed", model: string, id: string, error: string, error_type: string}
  | {kind: "callback_error", model: string, id: string, error: string}

/** How Python started: from a cached memory snapshot ("loaded"); or afresh, with none cached
 * yet ("fresh": the page then has one made), with snapshots off ("off"), or unable to use
 * them (why). */
export type Snapshot = "loaded" | "fresh" | "off" | string

/** One option the editor offers; `type` is one of CodeMirror's completion types. */
export type Completion = {label: string, type: string}

export function worker_main(): void {
  type Scope = {
    postMessage(message: unknown, transfer?: Transferable[]): void
    onmessage: ((event: MessageEvent) => void) | null
    close(): void
    addEventListener(type: "error", listener: (event: ErrorEvent) => void): void
    addEventListener(type: "unhandledrejection", listener: (event: PromiseRejectionEvent) => void): void
    __bokeh_live_import?: (url: string) => Promise<PyodideModule>
  }
  type PyodideModule = {loadPyodide: typeof loadPyodide}
  /** The browser half of the package (bokeh_live/browser/_dispatch.py), as the worker calls it. */
  type BrowserHalf = {
    handle(kind: string, message: PyProxy): void
    _install(post: (kind: string, payload: {[key: string]: unknown}) => void): void
  }
  /** Pyodide's hook for fatal errors, which its published types do not include. */
  type WithFatalHook = {_api?: {on_fatal?: (error: unknown) => void}}

  const scope = self as unknown as Scope
  // Both are set by init() (or make_snapshot()) before anything else uses them.
  let pyodide!: PyodideAPI
  let browser_half: BrowserHalf | null = null
  let crashed = false
  let lock_error: string | null = null
  const waiting: ToWorker[] = []

  /** Print a run's output at least this often even while Python keeps the worker busy. */
  const STREAM_MS = 100

  const post = (message: FromWorker) => scope.postMessage(message)

  /** The worker can no longer run Python: say so once; the page restarts it when next needed. */
  function crash(error: string): void {
    if (!crashed) {
      crashed = true
      post({kind: "crashed", error})
    }
  }

  // Code in the worker may close it (`js.close()`): the page must hear, not wait forever.
  const close = scope.close.bind(scope)
  scope.close = () => {
    crash("code in the worker closed it")
    close()
  }
  const is_fatal = (error: unknown) => /fatal|already fatally failed|memory access out of bounds/i.test(String(error))
  scope.addEventListener("error", (event) => {
    if (is_fatal(event.error ?? event.message)) {
      crash(`Pyodide failed: ${event.message}`)
    }
  })
  scope.addEventListener("unhandledrejection", (event) => {
    if (is_fatal(event.reason)) {
      crash(`Pyodide failed: ${String(event.reason)}`)
    }
  })

  function to_python(kind: string, message: {[key: string]: unknown}): void {
    const py_message: PyProxy = pyodide.toPy(message)
    try {
      browser_half!.handle(kind, py_message)
    } catch (error) {
      if (is_fatal(error)) {
        crash(`Pyodide failed: ${String(error)}`)
      } else if (kind == "run") {
        // handle() itself failed (a malformed message): end the run it names.
        const {model, id} = message as {model: string, id: string}
        post({kind: "failed", model, id, error: String(error), error_type: "RuntimeError"})
      } else {
        console.error("bokeh_live worker:", error)
      }
    } finally {
      py_message.destroy()
    }
  }

  async function load(message: Extract<ToWorker, {kind: "load"}>): Promise<void> {
    const {id, packages, requirements, index_urls} = message
    const errors: string[] = lock_error != null ? [lock_error] : []
    const quiet = {messageCallback: () => {}, errorCallback: (msg: string) => errors.push(msg)}
    try {
      await pyodide.loadPackage(packages, quiet)
      // loadPackage resolves even when a download fails: check each name really arrived.
      for (const name of packages) {
        const is_url = name.includes("/")
        if (!is_url && !(name.toLowerCase() in pyodide.loadedPackages)) {
          errors.push(`package '${name}' did not load`)
        }
      }
      if (requirements.length != 0 && errors.length == 0) {
        await pyodide.loadPackage("micropip", quiet)
        if (!("micropip" in pyodide.loadedPackages)) {
          errors.push("micropip, which installs requirements, did not load")
        } else {
          const micropip = pyodide.pyimport("micropip")
          const options = index_urls.length != 0 ? {keep_going: true, index_urls} : {keep_going: true}
          await micropip.install.callKwargs(requirements, options)
          micropip.destroy()
        }
      }
    } catch (error) {
      errors.push(String(error instanceof Error ? error.message : error))
    }
    const names = JSON.stringify([...packages, ...requirements])
    const error = errors.length == 0 ? null : `Loading ${names} failed:\n${errors.join("\n")}`
    post({kind: "loaded", id, error})
  }

  function dispatch(message: ToWorker): void {
    switch (message.kind) {
      case "batch":
        message.messages.forEach(dispatch)
        break
      case "load":
        void load(message)
        break
      case "run":
      case "config":
      case "server_data":
      case "forget":
      case "cancel":
      case "reply":
      case "complete":
      case "watched":
      case "changes":
      case "modules":
        to_python(message.kind, message)
        break
      case "init":
        break
    }
  }

  /** Pyodide's `loadPyodide`, from its module in `index_url`. A literal import() would be
   * compiled to require() (the bundle is CommonJS): the static worker file provides the real
   * one; a worker made from this function's text falls back to new Function, which a
   * Content-Security-Policy may forbid. */
  async function pyodide_loader(index_url: string): Promise<typeof loadPyodide> {
    const import_module = scope.__bokeh_live_import ??
      new Function("url", "return import(url)") as (url: string) => Promise<PyodideModule>
    return (await import_module(`${index_url}pyodide.mjs`)).loadPyodide
  }

  // --- memory snapshots: Python's memory once started, kept in the origin's Cache Storage ---
  // A start from one skips Python's own start-up and the imports of the browser half. Each
  // is checked against a SHA-256 digest kept beside it; Pyodide itself refuses one made by
  // another build. One that fails either way is replaced by a fresh start's.
  const SNAPSHOT_CACHE = "bokeh-live-snapshots"
  const DIGEST_HEADER = "x-bokeh-live-sha256"
  const SAVED_HEADER = "x-bokeh-live-saved"  // when, in ms since the epoch
  const SIZE_HEADER = "x-bokeh-live-bytes"
  /** The most the origin's snapshots take together: three of Pyodide 314's (31 MB each). */
  const SNAPSHOT_STORE_BYTES = 100 * 2 ** 20

  async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")
  }

  /** The snapshot cached under `key`, null if there is none, or why it cannot be used. */
  async function read_snapshot(key: string): Promise<Uint8Array<ArrayBuffer> | string | null> {
    try {
      const cache = await caches.open(SNAPSHOT_CACHE)
      const response = await cache.match(key)
      if (response == null) {
        return null
      }
      const bytes = new Uint8Array(await response.arrayBuffer())
      if (response.headers.get(DIGEST_HEADER) !== await sha256(bytes)) {
        console.warn("bokeh_live: the cached memory snapshot is damaged, so Python starts afresh")
        return null  // this start makes a new one in its place
      }
      return bytes
    } catch (error) {
      return `the snapshot cache cannot be read (${error})`  // no Cache Storage: an insecure or opaque origin
    }
  }

  /** Cache `bytes` under `key`; drop snapshots of other versions made from the same Pyodide,
   * then the oldest others until the store is within SNAPSHOT_STORE_BYTES, whatever the number
   * of addresses Pyodide came from (a notebook's kernel serving it on a new port each time). */
  async function save_snapshot(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const cache = await caches.open(SNAPSHOT_CACHE)
    const folder = key.slice(0, key.lastIndexOf("/") + 1)
    const others: {request: Request, saved: number, size: number}[] = []
    for (const request of await cache.keys()) {
      if (request.url == key) {
        continue  // replaced below
      } else if (request.url.startsWith(folder)) {
        await cache.delete(request)
      } else {
        const headers = (await cache.match(request))?.headers
        others.push({request, saved: Number(headers?.get(SAVED_HEADER) ?? 0),
                     size: Number(headers?.get(SIZE_HEADER) ?? SNAPSHOT_STORE_BYTES)})
      }
    }
    let total = bytes.byteLength
    for (const other of others.sort((a, b) => b.saved - a.saved)) {
      total += other.size
      if (total > SNAPSHOT_STORE_BYTES) {
        await cache.delete(other.request)
        total -= other.size
      }
    }
    const headers = {"content-type": "application/octet-stream", [DIGEST_HEADER]: await sha256(bytes),
                     [SAVED_HEADER]: String(Date.now()), [SIZE_HEADER]: String(bytes.byteLength)}
    await cache.put(key, new Response(bytes, {headers}))
  }

  /** The browser half of the package as the package `bokeh_live` (`sources` by path in the
   * package: `__init__.py`, `browser/_runner.py`...), on a path of its own, imported. Files
   * live outside WebAssembly memory, so a start from a snapshot writes them again; its import
   * is in the snapshot already. */
  function start_browser_half(sources: {[file: string]: string}): void {
    for (const [file, source] of Object.entries(sources)) {
      const path = `/bokeh_live/bokeh_live/${file}`
      pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")))
      pyodide.FS.writeFile(path, source)
    }
    pyodide.runPython("import sys\nif '/bokeh_live' not in sys.path: sys.path.insert(0, '/bokeh_live')\nimport bokeh_live")
  }

  /**
   * This worker's only job, in a worker of its own that the page ends afterwards: start
   * Python, import the browser half (most of a start after Pyodide's own) and cache the
   * memory. Pyodide's `_makeSnapshot` option changes the `js` module of the Python it starts
   * (its attributes fail with "Illegal invocation"), so no code ever runs in this one.
   */
  async function make_snapshot(message: Extract<ToWorker, {kind: "make_snapshot"}>): Promise<void> {
    const loadPyodide = await pyodide_loader(message.index_url)
    pyodide = await loadPyodide({indexURL: message.index_url, _makeSnapshot: true})
    start_browser_half(message.browser_py)  // nothing of JavaScript is held by Python yet
    await save_snapshot(message.snapshot, pyodide.makeMemorySnapshot() as Uint8Array<ArrayBuffer>)
  }

  async function init(message: Extract<ToWorker, {kind: "init"}>): Promise<void> {
    post({kind: "phase", phase: "downloading Pyodide"})
    const loadPyodide = await pyodide_loader(message.index_url)
    post({kind: "phase", phase: "starting Python"})
    // The core comes from index_url; lockfile packages from package_url, checked against its
    // lockfile (or the core's own, when that is the public distribution of this version). A
    // lockfile that cannot be read costs the packages, not Python: loads then say why.
    let lockFileContents: Lockfile | undefined = undefined
    if (message.lock_url != null) {
      try {
        const response = await fetch(message.lock_url)
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`)
        }
        lockFileContents = await response.json() as Lockfile
      } catch (error) {
        lock_error = `the package lockfile ${message.lock_url} could not be read (${error}), so no package can be loaded`
      }
    }
    const options = {indexURL: message.index_url, lockFileContents,
      packageBaseUrl: lock_error == null ? message.package_url ?? undefined : undefined}
    let snapshot: Snapshot = "off"
    const cached = message.snapshot != null ? await read_snapshot(message.snapshot) : null
    if (typeof cached == "string") {
      snapshot = cached  // no Cache Storage here
    } else if (cached != null) {
      try {
        pyodide = await loadPyodide({...options, _loadSnapshot: cached})
        snapshot = "loaded"
      } catch (error) {
        // Made by another build of Pyodide, say: start afresh, and have a new one made.
        console.warn("bokeh_live: the cached memory snapshot did not load, so Python starts afresh:", error)
      }
    }
    if (snapshot != "loaded") {
      pyodide = await loadPyodide(options)
      snapshot = message.snapshot != null && snapshot == "off" ? "fresh" : snapshot
    }
    start_browser_half(message.browser_py)
    // Pyodide's own hook for a fatal error (out of memory, a broken invariant): after one,
    // every call into it throws, so nothing the worker holds can end any more.
    const internals = (pyodide as unknown as WithFatalHook)._api
    if (internals != null) {
      internals.on_fatal = (error: unknown) => crash(`Pyodide suffered a fatal error: ${String(error)}`)
    }
    if (message.interrupt != null) {
      pyodide.setInterruptBuffer(new Int32Array(message.interrupt))
    }
    browser_half = pyodide.pyimport("bokeh_live") as BrowserHalf
    browser_half._install((kind: string, payload: {[key: string]: unknown}) => {
      outgoing.push(make_transferable({kind, ...payload}, transfers, 0) as FromWorker)
      if (performance.now() - last_flush > STREAM_MS) {
        flush()  // Python has kept the worker busy: send what it printed now, not at the end
      } else if (outgoing.length == 1) {
        queueMicrotask(flush)
      }
    })
    post({kind: "ready", snapshot})
    for (const queued of waiting.splice(0)) {
      dispatch(queued)
    }
  }

  // What Python posts in one task of the worker leaves as one message: a batch of calls
  // that finished together costs the page one task and the server one websocket message.
  const outgoing: FromWorker[] = []
  const transfers: Transferable[] = []
  let last_flush = performance.now()

  function flush(): void {
    last_flush = performance.now()
    if (outgoing.length != 0) {
      scope.postMessage({kind: "batch", messages: outgoing.splice(0)}, transfers.splice(0))
    }
  }

  /**
   * Binary data from Python, made ready to be handed over: a view into WebAssembly memory
   * (which may move or be reused before the batch leaves) is copied out now, once; a buffer
   * of its own is transferred, not copied again. Changes `value` in place.
   */
  function make_transferable(value: unknown, out: Transferable[], depth: number): unknown {
    if (depth > 64 || value == null || typeof value !== "object") {
      return value
    }
    if (ArrayBuffer.isView(value)) {
      const alone = value.buffer instanceof ArrayBuffer && value.buffer.byteLength == value.byteLength
      const owned = alone ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice()
      if (!out.includes(owned.buffer)) {
        out.push(owned.buffer as ArrayBuffer)
      }
      return owned
    }
    const object = value as {[key: string]: unknown}
    for (const [key, item] of Object.entries(object)) {
      object[key] = make_transferable(item, out, depth + 1)
    }
    return value
  }

  scope.onmessage = (event: MessageEvent) => {
    const message = event.data as ToWorker
    if (message.kind == "make_snapshot") {
      make_snapshot(message).then(() => post({kind: "snapshot_saved", error: null}),
                                  (error) => post({kind: "snapshot_saved", error: String(error)}))
    } else if (message.kind == "init") {
      init(message).catch((error) => {
        post({kind: "init_failed", error: String(error?.stack ?? error)})
      })
    } else if (browser_half == null) {
      waiting.push(message)  // includes a batch's later init: it has none
    } else {
      dispatch(message)
    }
  }
}
