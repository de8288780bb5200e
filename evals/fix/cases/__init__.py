"""The cases, one module per error class (``CLASSES`` in ..core)."""

from __future__ import annotations

from ..core import FixCase
from . import wrong_column

CASES: tuple[FixCase, ...] = (*wrong_column.CASES,)
