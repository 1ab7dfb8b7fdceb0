/**
 * The runs of one BokehLive in the worker: runs of its `code` (auto_run, the Run button)
 * and the server's `run_python` calls.
 *
 * A newer run of `code` replaces an older one, whose output is no longer shown; run_timeout,
 * the Stop button, Esc or the server stops one. While it runs, what it prints and its
 * progress reach the server's `stdout`, `stderr` and `progress` a few times a second; its
 * ending sets `status` and `error`. Calls, and data from the server, wait until the model's
 * packages are loaded and its code has run (`when_code_settled`).
 */
import type {BokehLive} from "./live"
import type {ModelMessage, Runtime} from "./runtime"
import type {ClientMessage, RunPython} from "./protocol"
import type {LiveUI, Status} from "./ui"
import {Pending} from "./pending"
import {Tail, from_worker, keep_tail} from "./values"

/** The last line of a stopped run's error: why it was stopped. */
export const STOPPED = "KeyboardInterrupt"
const TIMED_OUT = "TimeoutError"

/** While a run of `code` prints, the server's `stdout`, `stderr` and `progress` follow this often. */
const STREAM_PROPERTY_MS = 200

type Ended = Extract<ModelMessage, {kind: "done" | "failed"}>

/** A run in the worker, while it has not ended. */
type Run = {
  kind: "code" | "call"
  stdout: Tail
  stderr: Tail
  /** Why it is being stopped: the last line of its error. */
  stopped?: string
  /** A call: post it to the worker once the model's code has run (again, after a restart). */
  start?: () => void
  /** A run of `code`: when it started (performance.now()), and what stops it after run_timeout. */
  began?: number
  deadline?: ReturnType<typeof setTimeout>
}

/** What the runs need of their view. */
export interface RunsHost {
  readonly model: BokehLive
  /** The model's name in its worker (page_key). */
  readonly key: string
  readonly runtime: Runtime
  readonly ui: LiveUI
  /** Settles with why the model's packages did not load, or null, once they are loaded. */
  readonly packages_loaded: Promise<string | null>
  /** What the status line says while the model's packages load; null when none do. */
  readonly package_phase: string | null
  /** Send to the server (the view's channel). */
  send(message: ClientMessage): void
  set_status(status: Status): void
  show_status(): void
  report_metrics(): void
}

/**
 * Calls `flush` with the newest value pushed, at most once per `ms`, and never drops the
 * last one: for properties that follow a run's output without a message per line.
 */
export class Throttle<T> {
  private timer: ReturnType<typeof setTimeout> | null = null
  private next!: T

  constructor(readonly ms: number, readonly flush: (value: T) => void) {}

  push(value: T): void {
    this.next = value
    if (this.timer == null) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.flush(this.next)
      }, this.ms)
    }
  }

  /** Drop the value waiting, if any. */
  cancel(): void {
    clearTimeout(this.timer ?? undefined)
    this.timer = null
  }
}

/** A run that has left the table takes its deadline with it. */
function clear_deadline(run: Run | undefined): Run | undefined {
  clearTimeout(run?.deadline)
  return run
}

/** The runs of one view's model, and the state of its runs of `code`. */
export class Runs {
  private readonly runs = new Pending<Ended, Run>()
  /** The run of `code` whose result counts: a newer one replaces it. */
  private code_run: string | null = null
  private code_runs = 0
  /** The run of `code` that was stopped (a runaway): a restart does not start it again. */
  private stopped_code: string | null = null
  /** Run `code` when the runtime is ready again: it was asked for while it restarted. */
  private run_when_ready = false
  /** Settles when the model's packages are loaded and its code has run (or will not run):
   * calls and server data wait for it. A restart makes a new one. */
  private code_settled!: Promise<void>
  private settle!: () => void
  /** For the server's metrics: how many runs of `code` ended, and how long the last one took (ms). */
  code_runs_ended = 0
  last_run_ms: number | null = null

