"""The examples' browser modules under CPython, as an app's own tests would check them:
no browser needed (tests/test_examples.py runs them in the browser)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

import mandelbrot


def test_mandelbrot_counts_iterations_per_pixel():
    image = mandelbrot.mandelbrot(-2.0, 1.0, -1.0, 1.0, 30, 20, 50)
    counts = np.asarray(image)
    assert counts.shape == (20, 30)
    assert counts[10, 20] == 50  # c = 0: inside the set, never escapes
    assert counts[0, 0] <= 2  # c = -2 - 1i: escapes at once
    assert counts.min() >= 0 and counts.max() == 50
