/**
 * Large binary values cut into pieces below Bokeh's 20 MiB websocket message limit.
 * TypeScript twin of bokeh_live/chunks.py, which explains the scheme.
 */
import {is_NDArray, ndarray} from "@bokehjs/core/util/ndarray"
import type {NDDataType} from "@bokehjs/core/types"
import {handover, is_plain} from "./values"
import {BLOB_TAG as BLOB, CHUNK_BYTES} from "./shared"

export type Chunk = {blob: string, offset: number, size: number, data: ArrayBuffer | ArrayBufferView}
type Placeholder = {[BLOB]: string, size: number, kind: "bytes" | "ndarray", dtype?: NDDataType, shape?: number[]}

function random_id(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
}

/** `value` with its large binary leaves replaced by placeholders; their chunks go to `chunks`. */
export function split(value: unknown, chunks: Chunk[]): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => split(v, chunks))
  }
  if (value instanceof ArrayBuffer && value.byteLength > CHUNK_BYTES) {
    return blob({kind: "bytes"}, new Uint8Array(value), chunks)
  }
  if (is_NDArray(value) && value.dtype != "object" && (value as ArrayBufferView).byteLength > CHUNK_BYTES) {
    const view = value as ArrayBufferView
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
    return blob({kind: "ndarray", dtype: value.dtype, shape: [...value.shape]}, bytes, chunks)
  }
  if (is_plain(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, split(v, chunks)]))
  }
  return value
}

function blob(info: Omit<Placeholder, typeof BLOB | "size">, bytes: Uint8Array, chunks: Chunk[]): Placeholder {
  const id = random_id()
  const size = bytes.byteLength
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    // slice(), not subarray(): Bokeh would send a view's whole underlying buffer.
    chunks.push({blob: id, offset, size, data: bytes.slice(offset, offset + CHUNK_BYTES).buffer})
  }
  return {[BLOB]: id, size, ...info}
}

export function chunk_bytes(chunk: Chunk): number {
  return chunk.data.byteLength
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

/**
 * The bytes a value (already split) takes in the event BokehJS sends: its JSON text as UTF-8
 * (exact for strings, an upper bound for numbers) plus its binary buffers.
 */
export function wire_bytes(value: unknown, depth: number = 0): number {
  if (typeof value == "string") {
    return json_string_bytes(value)
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return value.byteLength + 160
  }
  if (depth > 64 || value === null || typeof value != "object") {
    return 24
  }
  let n = 32
  if (Array.isArray(value)) {
    for (const item of value) {
      n += wire_bytes(item, depth + 1) + 1
    }
  } else {
    for (const [key, item] of Object.entries(value)) {
      n += json_string_bytes(key) + wire_bytes(item, depth + 1) + 4
    }
  }
  return n
}

/** Puts blobs from the server back together (the server is trusted; checks are for bugs). */
export class Assembler {
  private readonly blobs = new Map<string, Uint8Array>()

  add(chunk: Chunk): void {
    let buffer = this.blobs.get(chunk.blob)
    if (buffer == null) {
      buffer = new Uint8Array(chunk.size)
      this.blobs.set(chunk.blob, buffer)
    }
    const {data} = chunk
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    buffer.set(bytes, chunk.offset)
  }

  restore(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.restore(v))
    }
    if (!is_plain(value)) {
      return value
    }
    if (!(BLOB in value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.restore(v)]))
    }
    const placeholder = value as Placeholder
    const buffer = this.blobs.get(placeholder[BLOB])
    this.blobs.delete(placeholder[BLOB])
    if (buffer == null) {
      throw new Error("bokeh_live: a placeholder arrived without its blob")
    }
    if (placeholder.kind == "bytes") {
      return buffer.buffer
    }
    handover.add(buffer.buffer as ArrayBuffer)  // nobody else holds it: the worker may take it without a copy
    return ndarray(buffer.buffer, {dtype: placeholder.dtype!, shape: placeholder.shape!})
  }
}
