/**
 * The codec of the page: every tag a value wears on its way, in one place.
 *
 * - Page <-> worker: Bokeh hands the view numpy arrays as BokehJS ndarrays and `bytes` as
 *   ArrayBuffers. Between page and worker they travel tagged (BINARY_TAG: structured clone
 *   would drop an ndarray's dtype and shape), and Python ints too large for a double as
 *   exact digits (INT_TAG); bokeh_live/_browser.py reads and writes the same tags.
 * - Page <-> server: Bokeh sends binary values as binary buffers, but no websocket message
 *   may pass 20 MiB: large ones travel as chunks (chunks.ts) and a placeholder (BLOB_TAG)
 *   stands in the message for each. `to_server` also measures what a message takes.
 */
import {is_NDArray, ndarray} from "@bokehjs/core/util/ndarray"
import type {NDDataType} from "@bokehjs/core/types"
import {BINARY_TAG as BINARY, BLOB_TAG as BLOB, CHUNK_BYTES, INT_TAG, MAX_TEXT_CHARS} from "./shared"
import {cut} from "./chunks"
import type {Assembler, Chunk} from "./chunks"

type Tagged = {[BINARY]: "bytes", data: ArrayBuffer | Uint8Array}
  | {[BINARY]: "ndarray", dtype: NDDataType, shape: number[], data: ArrayBuffer | Uint8Array}

type Placeholder = {[BLOB]: string, size: number, kind: "bytes" | "ndarray", dtype?: NDDataType, shape?: number[]}

const TYPED: [Function, NDDataType][] = [
  [Float64Array, "float64"], [Float32Array, "float32"], [Int32Array, "int32"], [Uint32Array, "uint32"],
  [Int16Array, "int16"], [Uint16Array, "uint16"], [Int8Array, "int8"], [Uint8Array, "uint8"],
]

function bytes_of(view: ArrayBufferView): ArrayBuffer {
  return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer
}

/** An object literal (or one made by Object.fromEntries): walked into, unlike class instances. */
function is_plain(value: unknown): value is {[key: string]: unknown} {
  if (value === null || typeof value !== "object") {
    return false
  }
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Buffers the page made itself (blobs joined from chunks), which nothing else holds. */
const handover = new WeakSet<ArrayBuffer>()

// --- page <-> worker ---------------------------------------------------------------------

/**
 * A value from Bokeh (server data, kwargs, `value`) in the form the worker decodes. Buffers
 * this makes (copies out of Bokeh's arrays) go to `transfer`: the worker can take them
 * without another copy. Bokeh's own ArrayBuffers are left alone: the page may hold them.
 * With `take`, buffers the page made itself (`from_server`'s blobs) are handed over whole,
 * without a copy: only for values that nothing but the worker gets.
 */
export function to_worker(value: unknown, transfer: Transferable[] = [], take: boolean = false): unknown {
  const mine = (buffer: ArrayBufferLike): buffer is ArrayBuffer =>
    take && buffer instanceof ArrayBuffer && handover.has(buffer)
  const copy = (view: ArrayBufferView) => {
    const whole = view.byteOffset == 0 && view.byteLength == view.buffer.byteLength
    const buffer = whole && mine(view.buffer) ? view.buffer : bytes_of(view)
    transfer.push(buffer)
    return buffer
  }
  const walk = (item: unknown): unknown => {
    if (item instanceof ArrayBuffer) {
      if (mine(item)) {
        transfer.push(item)
      }
      return {[BINARY]: "bytes", data: item}
    }
    if (is_NDArray(item) && item.dtype != "object") {
      return {[BINARY]: "ndarray", dtype: item.dtype, shape: [...item.shape], data: copy(item as ArrayBufferView)}
    }
    if (ArrayBuffer.isView(item)) {
      const dtype = TYPED.find(([cls]) => item instanceof cls)?.[1]
      return dtype == null ? {[BINARY]: "bytes", data: copy(item)}
        : {[BINARY]: "ndarray", dtype, shape: [(item as Float64Array).length], data: copy(item)}
    }
    if (Array.isArray(item)) {
      return item.map(walk)
    }
    if (item instanceof Map) {
      return Object.fromEntries([...item].map(([k, v]) => [String(k), walk(v)]))
    }
    if (is_plain(item)) {
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v)]))
    }
    return item
  }
  return walk(value)
}

/**
 * A value from the worker in the form Bokeh sends to the server as binary buffers.
 * Pyodide turns None into undefined, which JSON cannot carry: it becomes null again.
 */
export function from_worker(value: unknown): unknown {
  if (value === undefined) {
    return null
  }
  if (typeof value == "bigint") {
    // Pyodide makes BigInts of large Python ints, which BokehJS cannot serialize.
    return Number.isSafeInteger(Number(value)) ? Number(value) : {[INT_TAG]: value.toString()}
  }
  if (Array.isArray(value)) {
    return value.map(from_worker)
  }
  if (!is_plain(value)) {
    return value
  }
  const tag = (value as Partial<Tagged>)[BINARY]
  if (tag != null) {
    const {data} = value as Tagged
    // Pyodide hands over bytes as a Uint8Array that owns its whole buffer: use it as is.
    const whole = !(data instanceof ArrayBuffer) && data.byteOffset == 0 && data.byteLength == data.buffer.byteLength
    const buffer = data instanceof ArrayBuffer ? data : whole ? data.buffer as ArrayBuffer : bytes_of(data)
    if (tag == "bytes") {
      return buffer
    }
    const {dtype, shape} = value as Tagged & {dtype: NDDataType, shape: number[]}
    return ndarray(buffer, {dtype, shape})
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, from_worker(v)]))
}

