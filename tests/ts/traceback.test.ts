/** traceback.ts: what a status line shows of a traceback, and which line the editor marks. */
import {test} from "node:test"
import assert from "node:assert/strict"

import {error_line, error_summary} from "../../bokehjs_ext/traceback"

const TRACEBACK = `Traceback (most recent call last):
  File "<code>", line 4, in <module>
  File "<code>", line 2, in parse
  File "/lib/python3.13/site-packages/x.py", line 9, in helper
ValueError: invalid literal for int() with base 10: 'forty-two'
`

test("the summary is the exception line", () => {
  assert.equal(error_summary(TRACEBACK), "ValueError: invalid literal for int() with base 10: 'forty-two'")
  assert.equal(error_summary("SyntaxError: bad\n\n"), "SyntaxError: bad")
})

test("the marked line is the innermost frame in the model's code", () => {
  assert.equal(error_line(TRACEBACK), 2)
  assert.equal(error_line('  File "<string>", line 3\nNameError: x'), null)
  assert.equal(error_line('  File "<code>", line 12\n    x ===\nSyntaxError: invalid syntax'), 12)
})
