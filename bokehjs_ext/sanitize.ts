/**
 * HTML from `bokeh_live.display()` comes from code in the worker, which may be untrusted.
 * The worker cannot touch the page; an event handler attribute in its HTML would. So the
 * HTML is parsed inertly (DOMParser runs no scripts or handlers) and cleaned before it is
 * shown: no active elements, no `on*` attributes, no `javascript:` URLs.
 */

const DROPPED = new Set(["script", "iframe", "frame", "object", "embed", "link", "meta", "base", "form", "noscript"])
const URL_ATTRIBUTES = new Set(["href", "src", "xlink:href", "action", "formaction", "srcdoc", "data"])

export function sanitize_html(html: string): DocumentFragment {
  const parsed = new DOMParser().parseFromString(html, "text/html")
  for (const el of [...parsed.body.querySelectorAll("*")]) {
    if (DROPPED.has(el.localName)) {
      el.remove()
      continue
    }
    for (const {name, value} of [...el.attributes]) {
      const lower = name.toLowerCase()
      const url = value.replace(/[\s\u0000-\u001f]/g, "").toLowerCase()
      if (lower.startsWith("on") || (URL_ATTRIBUTES.has(lower) && /^(javascript|vbscript|data:text\/html)/.test(url))) {
        el.removeAttribute(name)
      }
    }
  }
  const fragment = document.createDocumentFragment()
  fragment.append(...[...parsed.body.childNodes].map((node) => document.importNode(node, true)))
  return fragment
}
