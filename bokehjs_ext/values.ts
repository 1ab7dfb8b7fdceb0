/**
 * Values between the page and the worker. Bokeh hands the view numpy arrays as BokehJS
 * ndarrays and `bytes` as ArrayBuffers, and sends them to the server the same way, as
 * binary buffers. Between page and worker they travel tagged (structured clone would
 * drop an ndarray's dtype and shape); bokeh_live/_browser.py reads and writes the tags.
 */
import {is_NDArray, ndarray} from "@bokehjs/core/util/ndarray"
import type {NDDataType} from "@bokehjs/core/types"
import {BINARY_TAG as BINARY, INT_TAG, MAX_TEXT_CHARS} from "./shared"

type Tagged = {[BINARY]: "bytes", data: ArrayBuffer | Uint8Array}
  | {[BINARY]: "ndarray", dtype: NDDataType, shape: number[], data: ArrayBuffer | Uint8Array}

const TYPED: [Function, NDDataType][] = [
  [Float64Array, "float64"], [Float32Array, "float32"], [Int32Array, "int32"], [Uint32Array, "uint32"],
  [Int16Array, "int16"], [Uint16Array, "uint16"], [Int8Array, "int8"], [Uint8Array, "uint8"],
]

function bytes_of(view: ArrayBufferView): ArrayBuffer {
  return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer
}

/** An object literal (or one made by Object.fromEntries): walked into, unlike class instances. */
export function is_plain(value: unknown): value is {[key: string]: unknown} {
  if (value === null || typeof value !== "object") {
    return false
  }
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Buffers the page made itself (reassembled chunks), which nothing else holds. */
export const handover = new WeakSet<ArrayBuffer>()

/**
 * A value from Bokeh (server data, kwargs, `value`) in the form the worker decodes. Buffers
 * this makes (copies out of Bokeh's arrays) go to `transfer`: the worker can take them
 * without another copy. Bokeh's own ArrayBuffers are left alone: the page may hold them.
 * With `take`, buffers the page made itself are handed over whole, without a copy.
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
  const walk = (item: unknown) => to_worker(item, transfer, take)
  if (value instanceof ArrayBuffer) {
    if (mine(value)) {
      transfer.push(value)
    }
    return {[BINARY]: "bytes", data: value}
  }
  if (is_NDArray(value) && value.dtype != "object") {
    return {[BINARY]: "ndarray", dtype: value.dtype, shape: [...value.shape], data: copy(value as ArrayBufferView)}
  }
  if (ArrayBuffer.isView(value)) {
    const dtype = TYPED.find(([cls]) => value instanceof cls)?.[1]
    return dtype == null ? {[BINARY]: "bytes", data: copy(value)}
      : {[BINARY]: "ndarray", dtype, shape: [(value as Float64Array).length], data: copy(value)}
  }
  if (Array.isArray(value)) {
    return value.map(walk)
  }
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), walk(v)]))
  }
  if (is_plain(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]))
  }
  return value
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
