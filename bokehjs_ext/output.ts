/**
 * The output area: what the code prints (streamed as it prints), the value of its last
 * expression, its traceback, and what it passes to `bokeh_live.display`.
 */
import {button, div, pre, span} from "@bokehjs/core/dom"
import {embed_item} from "@bokehjs/embed"
import type {JsonItem} from "@bokehjs/embed"
import type {ViewManager} from "@bokehjs/core/view_manager"
import {sanitize_html} from "./sanitize"
import {refuse_item} from "./allow"
import {CODE_LINE} from "./traceback"

export type Stream = "stdout" | "stderr"


function is_json_item(data: unknown): data is JsonItem {
  const item = data as Partial<JsonItem> | null
  return item != null && typeof item == "object" && typeof item.doc == "object" && typeof item.root_id == "string"
}

export class OutputArea {
  readonly el = div({class: "bl-output", role: "log"})
  /** Embedded Bokeh documents, removed with the output they belong to. */
  protected plots: ViewManager[] = []
  protected generation = 0

  /** `go_to(line)` moves the editor to a line a traceback names. */
  constructor(readonly go_to: (line: number) => void) {}

  clear(): void {
    this.generation++
    for (const plot of this.plots.splice(0)) {
      plot.clear()
    }
    this.el.replaceChildren()
  }

  /** What the output says, as text (Copy): plots and images count as nothing. */
  text(): string {
    return this.el.innerText
  }

  /** Consecutive stream text shares one block, so lines flow as in a terminal. */
  stream(name: Stream, text: string): void {
    this.append(() => {
      const last = this.el.lastElementChild
      const block = last instanceof HTMLPreElement && last.classList.contains("bl-streams") ? last : pre({class: "bl-streams"})
      const run = block.lastElementChild
      if (run instanceof HTMLElement && run.classList.contains(`bl-${name}`)) {
        run.append(text)
      } else {
        block.append(span({class: `bl-${name}`}, text))
      }
      return block
    })
  }

  result(repr: string): void {
    this.append(() => pre({class: "bl-result"}, repr))
  }

  error(traceback: string): void {
    const lines = traceback.trimEnd().split("\n")
    const summary = lines.pop() ?? ""
    const body = pre({class: "bl-traceback"})
    for (const line of lines) {
      const match = CODE_LINE.exec(line)
      if (match == null) {
        body.append(`${line}\n`)
      } else {
        const n = Number(match[3])
        const link = button({class: "bl-line", type: "button", title: "Show this line in the editor"}, match[2])
        link.addEventListener("click", () => this.go_to(n))
        body.append(match[1], link, `${match[4]}\n`)
      }
    }
    const [type, ...message] = summary.split(": ")
    const head = div({class: "bl-error-head"}, span({class: "bl-error-type"}, type), message.length != 0 ? `: ${message.join(": ")}` : "")
    this.append(() => div({class: "bl-error"}, head, lines.length != 0 ? body : null))
  }

  /** `bokeh_live.display(obj)`: kind "html", "bokeh" (a json_item dict) or "text"; "result"
   * is the repr of a code run's last expression. */
  display(kind: string, data: unknown): void {
    if (kind == "result") {
      this.result(String(data))
    } else if (kind == "html") {
      const el = div({class: "bl-html"}, sanitize_html(String(data)))
      this.append(() => el)
    } else if (kind == "bokeh" && is_json_item(data)) {
      const refused = refuse_item(data)
      if (refused != null) {
        this.stream("stderr", `bokeh_live.display: not shown: ${refused}\n`)
        return
      }
      const el = div({class: "bl-plot"})
      this.append(() => el)
      void this.embed(el, data)
    } else {
      this.append(() => pre({class: "bl-display"}, typeof data == "string" ? data : JSON.stringify(data)))
    }
  }

  protected async embed(el: HTMLElement, item: JsonItem): Promise<void> {
    const generation = this.generation
    try {
      const views = await embed_item(item, el)
      if (generation == this.generation) {
        this.plots.push(views)
      } else {
        views.clear()  // the output was cleared while the plot was being built
      }
    } catch (error) {
      el.replaceWith(pre({class: "bl-streams"}, span({class: "bl-stderr"}, `bokeh_live.display: cannot show this Bokeh item: ${error}\n`)))
    }
  }

  /** Keep the newest output in sight, unless the reader scrolled up to older output. */
  protected append(build: () => HTMLElement): void {
    const {el} = this
    const at_bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 16
    const block = build()
    if (block.parentElement != el) {
      el.append(block)
    }
    if (at_bottom) {
      el.scrollTop = el.scrollHeight
    }
  }
}
