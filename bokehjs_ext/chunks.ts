/**
 * Bytes cut into chunks below Bokeh's 20 MiB websocket message limit, and joined again.
 * TypeScript twin of bokeh_live/chunks.py, which explains the scheme. Which values travel
 * as chunks, and the placeholders that stand for them, are values.ts's business.
 */
import {CHUNK_BYTES} from "./shared"

export type Chunk = {blob: string, offset: number, size: number, data: ArrayBuffer | ArrayBufferView}

function random_id(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
}

/**
 * Cut `bytes` into chunks of CHUNK_BYTES (the last one shorter), appended to `chunks`.
 * @returns The id of the blob they make up.
 */
export function cut(bytes: Uint8Array, chunks: Chunk[]): string {
  const blob = random_id()
  const size = bytes.byteLength
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    // slice(), not subarray(): Bokeh would send a view's whole underlying buffer.
    chunks.push({blob, offset, size, data: bytes.slice(offset, offset + CHUNK_BYTES).buffer})
  }
  return blob
}

/** Joins the blobs that the server cut (the server is trusted; checks are for bugs). */
export class Assembler {
  private readonly blobs = new Map<string, Uint8Array<ArrayBuffer>>()

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

  /** How many blobs are held, waiting for the message that uses them. */
  get held(): number {
    return this.blobs.size
  }

  /** The bytes of blob `id`, which the assembler then lets go: each blob is used once. */
  take(id: string): Uint8Array<ArrayBuffer> {
    const bytes = this.blobs.get(id)
    this.blobs.delete(id)
    if (bytes == null) {
      throw new Error("bokeh_live: a placeholder arrived without its blob")
    }
    return bytes
  }
}
