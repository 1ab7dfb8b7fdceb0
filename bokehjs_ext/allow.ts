/**
 * What code in the worker may do to the page. It may be untrusted (a visitor's code, a
 * generated snippet), and a message it posts must never run script in the page:
 *
 * - `bokeh_live.update(name, **props)` sets only the models and properties the server
 *   listed in the model's `allow_update`, never a BokehLive, and a property that carries
 *   HTML or code (a Div's text, CustomJS code...) only when listed with a trailing "!".
 * - `bokeh_live.display(item)` embeds a Bokeh `json_item` only when every model in it is a
 *   plot, glyph, data source or another type that renders no HTML and runs no code.
 */
import type {HasProps} from "@bokehjs/core/has_props"
import type * as p from "@bokehjs/core/properties"

/** Properties that take HTML, CSS or code, by model type; any model's are in "*". */
const MARKUP: {[type: string]: readonly string[]} = {
  "*": ["stylesheets", "styles", "css_classes", "js_event_callbacks", "js_property_callbacks"],
  Div: ["text"],
  Markdown: ["text"],
  HTMLLabel: ["text"],
  HTMLLabelSet: ["text"],
  HTMLTitle: ["text"],
  HoverTool: ["tooltips"],
  Tooltip: ["content"],
  Dialog: ["content", "title"],
  HTMLTemplateFormatter: ["template"],
  InlineStyleSheet: ["css"],
  GlobalInlineStyleSheet: ["css"],
  ImportedStyleSheet: ["url"],
  GlobalImportedStyleSheet: ["url"],
  OpenURL: ["url"],
  CustomJS: ["code", "args"],
  CustomJSHover: ["code", "args"],
  CustomJSFilter: ["code", "args"],
  CustomJSExpr: ["code", "args"],
  CustomJSTransform: ["func", "v_func", "args"],
  CustomJSTickFormatter: ["code", "args"],
  CustomJSTicker: ["major_code", "minor_code", "args"],
  CustomJSCompare: ["code", "args"],
  CustomAction: ["callback"],
}

/** Whether `attr` of `model` takes HTML, CSS or code. */
export function carries_markup(model: HasProps, attr: string): boolean {
  return MARKUP["*"].includes(attr) || (MARKUP[model.type]?.includes(attr) ?? false) || attr.startsWith("js_")
}

/** `allow_update` arrives as a Map from a server and as an object from standalone HTML. */
function allowed_attrs(allow: unknown, name: string): readonly string[] {
  const attrs = allow instanceof Map ? allow.get(name) : (allow as {[name: string]: unknown} | null)?.[name]
  return Array.isArray(attrs) ? attrs.filter((a): a is string => typeof a == "string") : []
}

/**
 * Why `bokeh_live.update(name, {attr: ...})` may not set these properties of `model`, or
 * null when it may. `allow` is the BokehLive's `allow_update`.
 */
export function refuse_update(allow: unknown, name: string, model: HasProps, attrs: string[]): string | null {
  if (model.type == "BokehLive" || model.type.endsWith(".BokehLive")) {
    return `'${name}' is a BokehLive: update() never changes one`
  }
  const allowed = allowed_attrs(allow, name)
  if (allowed.length == 0) {
    return `the app does not let browser code change '${name}': list it in this BokehLive's allow_update ` +
      `(allow_update={"${name}": ["${attrs[0]}"]})`
  }
  for (const attr of attrs) {
    const markup = carries_markup(model, attr)
    if (markup && !allowed.includes(`${attr}!`)) {
      return allowed.includes(attr)
        ? `${model.type}.${attr} carries HTML or code: allow it with "${attr}!" in allow_update if browser code may set it`
        : `'${name}'.${attr} is not in this BokehLive's allow_update`
    } else if (!markup && !allowed.includes(attr) && !allowed.includes(`${attr}!`)) {
      return `'${name}'.${attr} is not in this BokehLive's allow_update (it allows ${allowed.join(", ")})`
    }
  }
  return null
}

/** The document's models by name: a BokehJS Document. */
export type Models = {get_model_by_name(name: string): HasProps | null}

/**
 * `bokeh_live.update(target, **props)`: the model of `doc` to set `props` on, or why it may
 * not be. Everything is checked (the allow-list, each property's existence, write access
 * and type) before anything is set, so a refused update changes nothing. `allow` is the
 * BokehLive's `allow_update`.
 */
export function check_update(doc: Models | null, allow: unknown, target: string,
                             props: {[attr: string]: unknown}): HasProps | string {
  if (doc == null) {
    return "this BokehLive is not in a document"
  }
  let model
  try {
    model = doc.get_model_by_name(target)
  } catch (error) {
    return `${(error as Error).message}: names given to update() must be unique`
  }
  if (model == null) {
    return `no model named '${target}' in this document (give the model name="${target}")`
  }
  const refused = refuse_update(allow, target, model, Object.keys(props))
  if (refused != null) {
    return refused
  }
  for (const [attr, value] of Object.entries(props)) {
    const prop = (model.properties as {[attr: string]: p.Property<unknown> | undefined})[attr]
    if (prop == null) {
      return `${model.type} '${target}' has no property '${attr}'`
    }
    if (prop.readonly) {
      return `${model.type}.${attr} is read-only`
    }
    if (!prop.valid(value)) {
      return `${model.type}.${attr} cannot take this value (expected ${prop.kind})`
    }
  }
  return model
}

