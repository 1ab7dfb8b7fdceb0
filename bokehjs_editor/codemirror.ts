/**
 * The Python editor: CodeMirror 6, linked into its own bundle by `bokeh build` (see
 * package.json here). Only pages that show an editor load it: bokehjs_ext/editor.ts shows
 * a plain text area until it arrives, and hands the text over. Colours are CSS variables
 * set by bokehjs_ext/styles.ts, so one editor serves both themes without reconfiguring.
 */
import {EditorState, Prec, StateEffect, StateField} from "@codemirror/state"
import type {Extension} from "@codemirror/state"
import {
  Decoration, EditorView, drawSelection, dropCursor, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, keymap, lineNumbers,
} from "@codemirror/view"
import type {DecorationSet} from "@codemirror/view"
import {defaultKeymap, history, historyKeymap, indentWithTab} from "@codemirror/commands"
import {HighlightStyle, bracketMatching, indentOnInput, indentUnit, syntaxHighlighting} from "@codemirror/language"
import {autocompletion, closeBrackets, closeBracketsKeymap} from "@codemirror/autocomplete"
import type {CompletionContext, CompletionResult} from "@codemirror/autocomplete"
import {python} from "@codemirror/lang-python"
import {tags as t} from "@lezer/highlight"

const highlight = HighlightStyle.define([
  {tag: [t.keyword, t.controlKeyword, t.definitionKeyword, t.moduleKeyword, t.operatorKeyword], color: "var(--bl-syn-keyword)"},
  {tag: [t.string, t.special(t.string)], color: "var(--bl-syn-string)"},
  {tag: [t.number, t.bool, t.null, t.atom], color: "var(--bl-syn-number)"},
  {tag: [t.comment, t.lineComment], color: "var(--bl-syn-comment)", fontStyle: "italic"},
  {tag: [t.function(t.definition(t.variableName)), t.function(t.variableName), t.function(t.propertyName)], color: "var(--bl-syn-function)"},
  {tag: [t.definition(t.className), t.className, t.standard(t.variableName)], color: "var(--bl-syn-class)"},
  {tag: [t.self, t.special(t.variableName)], color: "var(--bl-syn-keyword)"},
  {tag: [t.meta, t.annotation], color: "var(--bl-syn-function)"},
  {tag: t.invalid, color: "var(--bl-error)"},
])

const theme = EditorView.theme({
  "&": {height: "100%", color: "var(--bl-fg)", backgroundColor: "var(--bl-editor-bg)"},
  "&.cm-focused": {outline: "none"},
  ".cm-scroller": {fontFamily: "var(--bl-code-font)", fontSize: "var(--bl-code-size)", lineHeight: "1.55"},
  ".cm-content": {caretColor: "var(--bl-fg)", padding: "8px 0"},
  ".cm-cursor, .cm-dropCursor": {borderLeftColor: "var(--bl-fg)"},
  ".cm-gutters": {backgroundColor: "var(--bl-editor-bg)", color: "var(--bl-gutter)", border: "none"},
  ".cm-lineNumbers .cm-gutterElement": {padding: "0 10px 0 14px", minWidth: "28px"},
  ".cm-activeLine": {backgroundColor: "var(--bl-active-line)"},
  ".cm-activeLineGutter": {backgroundColor: "var(--bl-active-line)", color: "var(--bl-fg)"},
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "var(--bl-selection) !important",
  },
  "&.cm-focused .cm-matchingBracket": {backgroundColor: "var(--bl-bracket)", outline: "1px solid var(--bl-bracket-border)"},
  "&.cm-focused .cm-nonmatchingBracket": {backgroundColor: "var(--bl-error-bg)"},
  ".cm-bl-error-line": {backgroundColor: "var(--bl-error-bg)", boxShadow: "inset 3px 0 var(--bl-error)"},
  ".cm-tooltip": {
    color: "var(--bl-fg)", backgroundColor: "var(--bl-editor-bg)", border: "1px solid var(--bl-border)",
    borderRadius: "6px", boxShadow: "0 4px 14px rgb(0 0 0 / 0.18)", overflow: "hidden",
  },
  ".cm-tooltip-autocomplete > ul": {fontFamily: "var(--bl-code-font)", fontSize: "var(--bl-code-size)"},
  ".cm-tooltip-autocomplete > ul > li": {padding: "1px 10px 1px 4px"},
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": {color: "var(--bl-fg)", backgroundColor: "var(--bl-selection)"},
  ".cm-completionIcon": {color: "var(--bl-muted)"},
  ".cm-completionMatchedText": {textDecoration: "none", fontWeight: "600"},
})

