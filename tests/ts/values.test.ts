/** values.ts: page <-> worker values, with BokehJS's real ndarray. */
import {test} from "node:test"
import assert from "node:assert/strict"
import {ndarray} from "@bokehjs/core/util/ndarray"

import {Tail, from_worker, handover, keep_tail, to_worker} from "../../bokehjs_ext/values"
import {BINARY_TAG, INT_TAG, MAX_TEXT_CHARS} from "../../bokehjs_ext/shared"

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

test("buffers the page made itself are handed over without a copy, others are not", () => {
  const mine = new ArrayBuffer(8)
  handover.add(mine)
  const transfer: Transferable[] = []
  assert.equal((to_worker(mine, transfer, true) as {data: ArrayBuffer}).data, mine)
  assert.deepEqual(transfer, [mine])
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
