/** values.ts: page <-> worker and page <-> server values, with BokehJS's real ndarray. */
import {test} from "node:test"
import assert from "node:assert/strict"
import {ndarray} from "@bokehjs/core/util/ndarray"

import {Tail, from_server, from_worker, json_string_bytes, keep_tail, to_server, to_worker} from "../../bokehjs_ext/values"
import {Assembler} from "../../bokehjs_ext/chunks"
import type {Chunk} from "../../bokehjs_ext/chunks"
import {BINARY_TAG, BLOB_TAG, CHUNK_BYTES, INT_TAG, MAX_TEXT_CHARS} from "../../bokehjs_ext/shared"

test("an ndarray goes to the worker tagged, as a copy it may take, and comes back an ndarray", () => {
  const array = ndarray(new Float64Array([1.5, 2, 3]).buffer, {dtype: "float64", shape: [3]})
  const transfer: Transferable[] = []
  const sent = to_worker({a: array}, transfer) as {a: {[key: string]: unknown, data: ArrayBuffer}}
  assert.equal(sent.a[BINARY_TAG], "ndarray")
  assert.deepEqual([sent.a.dtype, sent.a.shape], ["float64", [3]])
  assert.deepEqual(transfer, [sent.a.data])
  assert.notEqual(sent.a.data, array.buffer)  // the page's array stays the page's
  const back = from_worker(sent) as {a: Float64Array & {dtype: string, shape: number[]}}
  assert.deepEqual([Array.from(back.a), back.a.dtype, back.a.shape], [[1.5, 2, 3], "float64", [3]])
})

test("a large array goes to the server as chunks and a placeholder, and comes back an ndarray", () => {
  const n = (CHUNK_BYTES * 2.5) / 8
  const values = Float64Array.from({length: n}, (_, i) => i * 0.5)
  const array = ndarray(values.buffer, {dtype: "float64", shape: [n]})
  const chunks: Chunk[] = []
  const sent = to_server({big: array, small: new Uint8Array([1, 2])}, chunks)
  const value = sent.value as {[key: string]: {[key: string]: unknown}}
  assert.equal(chunks.length, 3)
  assert.deepEqual([value.big.kind, value.big.dtype, value.big.shape, value.big.size], ["ndarray", "float64", [n], n * 8])
  assert.equal(value.big[BLOB_TAG], chunks[0].blob)
  assert.ok(value.small instanceof Uint8Array)  // small values stay inline
  assert.ok(sent.bytes < 1000)  // the placeholder and the small array: the chunks travel beside it

  const blobs = new Assembler()
  chunks.forEach((chunk) => blobs.add(chunk))
  const back = from_server(value, blobs) as {big: Float64Array & {dtype: string}}
  assert.equal(back.big.dtype, "float64")
  assert.deepEqual([back.big.length, back.big[0], back.big[n / 2], back.big[n - 1]], [n, 0, n / 4, (n - 1) / 2])
  assert.equal(blobs.held, 0)
  assert.equal(from_server(value, blobs), value)  // no blob held: nothing to put back, no walk

  // Joined from chunks, the page's own buffer: handed to the worker without a copy.
  const transfer: Transferable[] = []
  const tagged = to_worker(back, transfer, true) as {big: {data: ArrayBuffer}}
  assert.equal(tagged.big.data, back.big.buffer)
  assert.ok(transfer[0] === back.big.buffer && transfer.length == 2)  // and the copy of the small one
})

test("the size measure: JSON text as UTF-8 (exact for strings), plus the buffers", () => {
  for (const text of ["", "plain", "quote\" back\\ tab\t nl\n", "\u0001\u001f", "é中", "😀", "lone \ud800 high", "\udc00 low"]) {
    assert.equal(json_string_bytes(text), Buffer.byteLength(JSON.stringify(text)), JSON.stringify(text))
  }
  const value = {name: "é", list: [1, 2.5, null, true], nested: {deep: ["x"]}}
  assert.ok(to_server(value, []).bytes >= Buffer.byteLength(JSON.stringify(value)))
  assert.equal(to_server(new ArrayBuffer(1000), []).bytes, 1000 + 160)
})

test("buffers of Bokeh's own are not handed over to the worker", () => {
  const theirs = new ArrayBuffer(8)
  const kept: Transferable[] = []
  to_worker(theirs, kept, true)
  assert.deepEqual(kept, [])  // Bokeh's own buffers are never transferred away
})

test("typed arrays and maps become tagged arrays and plain objects", () => {
  const sent = to_worker(new Map<unknown, unknown>([[1, new Int32Array([7, 8])]])) as {[key: string]: {dtype: string}}
  assert.deepEqual(Object.keys(sent), ["1"])
  assert.equal(sent["1"].dtype, "int32")
})

test("from the worker: undefined is null, and BigInts are numbers or exact tagged digits", () => {
  assert.deepEqual(from_worker([undefined, 5n, 2n ** 64n]), [null, 5, {[INT_TAG]: "18446744073709551616"}])
  const bytes = from_worker({[BINARY_TAG]: "bytes", data: new Uint8Array([1, 2, 3])})
  assert.ok(bytes instanceof ArrayBuffer)
  assert.deepEqual(Array.from(new Uint8Array(bytes)), [1, 2, 3])
})

test("keep_tail keeps the newest characters after a line saying what was dropped", () => {
  assert.equal(keep_tail("short", 10), "short")
  assert.equal(keep_tail("0123456789abc", 3), "[bokeh_live: 10 earlier characters dropped]\nabc")
  const tail = new Tail()
  tail.append("x".repeat(MAX_TEXT_CHARS))
  tail.append("y".repeat(MAX_TEXT_CHARS + 10))
  tail.append("z")
  const text = tail.toString()
  const head = `[bokeh_live: ${MAX_TEXT_CHARS + 11} earlier characters dropped]\n`
  assert.ok(text.startsWith(head) && text.endsWith("yz"))
  assert.equal(text.length, head.length + MAX_TEXT_CHARS)
})