/** Model types `display()` embeds: they draw on a canvas or lay out others, and run no code. */
const DISPLAYABLE = new Set(`
  Figure Plot GridPlot Column Row GridBox Spacer Tabs TabPanel Toolbar ToolProxy DocumentConfig Notifications AreaVisuals
  Title Legend LegendItem Label LabelSet Arrow NormalHead OpenHead TeeHead VeeHead Band BoxAnnotation
  PolyAnnotation Span Slope Whisker ColorBar ContourColorBar ScaleBar Metric MetricLength ImperialLength
  ReciprocalMetric ReciprocalMetricLength BoxInteractionHandles
  LinearAxis LogAxis CategoricalAxis DatetimeAxis MercatorAxis TimedeltaAxis Grid
  BasicTicker AdaptiveTicker CategoricalTicker CompositeTicker DatetimeTicker DaysTicker FixedTicker LogTicker
  MercatorTicker MonthsTicker SingleIntervalTicker TimedeltaTicker YearsTicker BinnedTicker
  BasicTickFormatter CategoricalTickFormatter DatetimeTickFormatter LogTickFormatter MercatorTickFormatter
  NumeralTickFormatter PrintfTickFormatter TimedeltaTickFormatter AllLabels NoOverlap
  DataRange1d Range1d FactorRange LinearScale LogScale CategoricalScale CompositeScale
  GlyphRenderer GraphRenderer ContourRenderer TileRenderer
  AnnularWedge Annulus Arc Bezier Block Circle Ellipse HArea HAreaStep HBar HSpan HStrip HexTile Image
  ImageRGBA ImageStack ImageURL Line MultiLine MultiPolygons Ngon Patch Patches Quad Quadratic Ray Rect
  Scatter Segment Step Text VArea VAreaStep VBar VSpan VStrip Wedge
  ColumnDataSource CDSView GeoJSONDataSource Selection UnionRenderers IntersectRenderers
  AllIndices BooleanFilter GroupFilter IndexFilter IntersectionFilter UnionFilter DifferenceFilter
  SymmetricDifferenceFilter InversionFilter CumSum Stack PolarTransform XComponent YComponent Maximum Minimum
  CategoricalColorMapper CategoricalMarkerMapper CategoricalPatternMapper EqHistColorMapper LinearColorMapper
  LogColorMapper WeightedStackColorMapper Dodge Jitter LinearInterpolator StepInterpolator CoordinateMapping
  StaticLayoutProvider NodesOnly NodesAndLinkedEdges EdgesAndLinkedNodes EdgesOnly NodesAndAdjacentNodes
  NodeCoordinates EdgeCoordinates WMTSTileSource TMSTileSource QUADKEYTileSource BBoxTileSource PlainText
  PanTool WheelZoomTool WheelPanTool BoxZoomTool ZoomInTool ZoomOutTool ResetTool SaveTool CopyTool
  UndoTool RedoTool BoxSelectTool LassoSelectTool PolySelectTool TapTool CrosshairTool HoverTool RangeTool
  FullscreenTool ClickPanTool BoxEditTool PointDrawTool PolyDrawTool PolyEditTool FreehandDrawTool LineEditTool HelpTool
`.trim().split(/\s+/))

/** Attributes whose value is CSS or HTML on any model: they must be empty in a displayed item. */
const EMPTY_ONLY = ["stylesheets", "styles", "css_classes"]

function is_empty(value: unknown): boolean {
  if (value == null) {
    return true
  }
  if (Array.isArray(value)) {
    return value.length == 0
  }
  const rep = value as {type?: unknown, entries?: unknown}
  return rep.type == "map" && (!Array.isArray(rep.entries) || rep.entries.length == 0)
}

/** Hover tooltips as (label, field) pairs are text; a string is an HTML template, and `{safe}` prints HTML. */
function safe_tooltips(value: unknown): boolean {
  return value == null || (Array.isArray(value) && value.every((pair) =>
    Array.isArray(pair) && pair.every((part) => typeof part == "string" && !part.includes("{safe}"))))
}

/**
 * Why a `json_item` may not be displayed, or null when it may. Walks every object in it:
 * each must be of a displayable type, with no stylesheets and no HTML tooltips, and the
 * document may define no model types of its own.
 */
export function refuse_item(item: {doc?: unknown}): string | null {
  const doc = item.doc as {defs?: unknown} | undefined
  if (doc == null || (Array.isArray(doc.defs) && doc.defs.length != 0)) {
    return "the item defines model types of its own"
  }
  const stack: [unknown, number][] = [[doc, 0]]
  while (stack.length != 0) {
    const [value, depth] = stack.pop()!
    if (value == null || typeof value != "object") {
      continue
    }
    if (depth > 256) {
      return "the item is nested too deeply"
    }
    const rep = value as {type?: unknown, name?: unknown, attributes?: {[attr: string]: unknown}}
    if (rep.type == "object") {
      const name = String(rep.name)
      if (!DISPLAYABLE.has(name)) {
        return `it holds a ${name.slice(0, 60)}, which display() does not show (it may carry HTML or code)`
      }
      for (const attr of EMPTY_ONLY) {
        if (!is_empty(rep.attributes?.[attr])) {
          return `its ${name} sets ${attr}, which display() does not allow`
        }
      }
      if (name == "HoverTool" && !safe_tooltips(rep.attributes?.tooltips)) {
        return "its HoverTool has an HTML template for tooltips (or {safe}): use (label, field) pairs"
      }
      const redirect = rep.attributes?.redirect
      if (name == "HelpTool" && redirect != null && !/^https?:\/\//i.test(String(redirect))) {
        return "its HelpTool links to something other than an http(s) page"
      }
    }
    for (const child of Object.values(value)) {
      stack.push([child, depth + 1])
    }
  }
  return null
}