// --- page <-> server -----------------------------------------------------------------------

/**
 * A message for the server as its event carries it, and what it takes there, in one walk:
 * ArrayBuffers and ndarrays larger than CHUNK_BYTES become placeholders, their bytes cut
 * into `chunks`. `bytes` is the message's JSON text as UTF-8 (exact for strings, an upper
 * bound for numbers) plus its binary buffers; chunks are not counted.
 */
export function to_server(value: unknown, chunks: Chunk[]): {value: unknown, bytes: number} {
  return encode(value, chunks)
}

/** to_server's walk; with `chunks` null it only measures (inside objects it does not rebuild). */
function encode(value: unknown, chunks: Chunk[] | null): {value: unknown, bytes: number} {
  if (typeof value == "string") {
    return {value, bytes: json_string_bytes(value)}
  }
  if (value === null || typeof value != "object") {
    return {value, bytes: 24}
  }
  if (chunks != null && value instanceof ArrayBuffer && value.byteLength > CHUNK_BYTES) {
    return placeholder({kind: "bytes"}, new Uint8Array(value), chunks)
  }
  if (chunks != null && is_NDArray(value) && value.dtype != "object" && (value as ArrayBufferView).byteLength > CHUNK_BYTES) {
    const view = value as ArrayBufferView
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
    return placeholder({kind: "ndarray", dtype: value.dtype, shape: [...value.shape]}, bytes, chunks)
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return {value, bytes: value.byteLength + 160}
  }
  let bytes = 32
  if (Array.isArray(value)) {
    const items = value.map((item) => {
      const encoded = encode(item, chunks)
      bytes += encoded.bytes + 1
      return encoded.value
    })
    return {value: chunks != null ? items : value, bytes}
  }
  const plain = chunks != null && is_plain(value)
  const entries = Object.entries(value).map(([key, item]) => {
    const encoded = encode(item, plain ? chunks : null)
    bytes += json_string_bytes(key) + encoded.bytes + 4
    return [key, encoded.value]
  })
  return {value: plain ? Object.fromEntries(entries) : value, bytes}
}

function placeholder(info: Omit<Placeholder, typeof BLOB | "size">, bytes: Uint8Array, chunks: Chunk[]) {
  const value: Placeholder = {[BLOB]: cut(bytes, chunks), size: bytes.byteLength, ...info}
  return {value, bytes: encode(value, null).bytes}
}

/**
 * A message from the server with its placeholders replaced by the blobs `blobs` joined
 * (each is taken once): bytes as an ArrayBuffer, arrays as ndarrays. With no blob held the
 * message holds no placeholder, and is returned as it is, unwalked.
 */
export function from_server(value: unknown, blobs: Assembler): unknown {
  if (blobs.held == 0) {
    return value
  }
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) {
      return item.map(walk)
    }
    if (!is_plain(item)) {
      return item
    }
    if (!(BLOB in item)) {
      return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, walk(v)]))
    }
    const {[BLOB]: id, kind, dtype, shape} = item as Placeholder
    const {buffer} = blobs.take(id)
    handover.add(buffer)  // nobody else holds it: the worker may take it without a copy
    return kind == "bytes" ? buffer : ndarray(buffer, {dtype: dtype!, shape: shape!})
  }
  return walk(value)
}

/** The UTF-8 bytes of a string as JSON text (JSON.stringify's escapes included). */
export function json_string_bytes(text: string): number {
  let n = 2
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c == 0x22 || c == 0x5c || c == 0x08 || c == 0x09 || c == 0x0a || c == 0x0c || c == 0x0d) {
      n += 2
    } else if (c < 0x20) {
      n += 6
    } else if (c < 0x80) {
      n += 1
    } else if (c < 0x800) {
      n += 2
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      n += 4  // a surrogate pair: one code point of 4 bytes
      i++
    } else if (c >= 0xd800 && c <= 0xdfff) {
      n += 6  // a lone surrogate: JSON.stringify escapes it
    } else {
      n += 3
    }
  }
  return n
}

// --- printed text ---------------------------------------------------------------------------

/**
 * The newest `limit` characters of `text`, after a line saying what was dropped: printed
 * output and tracebacks are capped before they become properties (bokeh_live/shared.py's
 * keep_tail is the twin).
 */
export function keep_tail(text: string, limit: number = MAX_TEXT_CHARS): string {
  if (text.length <= limit) {
    return text
  }
  return `[bokeh_live: ${text.length - limit} earlier characters dropped]\n${text.slice(-limit)}`
}

/** Printed text that keeps its newest MAX_TEXT_CHARS characters and counts what it dropped. */
export class Tail {
  protected text = ""
  protected dropped = 0

  append(more: string): void {
    this.text += more
    if (this.text.length > 2 * MAX_TEXT_CHARS) {  // cut rarely: appending stays linear
      this.dropped += this.text.length - MAX_TEXT_CHARS
      this.text = this.text.slice(-MAX_TEXT_CHARS)
    }
  }

  toString(): string {
    const extra = Math.max(0, this.text.length - MAX_TEXT_CHARS)
    const dropped = this.dropped + extra
    return dropped == 0 ? this.text : `[bokeh_live: ${dropped} earlier characters dropped]\n${this.text.slice(extra)}`
  }
}