  private readonly output_to_server = new Throttle<string>(STREAM_PROPERTY_MS, (id) => {
    const run = this.runs.get(id)
    if (run != null && id == this.code_run) {
      this.host.model.setv({stdout: run.stdout.toString(), stderr: run.stderr.toString()})
    }
  })
  private readonly progress_to_server = new Throttle<[number, string]>(STREAM_PROPERTY_MS, (progress) => {
    this.host.model.progress = progress
  })

  constructor(private readonly host: RunsHost) {
    this.renew_code_settled()
  }

  /** Calls and server data wait for the model's code from now on (the runtime restarts). */
  renew_code_settled(): void {
    this.settle?.()
    this.code_settled = new Promise((resolve) => this.settle = resolve)
  }

  /** The model's code has run, or will not (Python failed): what waits for it goes on. */
  settle_code(): void {
    this.settle()
  }

  /** Wait for the model's code, including a re-run after a restart that happens meanwhile. */
  async when_code_settled(): Promise<void> {
    for (let settled = this.code_settled; ; settled = this.code_settled) {
      await settled
      if (settled == this.code_settled) {
        return
      }
    }
  }

  /** A (fresh) runtime is ready and has the model's packages to load: run its code. */
  runtime_ready(): void {
    const {model, packages_loaded} = this.host
    const stopped = this.stopped_code != null && this.stopped_code == this.code_run
    const run = this.run_when_ready || (model.auto_run && model.code.trim() != "" && !stopped)
    this.run_when_ready = false
    if (run) {
      void this.run_code()
    } else {
      void packages_loaded.then((failure) => {
        // A stopped run keeps its error: the namespace it was building is gone.
        if (failure != null) {
          model.setv({status: "error", error: failure})
        } else {
          model.status = stopped ? "error" : "ready"
        }
        this.settle()
        this.host.show_status()
      })
    }
  }

  /** Run the model's `code` in a fresh namespace, after its packages. */
  async run_code(): Promise<void> {
    const {model, runtime} = this.host
    if (runtime.restart_if_crashed()) {
      this.run_when_ready = true  // the fresh runtime runs it, with or without auto_run
      return
    }
    const id = `code-${this.host.key}-${++this.code_runs}`  // unique in the worker, whatever the model
    this.code_run = id
    this.stopped_code = null
    this.host.set_status(this.host.package_phase != null ? "loading" : "running")
    const failure = await this.host.packages_loaded
    if (this.code_run != id) {
      return  // superseded while packages loaded
    }
    if (failure != null) {
      model.setv({status: "error", error: failure, stdout: "", stderr: ""})
      this.settle()
      this.host.show_status()
      return
    }
    this.host.set_status("running")
    this.host.ui.clear()
    this.report_progress(null)
    const run: Run = {kind: "code", stdout: new Tail(), stderr: new Tail(), began: performance.now()}
    const {run_timeout} = model
    if (run_timeout != null) {
      const reason = `${TIMED_OUT}: the code ran longer than run_timeout (${run_timeout} s)`
      run.deadline = setTimeout(() => this.stop_code(reason), run_timeout * 1000)
    }
    this.runs.open(run, {id})
    runtime.run(this.host.key, id, model.code, {}, true)
  }

  /** Stop the running `code` (the Stop button, Esc, run_timeout); `reason` ends its error. */
  stop_code(reason: string): void {
    const id = this.code_run
    const run = id != null ? this.runs.get(id) : undefined
    if (id != null && run != null && run.stopped == null) {
      run.stopped = reason
      this.stopped_code = id
      this.host.runtime.stop([id], reason)
    }
  }

  /** The server's `run_python`: it runs once the model's code has. */
  call({code, kwargs, request_id}: RunPython): void {
    const {runtime} = this.host
    const start = () => void this.when_code_settled().then(() => {
      if (this.runs.has(request_id)) {  // not cancelled meanwhile
        runtime.run(this.host.key, request_id, code, kwargs, false)
      }
    })
    this.runs.open({kind: "call", stdout: new Tail(), stderr: new Tail(), start}, {id: request_id})
    runtime.restart_if_crashed()  // then the call waits for this model's code to run again
    start()
  }

