"""A package an app ships to the browser (tests/test_modules.py)."""
from .area import area

__all__ = ["area"]
