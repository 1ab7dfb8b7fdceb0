/**
 * `persist`: the editor's text across reloads, in the page's localStorage under the page's
 * path and the model's name.
 */

/** What persistence needs of the model. */
type Persisted = {persist: boolean, name: string | null}

function storage_key({persist, name}: Persisted): string | null {
  if (!persist) {
    return null
  }
  if (name == null) {
    console.warn("bokeh_live: persist needs the model's name, to know its text again after a reload")
    return null
  }
  return `bokeh_live:code:${location.pathname}:${name}`
}

/** The text kept for this model, or null: none kept, persist off, or no storage here. */
export function saved_code(model: Persisted): string | null {
  const key = storage_key(model)
  try {
    return key != null ? localStorage.getItem(key) : null
  } catch {
    return null  // no storage here (a sandboxed frame, a privacy mode): nothing to restore
  }
}

/** Keep `code` for this model's next page load (when its persist is on). */
export function save_code(model: Persisted, code: string): void {
  const key = storage_key(model)
  try {
    if (key != null) {
      localStorage.setItem(key, code)
    }
  } catch {}  // full, or not allowed: the text is simply not kept
}
