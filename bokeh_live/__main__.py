"""``python -m bokeh_live serve [--isolate] <bokeh serve arguments>``: see bokeh_live/serve.py."""

from .serve import main

raise SystemExit(main())
