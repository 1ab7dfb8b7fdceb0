/**
 * The Web Worker that runs Pyodide for every BokehLive on a page.
 *
 * A bundle built by `bokeh build` cannot itself be a worker script, so the worker is this
 * one self-contained function: runtime.ts turns its source text into a module worker.
 * It must not refer to anything outside its own body.
 */

/**
 * Page -> worker. `run`, `config`, `server_data` and `forget` go straight to Python. The
 * page sends what it posts in one task as one batch.
 */
export type ToWorker =
  | {kind: "batch", messages: ToWorker[]}
  | {kind: "init", index_url: string, browser_py: string}
  | {kind: "load", id: string, packages: string[]}
  | {kind: "run", model: string, id: string, code: string, kwargs: unknown, fresh: boolean}
  | {kind: "config", model: string, value: unknown, limit: number}
  | {kind: "server_data", model: string, data: unknown}
  | {kind: "forget", model: string}

/** Worker -> page. All but the first four come from Python (bokeh_live/_browser.py), in batches. */
export type FromWorker =
  | {kind: "batch", messages: FromWorker[]}
  | {kind: "phase", phase: string}
  | {kind: "ready"}
  | {kind: "init_failed", error: string}
  | {kind: "loaded", id: string, error: string | null}
  | {kind: "stream", model: string, id: string, name: "stdout" | "stderr", text: string}
  | {kind: "display", model: string, id: string, display: "html" | "bokeh" | "text", data: unknown}
  | {kind: "send", model: string, data: unknown}
  | {kind: "update", model: string, id: string, target: string, props: {[name: string]: unknown}}
  | {kind: "done", model: string, id: string, result: unknown, repr?: string}
  | {kind: "failed", model: string, id: string, error: string, error_type: string}

export function worker_main(): void {
  type Scope = {
    postMessage(message: unknown, transfer?: Transferable[]): void
    onmessage: ((event: MessageEvent) => void) | null
  }
  const scope = self as unknown as Scope
  let pyodide: any = null
  let browser: any = null
  const waiting: ToWorker[] = []

  const post = (message: FromWorker) => scope.postMessage(message)

  function to_python(kind: string, message: {[key: string]: unknown}): void {
    const py_message = pyodide.toPy(message)
    try {
      browser.handle(kind, py_message)
    } catch (error) {
      // handle() itself failed (a malformed message): end the run it names, if any.
      if (kind == "run") {
        const {model, id} = message as {model: string, id: string}
        post({kind: "failed", model, id, error: String(error), error_type: "RuntimeError"})
      } else {
        console.error("bokeh_live worker:", error)
      }
    } finally {
      py_message.destroy()
    }
  }

  async function load(id: string, packages: string[]): Promise<void> {
    const errors: string[] = []
    try {
      await pyodide.loadPackage(packages, {messageCallback: () => {}, errorCallback: (msg: string) => errors.push(msg)})
      // loadPackage resolves even when a download fails: check each name really arrived.
      for (const name of packages) {
        const is_url = name.includes("/")
        if (!is_url && !(name.toLowerCase() in pyodide.loadedPackages)) {
          errors.push(`package '${name}' did not load`)
        }
      }
    } catch (error) {
      errors.push(String(error))
    }
    const error = errors.length == 0 ? null : `Loading ${JSON.stringify(packages)} failed:\n${errors.join("\n")}`
    post({kind: "loaded", id, error})
  }

  function dispatch(message: ToWorker): void {
    switch (message.kind) {
      case "batch":
        message.messages.forEach(dispatch)
        break
      case "load":
        void load(message.id, message.packages)
        break
      case "run":
      case "config":
      case "server_data":
      case "forget":
        to_python(message.kind, message)
        break
      case "init":
        break
    }
  }

  async function init(index_url: string, browser_py: string): Promise<void> {
    post({kind: "phase", phase: "downloading Pyodide"})
    // Written so because the bundle is compiled to CommonJS, which would turn a literal
    // import() into require(); a module worker has the real one.
    const import_module = new Function("url", "return import(url)") as (url: string) => Promise<any>
    const {loadPyodide} = await import_module(`${index_url}pyodide.mjs`)
    post({kind: "phase", phase: "starting Python"})
    pyodide = await loadPyodide({indexURL: index_url})
    pyodide.FS.mkdirTree("/bokeh_live")
    pyodide.FS.writeFile("/bokeh_live/bokeh_live.py", browser_py)
    pyodide.runPython("import sys; sys.path.insert(0, '/bokeh_live')")
    browser = pyodide.pyimport("bokeh_live")
    browser._install((kind: string, payload: {[key: string]: unknown}) => {
      outgoing.push({kind, ...payload} as FromWorker)
      collect_buffers(payload, transfers, 0)
      if (outgoing.length == 1) {
        queueMicrotask(flush)
      }
    })
    post({kind: "ready"})
    for (const message of waiting.splice(0)) {
      dispatch(message)
    }
  }

  // What Python posts in one task of the worker leaves as one message: a batch of calls
  // that finished together costs the page one task and the server one websocket message.
  const outgoing: FromWorker[] = []
  const transfers: Transferable[] = []

  function flush(): void {
    scope.postMessage({kind: "batch", messages: outgoing.splice(0)}, transfers.splice(0))
  }

  // Binary data from Python is a fresh copy: hand it over instead of copying it again.
  function collect_buffers(value: unknown, out: Transferable[], depth: number): void {
    if (depth > 64 || value == null || typeof value !== "object") {
      return
    }
    if (ArrayBuffer.isView(value)) {
      // Only a buffer the view spans alone: never the WebAssembly memory itself.
      const {buffer} = value
      if (buffer instanceof ArrayBuffer && buffer.byteLength == value.byteLength && !out.includes(buffer)) {
        out.push(buffer)
      }
      return
    }
    for (const item of Object.values(value)) {
      collect_buffers(item, out, depth + 1)
    }
  }

  scope.onmessage = (event: MessageEvent) => {
    const message = event.data as ToWorker
    if (message.kind == "init") {
      init(message.index_url, message.browser_py).catch((error) => {
        post({kind: "init_failed", error: String(error?.stack ?? error)})
      })
    } else if (browser == null) {
      waiting.push(message)  // includes a batch's later init: it has none
    } else {
      dispatch(message)
    }
  }
}
