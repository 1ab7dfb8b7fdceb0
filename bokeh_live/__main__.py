"""``python -m bokeh_live serve|vendor ...``: see bokeh_live/serve.py and bokeh_live/vendor.py."""

import sys

from . import serve, vendor

USAGE = """usage:
  python -m bokeh_live serve [--isolate] [--metrics] [--log-json] <bokeh serve arguments>
  python -m bokeh_live vendor NAME... --to DIR [--from URL_OR_DIR]"""

command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "serve":
    raise SystemExit(serve.main(sys.argv[1:]))
if command == "vendor":
    raise SystemExit(vendor.main(sys.argv[2:]))
print(USAGE, file=sys.stderr)
raise SystemExit(2)
