/**
 * Every reach into BokehJS's private internals, in one place; the twin of
 * bokeh_live/_bokeh_internals.py. Each is a convenience: if a BokehJS release moves what it
 * relies on, it assumes what keeps the package working as before.
 */
import type {Document} from "@bokehjs/document"

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
