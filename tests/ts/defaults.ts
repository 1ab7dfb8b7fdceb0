/**
 * BokehLive's defaults as BokehJS's own `define` table makes them, for tests/test_defaults.py.
 *
 * It builds a BokehLive under Node with the real BokehJS (a DOM from dom.ts; no Pyodide: the
 * runtime the model starts gets a worker that does nothing) and prints as JSON the value of
 * each property BokehLive defines itself (LayoutDOM's are Bokeh's business), the members of
 * each of its Enum properties, and the properties whose value it cannot put into JSON.
 */
import "./dom"
import {LayoutDOM} from "@bokehjs/models/layouts/layout_dom"

import {BokehLive} from "../../bokehjs_ext/live"

class NoWorker {
  onmessage = null
  onerror = null
  postMessage(): void {}
  terminate(): void {}
}
(globalThis as unknown as {Worker: unknown}).Worker = NoWorker

/** `value` as JSON has it, or an error saying what could not be compared. */
function to_json(value: unknown, where: string): unknown {
  if (value === null || typeof value == "string" || typeof value == "boolean") {
    return value
  }
  if (typeof value == "number" && Number.isFinite(value)) {
    return value
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => to_json(item, `${where}[${i}]`))
  }
  const proto = typeof value == "object" ? Object.getPrototypeOf(value) : undefined
  if (value instanceof Map || proto === Object.prototype || proto === null) {
    const entries = value instanceof Map ? [...value] : Object.entries(value as object)
    return Object.fromEntries(entries.map(([key, item]) => {
      if (typeof key != "string") {
        throw new Error(`${where} has a key that is not a string`)
      }
      return [key, to_json(item, `${where}.${key}`)]
    }))
  }
  throw new Error(`${where} is ${String(value)}, which JSON cannot carry`)
}

type Props = {[attr: string]: unknown}
const inherited = new Set(Object.keys((LayoutDOM.prototype as unknown as {_props: Props})._props))
const model = new BokehLive()
const defaults: {[attr: string]: unknown} = {}
const enums: {[attr: string]: string[]} = {}
const uncomparable: {[attr: string]: string} = {}
for (const prop of model) {
  if (inherited.has(prop.attr)) {
    continue
  }
  try {
    defaults[prop.attr] = to_json(prop.get_value(), prop.attr)
  } catch (error) {
    uncomparable[prop.attr] = String(error)
  }
  const {kind} = prop as unknown as {kind: {values?: Iterable<string>, constructor: {__name__?: string}}}
  if (kind.constructor.__name__ == "Enum" && kind.values != null) {
    enums[prop.attr] = [...kind.values]
  }
}
console.log(JSON.stringify({defaults, enums, uncomparable}))
process.exit(0)  // the runtime's start-up timer would hold Node for minutes
