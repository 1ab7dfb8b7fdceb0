/**
 * HTML from `bokeh_live.display()` comes from code in the worker, which may be untrusted.
 * The worker cannot touch the page; an event handler or a `javascript:` link in its HTML
 * would. So it goes through DOMPurify, a well-kept allowlist sanitizer, before it is shown,
 * with forms and `<style>` removed too (they could pose as the app). Inline styles stay
 * (SVG needs them); the output area contains paint, so nothing escapes it (styles.ts).
 */
import DOMPurify from "dompurify"

const CONFIG = {
  RETURN_DOM_FRAGMENT: true as const,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "dialog"],
  FORBID_ATTR: ["action", "formaction", "target"],
}

export function sanitize_html(html: string): DocumentFragment {
  return DOMPurify.sanitize(html, CONFIG)
}
