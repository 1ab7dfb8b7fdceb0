/** chunks.ts: large binary values split into chunks and put back together; sizes as sent. */
import {test} from "node:test"
import assert from "node:assert/strict"
import {ndarray} from "@bokehjs/core/util/ndarray"

import {Assembler, json_string_bytes, split, wire_bytes} from "../../bokehjs_ext/chunks"
import type {Chunk} from "../../bokehjs_ext/chunks"
import {BLOB_TAG, CHUNK_BYTES} from "../../bokehjs_ext/shared"

test("a large array leaves as exact chunks and a placeholder, and is put back whole", () => {
  const n = (CHUNK_BYTES * 2.5) / 8
  const values = Float64Array.from({length: n}, (_, i) => i * 0.5)
  const array = ndarray(values.buffer, {dtype: "float64", shape: [n]})
  const chunks: Chunk[] = []
  const small = split({big: array, small: new Uint8Array([1, 2])}, chunks) as {[key: string]: {[key: string]: unknown}}
  assert.equal(chunks.length, 3)
  assert.deepEqual(chunks.map((c) => [c.offset, c.data.byteLength]),
                   [[0, CHUNK_BYTES], [CHUNK_BYTES, CHUNK_BYTES], [2 * CHUNK_BYTES, CHUNK_BYTES / 2]])
  assert.deepEqual([small.big.kind, small.big.dtype, small.big.shape, small.big.size], ["ndarray", "float64", [n], n * 8])
  assert.ok(typeof small.big[BLOB_TAG] == "string")
  assert.ok(small.small instanceof Uint8Array)  // small values stay inline

  const assembler = new Assembler()
  for (const chunk of [...chunks].reverse()) {  // in any order
    assembler.add(chunk)
  }
  const back = assembler.restore(small) as {big: Float64Array & {dtype: string}}
  assert.equal(back.big.dtype, "float64")
  assert.equal(back.big.length, n)
  assert.deepEqual([back.big[0], back.big[n / 2], back.big[n - 1]], [0, n / 4, (n - 1) / 2])
  assert.throws(() => assembler.restore(small), /without its blob/)  // each blob is taken once
})

test("json_string_bytes is the UTF-8 length of JSON.stringify, escapes and surrogates included", () => {
  for (const text of ["", "plain", "quote\" back\\ tab\t nl\n", "\u0001\u001f", "é中", "😀", "lone \ud800 high", "\udc00 low"]) {
    assert.equal(json_string_bytes(text), Buffer.byteLength(JSON.stringify(text)), JSON.stringify(text))
  }
})

test("wire_bytes is an upper bound of the JSON text, plus the buffers", () => {
  const value = {name: "é", list: [1, 2.5, null, true], nested: {deep: ["x"]}}
  assert.ok(wire_bytes(value) >= Buffer.byteLength(JSON.stringify(value)))
  assert.equal(wire_bytes(new ArrayBuffer(1000)), 1000 + 160)
})
