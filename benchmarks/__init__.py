"""Benchmarks of bokeh_live against stock Bokeh and bare Pyodide: ``python -m benchmarks``."""
