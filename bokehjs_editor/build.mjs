// Bundles the editor (index.ts and CodeMirror) into one script for bokeh_live_editor/dist/:
// esbuild keeps only what the editor uses. Run by hatch_build.py: node build.mjs OUT_DIR
import {buildSync} from "esbuild"

const out = process.argv[2]
for (const minify of [false, true]) {
  buildSync({
    entryPoints: ["index.ts"],
    bundle: true,
    minify,
    format: "iife",
    target: "es2020",
    // No template literals: minified, they hold raw newlines, and notebook exporters that
    // indent a script's lines (nbconvert's HTML templates) would change their values.
    supported: {"template-literal": false},
    legalComments: "eof",
    outfile: `${out}/bokeh_live_editor${minify ? ".min" : ""}.js`,
  })
}
