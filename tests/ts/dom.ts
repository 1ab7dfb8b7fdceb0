/**
 * A DOM for Node, enough for BokehJS's modules to load and its models to be built (no view
 * is rendered): linkedom's document and classes as globals. Import it before anything of
 * BokehJS: some of its modules use the DOM as they load.
 */
import {parseHTML} from "linkedom"

const page = parseHTML("<!doctype html><html><head></head><body></body></html>")

// BokehJS normalizes colours with a canvas' 2D context when its colour module loads; linkedom
// has no canvas without the native `canvas` package, and no colour is drawn here.
page.HTMLCanvasElement.prototype.getContext = function () {
  return {createLinearGradient: () => ({}), fillStyle: "#000000"}
} as never

const globals = globalThis as unknown as {[name: string]: unknown}
for (const name of ["document", "Node", "Element", "HTMLElement", "ShadowRoot", "DocumentFragment",
                    "HTMLCanvasElement", "customElements", "CustomEvent", "Event", "EventTarget"]) {
  globals[name] ??= (page as unknown as {[name: string]: unknown})[name]
}
globals.window = globalThis
globals.addEventListener ??= () => {}
globals.location ??= new URL("http://localhost/")
Object.defineProperty(page.document, "baseURI", {value: "http://localhost/"})

// BokehJS defers work through a MessageChannel whose port listens for good: in Node that
// would keep the process alive after the tests. Unref'd once its listener is set.
class UnrefMessageChannel extends MessageChannel {
  constructor() {
    super()
    const {port1} = this
    queueMicrotask(() => (port1 as unknown as {unref(): void}).unref())
  }
}
globals.MessageChannel = UnrefMessageChannel
