/** allow.ts: what browser code may set with bokeh_live.update(), on BokehJS's real models. */
import "./dom"
import {test} from "node:test"
import assert from "node:assert/strict"
import {Document} from "@bokehjs/document"
import {Div} from "@bokehjs/models/widgets/div"
import {FactorRange} from "@bokehjs/models/ranges/factor_range"
import {Range1d} from "@bokehjs/models/ranges/range1d"

import {check_update} from "../../bokehjs_ext/allow"

function page(): Document {
  const doc = new Document()
  doc.add_root(new Range1d({name: "range", start: 0, end: 1}))
  doc.add_root(new FactorRange({name: "factors", factors: ["a", "b"]}))
  doc.add_root(new Div({name: "div", text: "plain"}))
  doc.add_root(new Div({name: "twin"}))
  doc.add_root(new Div({name: "twin"}))
  return doc
}

test("an allowed update of valid values gives the model, and sets nothing itself", () => {
  const doc = page()
  const range = check_update(doc, {range: ["start", "end"]}, "range", {start: 5, end: 10})
  assert.ok(range instanceof Range1d)
  assert.deepEqual([range.start, range.end], [0, 1])
  // allow_update arrives as a Map from a server
  assert.ok(check_update(doc, new Map([["range", ["start"]]]), "range", {start: 2}) instanceof Range1d)
  assert.ok(check_update(doc, {div: ["text!"]}, "div", {text: "<b>marked</b>"}) instanceof Div)
})

test("every refusal says why", () => {
  const doc = page()
  const cases: [unknown, string, {[attr: string]: unknown}, RegExp][] = [
    [{}, "range", {start: 1}, /does not let browser code change 'range'/],
    [{range: ["start"]}, "range", {end: 1}, /'range'.end is not in this BokehLive's allow_update \(it allows start\)/],
    [{range: ["start"]}, "nothing", {start: 1}, /no model named 'nothing'/],
    [{twin: ["text"]}, "twin", {text: "x"}, /must be unique/],
    [{range: ["start", "colour"]}, "range", {colour: 1}, /Range1d 'range' has no property 'colour'/],
    [{factors: ["start"]}, "factors", {start: 1}, /FactorRange.start is read-only/],
    [{range: ["start"]}, "range", {start: "one"}, /Range1d.start cannot take this value/],
    [{div: ["text"]}, "div", {text: "<script>"}, /Div.text carries HTML or code/],
  ]
  for (const [allow, target, props, why] of cases) {
    const refused = check_update(doc, allow, target, props)
    assert.equal(typeof refused, "string", `${target} ${JSON.stringify(props)}`)
    assert.match(refused as string, why)
  }
  assert.equal(check_update(null, {}, "range", {start: 1}), "this BokehLive is not in a document")
})
