"""The browser half of offload.py: a Mandelbrot image, in plain Python.

offload.py ships this module to the visitor's browser (``BokehLive(modules=[mandelbrot])``)
and calls :func:`mandelbrot` there by reference (``live.run_then(mandelbrot.mandelbrot, ...)``),
typed like a local call. It is an ordinary module: linted, type-checked and unit-tested
under CPython (tests/test_example_modules.py). Standard library only; with numpy loaded
(a full Pyodide distribution) the loop would be a few vectorised lines.
"""
from __future__ import annotations

from array import array


def mandelbrot(x0: float, x1: float, y0: float, y1: float, width: int, height: int, max_iter: int) -> memoryview:
    """Iterations before escape of each pixel of the rectangle, as a ``height`` by ``width``
    grid of floats: a 2-D memoryview, which reaches the server as a numpy array of that shape."""
    counts = array("d", bytes(8 * width * height))
    dx, dy = (x1 - x0) / width, (y1 - y0) / height
    for j in range(height):
        ci = y0 + j * dy
        for i in range(width):
            cr = x0 + i * dx
            zr = zi = 0.0
            n = 0
            while n < max_iter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                n += 1
            counts[j * width + i] = n
    return memoryview(counts).cast("B").cast("d", [height, width])
