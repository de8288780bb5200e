"""The cases, one module per error class (``CLASSES`` in ..core)."""

from __future__ import annotations

from ..core import FixCase
from . import (
    api_misuse,
    date_format,
    empty_filter,
    groupby_misuse,
    name_typo,
    nested_json,
    off_by_one,
    shape_mismatch,
    type_mixing,
    wrong_column,
)

CASES: tuple[FixCase, ...] = (
    *wrong_column.CASES,
    *api_misuse.CASES,
    *name_typo.CASES,
    *type_mixing.CASES,
    *shape_mismatch.CASES,
    *off_by_one.CASES,
    *date_format.CASES,
    *nested_json.CASES,
    *groupby_misuse.CASES,
    *empty_filter.CASES,
)
