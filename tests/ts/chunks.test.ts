/** chunks.ts: bytes cut into chunks of CHUNK_BYTES and joined again, in any order. */
import {test} from "node:test"
import assert from "node:assert/strict"

import {Assembler, cut} from "../../bokehjs_ext/chunks"
import type {Chunk} from "../../bokehjs_ext/chunks"
import {CHUNK_BYTES} from "../../bokehjs_ext/shared"

test("bytes leave as exact chunks and are joined whole, each blob once", () => {
  const bytes = Uint8Array.from({length: CHUNK_BYTES * 2.5}, (_, i) => i % 251)
  const chunks: Chunk[] = []
  const id = cut(bytes, chunks)
  assert.deepEqual(chunks.map((c) => [c.blob, c.offset, c.size, c.data.byteLength]), [
    [id, 0, bytes.length, CHUNK_BYTES], [id, CHUNK_BYTES, bytes.length, CHUNK_BYTES],
    [id, 2 * CHUNK_BYTES, bytes.length, CHUNK_BYTES / 2]])
  assert.ok(chunks.every((c) => (c.data as ArrayBuffer).byteLength == c.data.byteLength))  // no shared buffers

  const assembler = new Assembler()
  for (const chunk of [...chunks].reverse()) {
    assembler.add(chunk)
  }
  assert.equal(assembler.held, 1)
  assert.deepEqual(assembler.take(id), bytes)
  assert.equal(assembler.held, 0)
  assert.throws(() => assembler.take(id), /without its blob/)
})
