/**
 * Shipped modules, the page's half (Python: bokeh_live/modules.py): the files a BokehLive
 * ships are handed to its worker before its code runs (bokeh_live/browser/_modules.py
 * installs them). In a server app the Bokeh server serves each by its content's SHA-256 with
 * a long cache lifetime, so the browser fetches a file once and a changed one again;
 * standalone and notebook pages carry the text.
 */
import {autoload_server, bundle_url} from "./runtime"
import type {ModuleSource} from "./worker"

/** Where the Bokeh server serves a shipped file (`/static/extensions/bokeh_live_modules/`). */
export function module_url(sha256: string): string | null {
  const file = `${sha256}.py?v=${sha256.slice(0, 16)}`
  const bundle = bundle_url()
  if (bundle != null) {
    return new URL(`../bokeh_live_modules/${file}`, bundle).href
  }
  const server = autoload_server()
  return server != null ? new URL(`/static/extensions/bokeh_live_modules/${file}`, server).href : null
}

/** The files of a model's `module_files` with their text, fetched where the page has none;
 * or why they cannot be had. */
export async function module_sources(files: [string, string, string | null, string[]][]): Promise<ModuleSource[] | string> {
  try {
    return await Promise.all(files.map(async ([path, sha256, source, imports]) => {
      if (source != null) {
        return {path, sha256, source, imports}
      }
      const url = module_url(sha256)
      if (url == null) {
        throw new Error(`${path}: this page has no Bokeh server to fetch it from`)
      }
      const response = await fetch(url)
      if (!response.ok) {
        throw new Error(`${path}: HTTP ${response.status} from ${url}`)
      }
      return {path, sha256, source: await response.text(), imports}
    }))
  } catch (error) {
    return `Loading the modules this BokehLive ships failed: ${error instanceof Error ? error.message : error}`
  }
}
