"""Request validation (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_codegen.api.schemas import (
    CancelRequest,
    CompleteRequest,
    ExplainRequest,
    parse_request,
)
from jupyter_codegen.errors import RequestError


def test_complete_request_defaults() -> None:
    req = parse_request(CompleteRequest, {"prefix": "x = "})
    assert (req.suffix, req.cells_before, req.language, req.n, req.stream) == (
        "",
        [],
        "python",
        1,
        False,
    )
    assert req.max_tokens is None and req.path is None


def test_complete_request_full_and_unknown_fields_ignored() -> None:
    req = parse_request(
        CompleteRequest,
        {
            "prefix": "a",
            "suffix": "b",
            "cells_before": [{"cell_type": "markdown", "source": "# T"}],
            "cells_after": [{"cell_type": "code", "source": "c"}],
            "language": "python",
            "path": "nb.ipynb",
            "max_tokens": 16,
            "n": 3,
            "stream": True,
            "request_id": "editor-1",
            "client_version": "9.9",
        },
    )
    assert req.cells_before[0].cell_type == "markdown" and req.n == 3 and req.stream


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "prefix"),
        ({"prefix": 5}, "prefix"),
        ({"prefix": "x", "suffix": None}, "suffix"),
        ({"prefix": "x", "cells_before": "import os"}, "cells_before"),
        (
            {"prefix": "x", "cells_before": [{"cell_type": "sql", "source": ""}]},
            "cells_before.0.cell_type",
        ),
        ({"prefix": "x", "cells_before": [{"cell_type": "code"}]}, "cells_before.0.source"),
        ({"prefix": "x", "max_tokens": 0}, "max_tokens"),
        ({"prefix": "x", "max_tokens": "10"}, "max_tokens"),
        ({"prefix": "x", "max_tokens": 1.5}, "max_tokens"),
        ({"prefix": "x", "n": 0}, "n"),
        ({"prefix": "x", "stream": "yes"}, "stream"),
        ({"prefix": "x", "language": ""}, "language"),
        ({"prefix": "x", "request_id": ""}, "request_id"),
    ],
)
def test_complete_request_errors_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(CompleteRequest, payload)
    assert info.value.status == 400
    assert field in [e["field"] for e in info.value.errors]
    assert field in info.value.message


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_body_must_be_an_object(payload: Any) -> None:
    with pytest.raises(RequestError, match="must be a JSON object"):
        parse_request(CompleteRequest, payload)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "code"), ({"code": ""}, "code"), ({"code": "x", "question": 1}, "question")],
)
def test_explain_request_errors(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(ExplainRequest, payload)
    assert field in [e["field"] for e in info.value.errors]


def test_cancel_request_needs_an_id() -> None:
    assert parse_request(CancelRequest, {"request_id": "a"}).request_id == "a"
    with pytest.raises(RequestError):
        parse_request(CancelRequest, {})


def test_too_many_cells_is_rejected() -> None:
    cells = [{"cell_type": "code", "source": ""}] * 2001
    with pytest.raises(RequestError, match="cells_before"):
        parse_request(CompleteRequest, {"prefix": "", "cells_before": cells})
