"""Completion decisions that need no model."""

from __future__ import annotations

import pytest

from jupyter_codegen.api.schemas import CompleteRequest
from jupyter_codegen.completion.analysis import analyse


@pytest.mark.parametrize(
    ("prefix", "multiline", "scope"),
    [
        ("def f(x):", True, "block"),
        ("def f(x):", False, "line"),
        ("x = (", False, "line"),
        ("x = ", True, "statement"),
    ],
)
def test_multiline_false_limits_the_scope_to_the_line(
    prefix: str, multiline: bool, scope: str
) -> None:
    req = CompleteRequest(prefix=prefix, multiline=multiline)
    assert analyse(req.prefix, req.suffix, req.language, req.multiline).scope == scope