/** The line the last traceback points at, marked until the code is edited or runs again. */
const set_error_line = StateEffect.define<number | null>()

const error_line = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const effect of tr.effects) {
      if (effect.is(set_error_line)) {
        const n = effect.value
        if (n == null || n < 1 || n > tr.state.doc.lines) {
          return Decoration.none
        }
        const line = tr.state.doc.line(n)
        return Decoration.set([Decoration.line({class: "cm-bl-error-line"}).range(line.from)])
      }
    }
    return tr.docChanged ? Decoration.none : marks
  },
  provide: (field) => EditorView.decorations.from(field),
})

type Completions = {prefix: string, options: {label: string, type: string}[]}

/** Completion from the model's live namespace: names, attributes after a dot, keywords. */
function live_completions(complete: (before: string) => Promise<Completions | null>) {
  return async (context: CompletionContext): Promise<CompletionResult | null> => {
    const word = context.matchBefore(/[\w.]*/)
    if (!context.explicit && (word == null || word.from == word.to)) {
      return null  // typing starts it; an empty place needs Ctrl+Space
    }
    const before = context.state.sliceDoc(Math.max(0, context.pos - 1000), context.pos)
    const found = await complete(before)
    if (found == null || context.aborted) {
      return null
    }
    return {from: context.pos - found.prefix.length, options: found.options, validFor: /^\w*$/}
  }
}

export class CodeMirrorEditor {
  readonly view: EditorView

  constructor(root: ShadowRoot, code: string, run: (code: string) => void,
              complete: (before: string) => Promise<Completions | null>) {
    const run_binding = {key: "Mod-Enter", run: () => { run(this.code); return true }, preventDefault: true}
    const extensions: Extension[] = [
      // Above the default keymap, which binds Mod-Enter to "insert blank line".
      Prec.highest(keymap.of([run_binding])),
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      dropCursor(),
      EditorState.allowMultipleSelections.of(true),
      indentUnit.of("    "),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      autocompletion({override: [live_completions(complete)], activateOnTypingDelay: 150}),
      highlightActiveLine(),
      syntaxHighlighting(highlight),
      python(),
      theme,
      error_line,
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
      EditorView.contentAttributes.of({"aria-label": "Python code"}),
    ]
    // `root` makes CodeMirror put its styles and read the selection in the shadow root.
    this.view = new EditorView({doc: code, extensions, root})
  }

  get dom(): HTMLElement {
    return this.view.dom
  }

  get code(): string {
    return this.view.state.doc.toString()
  }

  /** Replace the text (undoable) unless it already is `code`. */
  set_code(code: string): void {
    if (code != this.code) {
      this.view.dispatch({changes: {from: 0, to: this.view.state.doc.length, insert: code}})
    }
  }

  mark_error(line: number | null): void {
    this.view.dispatch({effects: set_error_line.of(line)})
  }

  go_to(line: number): void {
    const {doc} = this.view.state
    const pos = doc.line(Math.max(1, Math.min(line, doc.lines))).from
    this.view.dispatch({selection: {anchor: pos}, scrollIntoView: true})
    this.view.focus()
  }

  /** After its DOM was moved (Bokeh's render() empties the shadow root): measure again. */
  attached(): void {
    this.view.requestMeasure()
  }

  destroy(): void {
    this.view.destroy()
  }
}
