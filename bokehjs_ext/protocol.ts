/**
 * The wire protocol between a BokehLive view and its server model; the TypeScript twin of
 * bokeh_live/protocol.py (tests/test_protocol.py keeps the two lists of types equal).
 *
 * Messages travel in batches, on two Bokeh events of the model, so that many calls in
 * flight cost one websocket message per tick instead of one each.
 */
import {ModelEvent, server_event} from "@bokehjs/core/bokeh_events"
import type {HasProps} from "@bokehjs/core/has_props"
import type {Attrs} from "@bokehjs/core/types"
import type {Chunk} from "./chunks"

// server -> browser
export type ServerData = {type: "server_data", data: unknown}
export type RunPython = {type: "run_python", code: string, kwargs: {[name: string]: unknown}, request_id: string}
export type Cancel = {type: "cancel", request_id: string}
export type Interrupt = {type: "interrupt"}
export type Restart = {type: "restart"}
export type CallResult = {type: "call_result", call_id: string, result: unknown}
export type CallError = {type: "call_error", call_id: string, error: string, error_type: string}
export type ServerMessage = ServerData | RunPython | Cancel | Interrupt | Restart | CallResult | CallError

// browser -> server
export type Output = {type: "output", data: unknown}
export type RunPythonResult = {type: "run_python_result", request_id: string, result: unknown}
export type RunPythonError = {type: "run_python_error", request_id: string, error: string, error_type: string}
export type ViewState = {type: "view", state: "hidden" | "shown"}
export type Call = {type: "call", call_id: string, name: string, args: unknown[], kwargs: {[name: string]: unknown}}
export type Received = {type: "received", request_id: string}
export type Sending = {type: "sending", request_id: string}
export type ClientMessage = Output | RunPythonResult | RunPythonError | ViewState | Call | Received | Sending

export const SERVER_MESSAGE_TYPES: readonly ServerMessage["type"][] = [
  "server_data", "run_python", "cancel", "interrupt", "restart", "call_result", "call_error"]
export const CLIENT_MESSAGE_TYPES: readonly ClientMessage["type"][] = [
  "output", "run_python_result", "run_python_error", "view", "call", "received", "sending"]

/**
 * A batch from the server, sent with `document.callbacks.send_event`. `chunks` carry the
 * bytes of large binary values that `messages` hold placeholders for (chunks.ts).
 */
@server_event("bokeh_live_server")
export class ServerMessages extends ModelEvent {
  constructor(readonly model: HasProps, readonly messages: ServerMessage[], readonly chunks: Chunk[] = []) {
    super()
    this.origin = model
  }

  protected override get event_values(): Attrs {
    return {...super.event_values, messages: this.messages, chunks: this.chunks}
  }

  static override from_values(values: Attrs): ServerMessages {
    const {model, messages, chunks} = values as {model: HasProps, messages: unknown, chunks: unknown}
    // The server is trusted, but a batch that is not a list would throw deep in the view.
    return new ServerMessages(model, Array.isArray(messages) ? messages : [], Array.isArray(chunks) ? chunks : [])
  }
}

/** A batch to the server; Python's `BokehLive` subscribes to it. */
export class ClientMessages extends ModelEvent {
  constructor(readonly model: HasProps, readonly messages: ClientMessage[], readonly chunks: Chunk[] = []) {
    super()
    this.origin = model
  }

  protected override get event_values(): Attrs {
    return {...super.event_values, messages: this.messages, chunks: this.chunks}
  }

  static {
    this.prototype.event_name = "bokeh_live_client"
  }
}
