/**
 * Every reach into BokehJS's private internals, in one place; the twin of
 * bokeh_live/_bokeh_internals.py. Each is a convenience: if a BokehJS release moves what it
 * relies on, it assumes what keeps the package working as before.
 */
import type {Document} from "@bokehjs/document"
import type {ModelEvent} from "@bokehjs/core/bokeh_events"
import {Receiver} from "@bokehjs/protocol/receiver"

/**
 * Whether the document's changes and events reach a server. BokehJS (3.9) says so nowhere
 * public: a server session (ClientSession) is the one listener of the document's private
 * `_callbacks` that takes batched changes, so look for that. Standalone HTML and notebook
 * output have none. If BokehJS changed inside, assume a server rather than drop messages.
 */
export function has_server(doc: Document | null): boolean {
  const callbacks = (doc as unknown as {_callbacks?: unknown} | null)?._callbacks
  if (!(callbacks instanceof Map)) {
    return true
  }
  return [...callbacks.values()].some((allow_batches) => allow_batches === true)
}

type EventListener = (event: ModelEvent) => void
const event_listeners = new WeakMap<object, Set<EventListener>>()

/**
 * Call `listener` with every model event of `doc` (a button's click, a plot's tap...), until
 * the returned function is called. BokehJS's public `model.on_event` adds to a model's
 * `js_event_callbacks` for good and reaches only models subscribed to events; every event
 * passes through the document's event manager's `trigger`, so listen there instead.
 */
export function on_model_events(doc: Document, listener: EventListener): () => void {
  const manager = doc.event_manager as unknown as {trigger?: (event: ModelEvent) => void}
  let listeners = event_listeners.get(manager)
  if (listeners == null) {
    const trigger = manager.trigger
    if (typeof trigger != "function") {
      console.warn("bokeh_live: this BokehJS has no event manager to listen to: browser callbacks hear no events")
      return () => {}
    }
    const all = listeners = new Set()
    event_listeners.set(manager, listeners)
    manager.trigger = function(this: unknown, event: ModelEvent): void {
      trigger.call(this, event)
      for (const each of [...all]) {
        each(event)
      }
    }
  }
  listeners.add(listener)
  return () => void listeners.delete(listener)
}

/** An event's values as Bokeh's event class holds them (`x`, `y`, `item`, `geometry`...):
 * BokehJS keeps them behind a protected getter. */
export function event_values(event: ModelEvent): {[field: string]: unknown} {
  const values = (event as unknown as {event_values?: {[field: string]: unknown}}).event_values ?? {}
  const {model: _, ...fields} = values
  return fields
}

const healed = new WeakSet<Document>()

/**
 * BokehJS (3.9) keeps a connection's message receiver across reconnections: a link dropped in
 * the middle of a message (the chunks of a large array, say) leaves it expecting the rest, so
 * every message of the new connection fails to parse, and the close it then tries (code
 * 1002, which browsers refuse from a page) leaves the socket open: the page is wedged for
 * good. When a document's connection is lost, give it a fresh receiver before it reconnects.
 */
export function heal_reconnections(doc: Document | null): void {
  if (doc == null || healed.has(doc)) {
    return
  }
  healed.add(doc)
  doc.on_event("connection_lost", (_doc: unknown, event: unknown) => {
    const connection = (event as {connection?: WeakRef<object>}).connection?.deref() as {_receiver?: unknown} | undefined
    if (connection != null && "_receiver" in connection) {
      connection._receiver = new Receiver()
    } else {
      console.warn("bokeh_live: this BokehJS has no message receiver to reset on a lost connection")
    }
  })
}
