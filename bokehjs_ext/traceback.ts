/**
 * Reading the tracebacks of the model's code (bokeh_live/_browser.py formats them): what a
 * one-line status shows, and which line of the code the editor marks.
 */

/** A traceback line naming a line of the model's code (bokeh_live/_browser.py: CODE_FILENAME). */
export const CODE_LINE = /^(\s*File "<code>", )(line (\d+))(.*)$/

/** The exception line of a traceback: what a one-line status shows. */
export function error_summary(traceback: string): string {
  const lines = traceback.trimEnd().split("\n")
  return lines[lines.length - 1].trim()
}

/** The line of the model's code where the error happened: the innermost frame in it. */
export function error_line(traceback: string): number | null {
  let found: number | null = null
  for (const line of traceback.split("\n")) {
    const match = CODE_LINE.exec(line)
    if (match != null) {
      found = Number(match[3])
    }
  }
  return found
}
