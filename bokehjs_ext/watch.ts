/**
 * Browser callbacks, the page's half (Python: bokeh_live/browser/watch.py): what a BokehLive's
 * `watch` lists is mirrored into its worker, and each change and event reaches its callbacks
 * in order, with no server involved.
 *
 * Changes go in batches, one at a time: while Python handles a batch, newer changes of the
 * same property replace the one waiting, so a slider dragged through 200 values while a slow
 * callback runs costs a handful of batches and the last carries the final value. Events are
 * never replaced. What is heard is decided here, from `watch` alone: the worker can only
 * hear what the page sends it.
 */
import type {HasProps} from "@bokehjs/core/has_props"
import type {Property} from "@bokehjs/core/properties"
import type {ModelEvent} from "@bokehjs/core/bokeh_events"
import {Pending} from "./pending"
import type {Ending} from "./pending"
import {event_values, on_model_events} from "./bokeh_internals"
import type {ToWorker} from "./worker"

export type Change = Extract<ToWorker, {kind: "changes"}>["items"][number]
type Watched = Extract<ToWorker, {kind: "watched"}>
type ChangesMessage = Extract<ToWorker, {kind: "changes"}>

/** Events waiting beyond this many (a page clicked faster than Python keeps up) drop the oldest. */
const MAX_WAITING_EVENTS = 1000

/** What the watcher needs of its view. */
export interface WatchHost {
  get_model(): HasProps & {watch: unknown, run_timeout: number | null}
  /** The model's name in its worker (page_key). */
  get_key(): string
  /** To the worker: the mirror. */
  post(message: Watched): void
  /** A batch, as a run of the worker: stopping, restarting or a crash end it as they end runs. */
  run(message: ChangesMessage): void
  /** Stop a run that took longer than `run_timeout`. */
  stop(id: string, reason: string): void
  /** Settles once the model's code has run: its callbacks are registered. */
  when_code_settled(): Promise<void>
}

let batches = 0

/** `watch` arrives as a Map from a server and as an object from standalone HTML. */
function listed(watch: unknown): [string, string[]][] {
  const pairs = watch instanceof Map ? [...watch] : Object.entries((watch ?? {}) as object)
  return pairs.filter((pair): pair is [string, string[]] => typeof pair[0] == "string" && Array.isArray(pair[1]))
    .map(([name, attrs]) => [name, attrs.filter((attr) => typeof attr == "string")])
}

function is_model(value: unknown): value is HasProps {
  return value != null && typeof value == "object" && "properties" in value && "id" in value && "type" in value
}

/**
 * A value the worker can take: models become `{type, id, name}`, sets arrays, maps plain
 * objects; numbers, strings, arrays and typed arrays stay (values.ts encodes them on the way).
 */
export function plain(value: unknown, depth: number = 0): unknown {
  if (value == null || typeof value != "object" || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return typeof value == "function" ? null : value
  }
  if (depth > 32) {
    return null
  }
  if (is_model(value)) {
    return {type: value.type, id: value.id, name: (value as unknown as {name?: unknown}).name ?? null}
  }
  if (Array.isArray(value) || value instanceof Set) {
    return [...value].map((item) => plain(item, depth + 1))
  }
  const pairs = value instanceof Map ? [...value] : Object.entries(value)
  return Object.fromEntries(pairs.map(([k, v]) => [String(k), plain(v, depth + 1)]))
}

export class Watcher {
  private queue: Change[] = []
  private readonly batch = new Pending<null>("changes")
  /** A batch waits for the model's code, or for Python: no other leaves meanwhile. */
  private busy = false
  private scheduled = false
  private stops: (() => void)[] = []

  constructor(private readonly host: WatchHost) {}

  /**
   * Listen to what `watch` lists in the model's document and send the mirror: before the
   * model's code runs, so that `bokeh_live.get` works there. Again after a restart.
   */
  start(): void {
    this.stop_listening()
    const model = this.host.get_model()
    const message: Watched = {kind: "watched", model: this.host.get_key(), watch: {}, properties: {}, events: {}, missing: {}}
    const events = new Map<string, Set<string>>()
    for (const [name, attrs] of listed(model.watch)) {
      message.watch[name] = attrs
      const target = this.find(name, message.missing)
      if (target == null) {
        continue
      }
      for (const attr of attrs) {
        const first = attr.split(".")[0]
        if (first in target.properties) {
          const values = message.properties[name] ??= {}
          values[attr] = plain(this.listen(target, attr.split("."), (value) => this.changed(name, attr, value)))
        } else if (/^[a-z_]+$/.test(attr)) {
          (message.events[name] ??= []).push(attr)
          if (!events.has(target.id)) {
            events.set(target.id, new Set())
          }
          events.get(target.id)!.add(attr)
        } else {
          message.missing[`${name}.${attr}`] = `${target.type} '${name}' has no property '${first}'`
        }
      }
      if (events.has(target.id)) {
        const wanted = events.get(target.id)!
        const doc = model.document
        if (doc != null) {
          this.stops.push(on_model_events(doc, (event: ModelEvent) => {
            if (event.origin === target && wanted.has(event.event_name)) {
              this.happened(name, event)
            }
          }))
        }
      }
    }
    this.host.post(message)
  }

