/**
 * A worker inside a sandboxed iframe without `allow-same-origin`, for a BokehLive with
 * `sandbox=True`. The iframe, and the worker it starts, have an opaque origin: code there
 * gets no cookies, no storage and no credentials of the page's origin, and cannot read
 * same-origin resources. It looks like a Worker to runtime.ts.
 *
 * The cost: one more hop per message (the iframe relays them; binary data from the worker
 * is copied there once), no interrupts (no memory can be shared with an opaque origin, so a
 * busy run is stopped by a restart), and Pyodide must be served with CORS headers
 * (`python -m bokeh_live serve`, or a CDN), since the worker fetches it cross-origin.
 */

/** The iframe's only code: start the worker from the source it is given, relay messages. */
const RELAY = `<!doctype html><script>
addEventListener("message", (event) => {
  if (event.source !== parent || event.data?.kind !== "bokeh_live_sandbox") return
  const port = event.ports[0]
  // A blob: module worker is refused in an opaque origin; a data: URL one is not.
  const url = "data:text/javascript;charset=utf-8," + encodeURIComponent(event.data.source)
  const worker = new Worker(url, {type: "module", name: "bokeh_live (sandbox)"})
  worker.onmessage = (e) => port.postMessage(e.data)
  worker.onerror = (e) => port.postMessage({kind: "sandbox_error", message: e.message || "the worker could not start"})
  port.onmessage = (e) => worker.postMessage(e.data.message, e.data.transfer)
})
</script>`

export class SandboxedWorker {
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: ErrorEvent) => void) | null = null

  private readonly frame = document.createElement("iframe")
  private readonly port: MessagePort
  /** What is posted before the iframe has loaded. */
  private queue: [unknown, Transferable[]][] | null = []

  constructor(source: string) {
    const {port1, port2} = new MessageChannel()
    this.port = port1
    this.port.onmessage = (event: MessageEvent) => {
      const data = event.data as {kind?: string, message?: string}
      if (data?.kind == "sandbox_error") {
        this.onerror?.(new ErrorEvent("error", {message: data.message}))
      } else {
        this.onmessage?.(event)
      }
    }
    this.frame.setAttribute("sandbox", "allow-scripts")
    this.frame.setAttribute("aria-hidden", "true")
    this.frame.style.display = "none"
    this.frame.srcdoc = RELAY
    this.frame.addEventListener("load", () => {
      this.frame.contentWindow?.postMessage({kind: "bokeh_live_sandbox", source}, "*", [port2])
      for (const [message, transfer] of this.queue ?? []) {
        this.port.postMessage({message, transfer}, transfer)
      }
      this.queue = null
    }, {once: true})
    document.body.append(this.frame)
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.queue != null) {
      this.queue.push([message, transfer])
    } else {
      this.port.postMessage({message, transfer}, transfer)
    }
  }

  /** Removing the iframe ends its worker with it. */
  terminate(): void {
    this.port.close()
    this.frame.remove()
  }
}
