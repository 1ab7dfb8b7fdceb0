/**
 * The page's end of a BokehLive's transport; the twin of bokeh_live/channel.py.
 *
 * It owns the outbox (batched per microtask, packed into events that stay under Bokeh's
 * 20 MiB websocket limit, large binary values in chunks) and the way in (the model's
 * inbox of server batches, their chunks put back together). The view says
 * `channel.send(message)` and gets whole server messages from `on_messages`.
 */
import type {HasProps} from "@bokehjs/core/has_props"
import {ClientMessages} from "./protocol"
import type {ClientMessage, ServerMessage} from "./protocol"
import {Assembler} from "./chunks"
import type {Chunk} from "./chunks"
import {from_server, to_server} from "./values"
import {EVENT_BYTES, MAX_INLINE_BYTES} from "./shared"

/** What the channel needs of the model: its events and the server batches it holds. */
export interface ChannelModel extends HasProps {
  inbox: {messages: ServerMessage[], chunks: Chunk[]}[]
  trigger_event(event: ClientMessages): void
}

/** A reply of more bytes than this says it is on its way before it leaves ("sending"). */
const LARGE_REPLY_BYTES = 64 * 1024

export class Channel {
  protected outbox: ClientMessage[] = []
  protected flush_scheduled = false
  protected readonly blobs = new Assembler()

  constructor(readonly model: ChannelModel, readonly on_messages: (messages: ServerMessage[]) => void) {}

  /** Tell the server this view exists (an empty batch): it holds its messages until then. */
  announce(): void {
    this.model.trigger_event(new ClientMessages(this.model, []))
  }

  /**
   * Replies leave in one batch per task (the worker batches too), however many calls
   * finished meanwhile. A microtask, not a timer: timers of background tabs are throttled.
   */
  send(message: ClientMessage): void {
    this.outbox.push(message)
    if (!this.flush_scheduled) {
      this.flush_scheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  /** Take the batches the model holds, which may have come before the view existed. */
  receive(): void {
    for (const {messages, chunks} of this.model.inbox.splice(0)) {
      const restored: ServerMessage[] = []
      chunks.forEach((chunk) => this.blobs.add(chunk))
      // A call that brought binary data says it has arrived: its clock on the server starts
      // now, not when the server let it go (a large one on a slow link takes what it needs).
      const carried = this.blobs.held != 0
      for (const message of messages) {
        try {
          restored.push(from_server(message, this.blobs) as ServerMessage)
          if (message.type == "run_python" && (carried || has_binary(message.kwargs))) {
            this.send({type: "received", request_id: message.request_id})
          }
        } catch (error) {
          console.error("bokeh_live: a message from the server was dropped:", error)
        }
      }
      this.on_messages(restored)
    }
  }

  /**
   * Large binary values go as chunks before their message. An event holds at most
   * EVENT_BYTES, or one larger item alone: every event stays under Bokeh's 20 MiB limit.
   * A reply too large for any event ends its call with an error instead of closing the
   * websocket for every call.
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
    const outgoing: [{value: ClientMessage, bytes: number}, Chunk[]][] = []
    for (const message of this.outbox.splice(0)) {
      const pieces: Chunk[] = []
      const encoded = as_sent(message, pieces)
      if (encoded != null) {
        outgoing.push([encoded, pieces])
      }
    }
    // A large reply tells the server it is on its way, in an event of its own that arrives
    // before it: the call's clock then stops while the link carries it.
    const sending: ClientMessage[] = outgoing
      .filter(([{value, bytes}, pieces]) => (pieces.length != 0 || bytes > LARGE_REPLY_BYTES) && "request_id" in value)
      .map(([{value}]) => ({type: "sending", request_id: (value as {request_id: string}).request_id}))
    if (sending.length != 0) {
      this.model.trigger_event(new ClientMessages(this.model, sending))
    }
    for (const [encoded, pieces] of outgoing) {
      for (const chunk of pieces) {
        make_room(chunk.data.byteLength)
        chunks.push(chunk)
      }
      make_room(encoded.bytes)
      messages.push(encoded.value)
    }
    if (messages.length != 0 || chunks.length != 0) {
      this.model.trigger_event(new ClientMessages(this.model, messages, chunks))
    }
  }
}

/** Whether `value` holds bytes or arrays, as Bokeh hands them over (a server's binary buffers). */
function has_binary(value: unknown, depth: number = 0): boolean {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return true
  }
  if (value == null || typeof value != "object" || depth > 64) {
    return false
  }
  const items = value instanceof Map ? [...value.values()] : Array.isArray(value) ? value : Object.values(value)
  return items.some((item) => has_binary(item, depth + 1))
}

/**
 * `message` as its event carries it (its large binary values cut into `pieces`), and its
 * size. One too large for any event is dropped (null); a reply, replaced by the error that
 * ends its call.
 */
function as_sent(message: ClientMessage, pieces: Chunk[]): {value: ClientMessage, bytes: number} | null {
  const {value, bytes} = to_server(message, pieces)
  if (bytes <= MAX_INLINE_BYTES) {
    return {value: value as ClientMessage, bytes}
  }
  pieces.length = 0
  if (message.type != "run_python_result" && message.type != "run_python_error") {
    console.error(`bokeh_live: a ${message.type} message of ${bytes} bytes was dropped: over ${MAX_INLINE_BYTES} bytes`)
    return null
  }
  const error = `ValueError: the reply is ${bytes} bytes of JSON text, over the ${MAX_INLINE_BYTES} one websocket ` +
    "message takes: send large data as bytes, memoryviews or arrays, which travel in chunks\n"
  const refused: ClientMessage = {type: "run_python_error", request_id: message.request_id, error, error_type: "ValueError"}
  return {value: refused, bytes: to_server(refused, pieces).bytes}
}