  /** The model on the page called `name`, or null with the reason in `missing`. */
  private find(name: string, missing: {[key: string]: string}): HasProps | null {
    const doc = this.host.get_model().document
    let target: HasProps | null = null
    try {
      target = doc?.get_model_by_name(name) ?? null
    } catch {
      missing[name] = `several models are named '${name}': names in watch must be unique`
      return null
    }
    if (target == null) {
      missing[name] = `no model named '${name}' on the page`
    } else if (target.type == "BokehLive" || target.type.endsWith(".BokehLive")) {
      missing[name] = "a BokehLive is never watchable"
      return null
    }
    return target
  }

  /**
   * Follow `path` from `holder` (`["selected", "indices"]`: the `indices` of the model its
   * `selected` holds), calling `changed` with the value at its end whenever any step of it
   * changes. Returns the value now.
   */
  private listen(holder: HasProps, path: string[], changed: (value: unknown) => void): unknown {
    const [attr, ...rest] = path
    const prop = (holder.properties as {[attr: string]: Property<unknown> | undefined})[attr]
    if (prop == null) {
      return null
    }
    let inner: (() => void) | null = null
    const follow = (): unknown => {
      inner?.()
      inner = null
      const value = prop.get_value()
      if (rest.length == 0) {
        return value
      }
      if (!is_model(value)) {
        return null
      }
      const before = this.stops.length
      const result = this.listen(value, rest, changed)
      const added = this.stops.splice(before)
      inner = () => added.forEach((stop) => stop())
      return result
    }
    const slot = () => changed(follow())
    prop.change.connect(slot)
    this.stops.push(() => {
      prop.change.disconnect(slot)
      inner?.()
    })
    return follow()
  }

  private changed(target: string, attr: string, value: unknown): void {
    const item: Change = {target, attr, value: plain(value), event: null, values: null}
    // The newest value of a property replaces one waiting since the last event: events stay
    // in order with the changes around them.
    let waiting = -1
    for (let i = this.queue.length - 1; i >= 0 && this.queue[i].event == null; i--) {
      if (this.queue[i].target == target && this.queue[i].attr == attr) {
        waiting = i
        break
      }
    }
    if (waiting >= 0) {
      this.queue[waiting] = item
    } else {
      this.queue.push(item)
    }
    this.schedule()
  }

  private happened(target: string, event: ModelEvent): void {
    this.queue.push({target, attr: null, value: null, event: event.event_name, values: plain(event_values(event)) as
      {[field: string]: unknown}})
    const events = this.queue.filter((q) => q.event != null)
    if (events.length > MAX_WAITING_EVENTS) {
      this.queue.splice(this.queue.indexOf(events[0]), 1)
      console.warn(`bokeh_live: more than ${MAX_WAITING_EVENTS} events wait for the browser's callbacks; the oldest was dropped`)
    }
    this.schedule()
  }

  /** What happened in one task of the page leaves as one batch. */
  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(() => {
        this.scheduled = false
        void this.flush()
      })
    }
  }

  private async flush(): Promise<void> {
    if (this.busy || this.queue.length == 0) {
      return
    }
    this.busy = true
    await this.host.when_code_settled()
    const items = this.queue.splice(0)
    if (items.length == 0) {
      this.busy = false
      return
    }
    const {run_timeout} = this.host.get_model()
    const {id, ending} = this.batch.open(null, {id: `changes-${++batches}`, timeout_ms: run_timeout != null ? run_timeout * 1000 : null})
    this.host.run({kind: "changes", model: this.host.get_key(), id, items})
    const end: Ending<null> = await ending
    if (end.how == "timed_out") {
      this.host.stop(id, `TimeoutError: the callbacks ran longer than run_timeout (${run_timeout} s)`)
    }
    this.busy = false
    void this.flush()
  }

  /** Whether `id` is a batch of this watcher's that Python has not finished. */
  owns(id: string): boolean {
    return this.batch.has(id)
  }

  /** Python finished a batch (done, or failed: stopped, or its runtime went). */
  ended(id: string): void {
    this.batch.settle(id, null)
  }

  /** Stop the batch Python is handling (the Stop button, Esc). */
  stop(reason: string): void {
    for (const [id] of this.batch.requests()) {
      this.host.stop(id, reason)
    }
  }

  /** The runtime restarts: changes wait for the new mirror; events still go, after the code. */
  restarting(): void {
    this.queue = this.queue.filter((item) => item.event != null)
    this.batch.end_all("the runtime restarted")
  }

  private stop_listening(): void {
    this.stops.splice(0).forEach((stop) => stop())
  }

  /** The view goes: nothing more is heard or sent. */
  remove(): void {
    this.stop_listening()
    this.queue = []
    this.batch.end_all("the view was removed")
  }
}