  /** The server stopped waiting for a call (a timeout, a cancelled task): stop it, send nothing. */
  cancel(request_id: string): void {
    clear_deadline(this.runs.cancel(request_id, "the server stopped waiting"))
    this.host.runtime.stop([request_id], "the server stopped waiting for a call")
  }

  /** The server's `interrupt()`: stop every run of this model. */
  interrupt(): void {
    const {runtime} = this.host
    this.stop_code(`${STOPPED}: interrupted by the server`)
    runtime.stop(runtime.runs_of(this.host.key), "interrupted by the server")
  }

  /** Runs that never reached a worker that was then replaced: start them again. */
  resend(ids: string[]): void {
    for (const id of ids) {
      const run = this.runs.get(id)
      if (run?.kind == "call") {
        run.start?.()
      } else if (run != null) {
        // The model's code, asked for while a run was being stopped: the fresh runtime runs it.
        clear_deadline(this.runs.cancel(id, "run again when the runtime is ready"))
        this.run_when_ready = true
      }
    }
  }

  /** Output of a run of `code` that a newer run replaced would land in the newer one's. */
  shows(id: string): boolean {
    return this.runs.get(id)?.kind != "code" || id == this.code_run
  }

  /** What a run printed: kept for its ending, shown, and followed by the server's properties. */
  stream({id, name, text}: Extract<ModelMessage, {kind: "stream"}>): void {
    this.append(id, name, text)
    if (id == this.code_run && this.runs.has(id)) {
      this.output_to_server.push(id)
    }
    if (this.shows(id)) {
      this.host.ui.stream(name, text)
    }
  }

  /** Text for a run's output that did not come from the worker (a refused update). */
  append(id: string, name: "stdout" | "stderr", text: string): void {
    this.runs.get(id)?.[name].append(text)
  }

  /** `bokeh_live.progress(fraction, text)` of a run that is still waited for. */
  progress({id, fraction, text}: Extract<ModelMessage, {kind: "progress"}>): void {
    if (this.runs.has(id)) {  // not a run the server stopped waiting for
      this.host.ui.progress(fraction, text)
      this.report_progress([fraction, text])
    }
  }

  /** A run's done or failed: the model's status for its `code`, the server's answer for a call. */
  ended(message: Ended): void {
    const run = clear_deadline(this.runs.settle(message.id, message))
    if (run == null) {
      return  // a call the server cancelled: it waits for no answer
    }
    if (run.kind == "code") {
      this.code_finished(message.id, run, message)
    } else if (message.kind == "done") {
      this.host.send({type: "run_python_result", request_id: message.id, result: from_worker(message.result)})
    } else {
      this.host.send({type: "run_python_error", request_id: message.id, error: keep_tail(message.error),
                      error_type: message.error_type})
    }
  }

  private code_finished(id: string, run: Run, message: Ended): void {
    const {model, ui} = this.host
    this.code_runs_ended++
    if (run.began != null) {
      this.last_run_ms = performance.now() - run.began
    }
    this.host.report_metrics()
    if (id != this.code_run) {
      return  // a newer run of `code` has started; its result is the one that counts
    }
    const [stdout, stderr] = [run.stdout.toString(), run.stderr.toString()]
    if (message.kind == "done") {
      model.setv({status: "ready", error: "", stdout, stderr})
    } else {
      const error = run.stopped != null ? `${message.error}\n${run.stopped}\n` : message.error
      ui.error(error)
      model.setv({status: "error", error: keep_tail(error), stdout, stderr})
    }
    this.settle()
    this.host.show_status()
  }

  /** `progress` on the server follows the browser code's reports a few times a second; the
   * last one always arrives, and a new run of `code` clears it at once. */
  private report_progress(progress: [number, string] | null): void {
    if (progress == null) {
      this.progress_to_server.cancel()
      this.host.model.progress = null
    } else {
      this.progress_to_server.push(progress)
    }
  }
}
