/** runs.ts: the throttle that keeps the server's stdout, stderr and progress in step with a run. */
import {test} from "node:test"
import assert from "node:assert/strict"

import {Throttle} from "../../bokehjs_ext/runs"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test("at most one flush per interval, with the newest value: the last one always arrives", async () => {
  const flushed: number[] = []
  const throttle = new Throttle<number>(20, (value) => flushed.push(value))
  for (const value of [1, 2, 3]) {
    throttle.push(value)
  }
  assert.deepEqual(flushed, [])
  await sleep(40)
  assert.deepEqual(flushed, [3])
  throttle.push(4)
  throttle.cancel()
  await sleep(40)
  assert.deepEqual(flushed, [3])  // cancelled: the value waiting is dropped
})
