/** pending.ts: every request has exactly one ending, whichever comes first. */
import {test} from "node:test"
import assert from "node:assert/strict"

import {Pending} from "../../bokehjs_ext/pending"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test("a settled request gives its answer once; what comes later changes nothing", async () => {
  const table = new Pending<string, {model: string}>("load")
  const {id, ending} = table.open({model: "m"}, {timeout_ms: 20})
  assert.equal(id, "load-1")
  assert.equal(table.open({model: "n"}).id, "load-2")
  assert.deepEqual(table.get(id), {model: "m"})
  assert.deepEqual(table.settle(id, "answer"), {model: "m"})
  assert.equal(table.settle(id, "late"), undefined)
  assert.equal(table.cancel(id, "too late"), undefined)
  assert.deepEqual(await ending, {how: "settled", value: "answer"})
  await sleep(40)  // its timeout was cleared: nothing fires
  assert.deepEqual(table.requests().map(([id]) => id), ["load-2"])
})

test("a request nobody answers times out, and its answer then finds nothing", async () => {
  const table = new Pending<number>()
  const {id, ending} = table.open(null, {timeout_ms: 10})
  assert.deepEqual(await ending, {how: "timed_out"})
  assert.equal(table.has(id), false)
  assert.equal(table.settle(id, 1), undefined)
  assert.equal(table.size, 0)
})

test("cancel ends one request; end_all ends every other with its reason", async () => {
  const table = new Pending<number, string>()
  const a = table.open("a", {id: "a"})
  const b = table.open("b", {id: "b", timeout_ms: 10_000})
  const c = table.open("c", {id: "c"})
  assert.equal(table.cancel("a", "the server stopped waiting"), "a")
  assert.deepEqual(table.end_all("the worker died"), [["b", "b"], ["c", "c"]])
  assert.deepEqual(await Promise.all([a.ending, b.ending, c.ending]), [
    {how: "cancelled", reason: "the server stopped waiting"},
    {how: "ended", reason: "the worker died"},
    {how: "ended", reason: "the worker died"},
  ])
  assert.equal(table.size, 0)  // and b's long timeout no longer holds the process
})

test("an id opened again cancels the request that had it", async () => {
  const table = new Pending<number, number>()
  const first = table.open(1, {id: "x"})
  table.open(2, {id: "x"})
  assert.deepEqual(await first.ending, {how: "cancelled", reason: "replaced by a request of the same id"})
  assert.equal(table.get("x"), 2)
})
