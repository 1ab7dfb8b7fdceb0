/**
 * The code editor of the editor and playground modes.
 *
 * CodeMirror is a bundle of its own (bokehjs_editor/, served as `bokeh_live_editor`), so
 * pages that show no editor never load it. Until it is there, and wherever it cannot be
 * had, a plain text area stands in: Ctrl/Cmd+Enter runs, Tab indents. When CodeMirror
 * arrives it takes over the text, the selection's line and the error mark.
 */
import {textarea} from "@bokehjs/core/dom"
import {Model} from "@bokehjs/model"

import {EDITOR_EXTENSION, EDITOR_GLOBAL, EDITOR_READY_EVENT} from "./shared"
import {bundle_url} from "./runtime"
import type {Completion} from "./worker"

/** What both editors offer (the CodeMirror one is bokehjs_editor/codemirror.ts). */
export interface Editor {
  readonly dom: HTMLElement
  readonly code: string
  set_code(code: string): void
  mark_error(line: number | null): void
  go_to(line: number): void
  attached(): void
  destroy(): void
}

/** What could replace `prefix`, the identifier before the cursor; null: nothing to offer. */
export type Completions = {prefix: string, options: Completion[]}
/** Asks the model's live namespace what could follow `before` (the code up to the cursor). */
export type Complete = (before: string) => Promise<Completions | null>

type EditorClass = new (root: ShadowRoot, code: string, run: (code: string) => void, complete: Complete) => Editor

type EditorScope = {[EDITOR_GLOBAL]?: EditorClass}

/** The editor's bundle beside this one, when a server serves this one from a URL. */
export function editor_bundle_url(own: string | null = bundle_url()): string | null {
  const match = own != null ? /\/bokeh_live\/bokeh_live(\.min)?\.js(\?.*)?$/.exec(own) : null
  if (own == null || match == null) {
    return null
  }
  return new URL(`../${EDITOR_EXTENSION}/${EDITOR_EXTENSION}${match[1] ?? ""}.js`, own).href
}

let loading: Promise<EditorClass | null> | null = null

/** CodeMirror's editor class: already on the page (inlined, or loaded for another view),
 * else loaded once from beside this bundle; null when it cannot be had. */
export function load_editor(url: string | null = editor_bundle_url()): Promise<EditorClass | null> {
  const scope = globalThis as unknown as EditorScope
  if (scope[EDITOR_GLOBAL] != null) {
    return Promise.resolve(scope[EDITOR_GLOBAL])
  }
  if (loading == null) {
    loading = new Promise((resolve) => {
      const done = () => resolve(scope[EDITOR_GLOBAL] ?? null)
      globalThis.addEventListener(EDITOR_READY_EVENT, done, {once: true})
      if (url == null) {
        // An inlined editor bundle may still be on its way (it runs after this one).
        setTimeout(done, 0)
        return
      }
      const script = document.createElement("script")
      script.src = url
      script.async = true
      script.onerror = () => {
        console.warn(`bokeh_live: the code editor could not be loaded from ${url}; a plain text area stands in`)
        done()
      }
      document.head.append(script)
    })
    // A failed load is tried again by the next editor that asks.
    void loading.then((found) => { if (found == null) loading = null })
  }
  return loading
}

/** The stand-in: a text area that runs on Ctrl/Cmd+Enter and indents on Tab. */
class PlainEditor implements Editor {
  readonly dom: HTMLTextAreaElement

  constructor(code: string, run: (code: string) => void) {
    this.dom = textarea({class: "bl-plain-editor"})
    this.dom.spellcheck = false
    this.dom.setAttribute("aria-label", "Python code")
    this.dom.value = code
    this.dom.addEventListener("keydown", (event) => {
      if (event.key == "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault()
        run(this.code)
      } else if (event.key == "Tab" && !event.shiftKey) {
        event.preventDefault()
        this.dom.setRangeText("    ", this.dom.selectionStart, this.dom.selectionEnd, "end")
      }
    })
  }

  get code(): string {
    return this.dom.value
  }

  set_code(code: string): void {
    if (code != this.code) {
      this.dom.value = code
    }
  }

  mark_error(_line: number | null): void {}

  go_to(line: number): void {
    const lines = this.code.split("\n")
    const n = Math.max(1, Math.min(line, lines.length))
    const pos = lines.slice(0, n - 1).reduce((sum, text) => sum + text.length + 1, 0)
    this.dom.focus()
    this.dom.setSelectionRange(pos, pos)
  }

  attached(): void {}

  destroy(): void {}
}

/** The editor a view holds: the stand-in first, CodeMirror once loaded. `dom` stays put. */
export class CodeEditor implements Editor {
  readonly dom: HTMLElement
  protected current: Editor
  protected error: number | null = null
  protected destroyed = false

  constructor(root: ShadowRoot, code: string, run: (code: string) => void, complete: Complete) {
    this.current = new PlainEditor(code, run)
    this.dom = document.createElement("div")
    this.dom.className = "bl-code-editor"
    this.dom.append(this.current.dom)
    void load_editor().then((CodeMirror) => {
      if (CodeMirror == null || this.destroyed) {
        return
      }
      const plain = this.current
      this.current = new CodeMirror(root, plain.code, run, complete)
      this.current.mark_error(this.error)
      plain.dom.replaceWith(this.current.dom)
      plain.destroy()
      this.current.attached()
    })
  }

  /** Whether CodeMirror has taken over from the stand-in. */
  get rich(): boolean {
    return !(this.current instanceof PlainEditor)
  }

  get code(): string {
    return this.current.code
  }

  set_code(code: string): void {
    this.current.set_code(code)
  }

  mark_error(line: number | null): void {
    this.error = line
    this.current.mark_error(line)
  }

  go_to(line: number): void {
    this.current.go_to(line)
  }

  attached(): void {
    this.current.attached()
  }

  destroy(): void {
    this.destroyed = true
    this.current.destroy()
  }
}

/** Marks a document whose standalone page carries the editor's bundle (bokeh_live/editor.py). */
export class EditorAssets extends Model {
  static override __module__ = "bokeh_live.editor"
}
