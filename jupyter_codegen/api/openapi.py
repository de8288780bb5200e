"""The HTTP API as an OpenAPI 3.1 document, built from the pydantic schemas.

The request and reply models of :mod:`jupyter_codegen.api.schemas` become
``components/schemas`` through pydantic's JSON Schema; the rest (the status
reply, errors, the streamed events) is written here. The document is kept in
the repository next to this module (``openapi.json``, packaged with it) and the
server serves that file at ``GET /jupyter-codegen/openapi.json``::

    python -m jupyter_codegen.api.openapi --write   # rewrite openapi.json
    python -m jupyter_codegen.api.openapi --check   # exit 1 if it is stale

The schema of a streamed reply (``"stream": true``, ``text/event-stream``)
describes one event, as OpenAPI 3.2's ``itemSchema`` does: ``{"event": name,
"data": text}``, the data JSON (``contentMediaType``) of its ``contentSchema``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from jupyter_codegen.api import schemas
from jupyter_codegen.api.plain_schemas import EXTRA_SCHEMAS, REF, ref

#: Where the document is kept (and packaged).
DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
#: The revision of the API that the document describes (not the package's version).
API_VERSION = "1"
PREFIX = "/jupyter-codegen"

REQUESTS: tuple[type[BaseModel], ...] = (
    schemas.CompleteRequest,
    schemas.ExplainRequest,
    schemas.GenerateRequest,
    schemas.FixRequest,
    schemas.EditRequest,
    schemas.EditPrefetchRequest,
    schemas.CancelRequest,
)
REPLIES: tuple[type[BaseModel], ...] = (
    schemas.CompleteReply,
    schemas.ExplainReply,
    schemas.GenerateReply,
    schemas.FixReply,
    schemas.EditReply,
    schemas.PrefetchReply,
)


#: Per streaming endpoint: the name of its text event, that event's data, the reply.
STREAMS = {
    "complete": ("completion", "CompletionEvent", "CompleteReply"),
    "explain": ("explanation", "DeltaEvent", "ExplainReply"),
    "generate": ("text", "DeltaEvent", "GenerateReply"),
    "fix": ("fix", "FixEvent", "FixReply"),
    "edit": ("edit", "EditEvent", "EditReply"),
}


def _event(name: str, data: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": ref(data),
            },
        },
    }


def _stream_schema(route: str) -> dict[str, Any]:
    event, data, reply = STREAMS[route]
    return {
        "title": _stream_name(route),
        "description": f"One server-sent event: `{event}` events, then `done` with the reply, "
        "or `error`.",
        "oneOf": [_event(event, data), _event("done", reply), _event("error", "StreamError")],
    }


def _stream_name(route: str) -> str:
    return f"{route.capitalize()}StreamEvent"


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}

#: Every error status, what it means and its headers.
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "Invalid: a body that does not parse (as JSON, or as the form its Content-Type "
        "names), is nested too deeply, holds a lone surrogate, lacks a field, has one of a "
        "wrong type or over a structural limit (`errors` names each field).",
        {},
    ),
    403: ("No token, or a wrong one.", {}),
    413: ("The body is over `max_request_bytes`, or the text far over the budget.", {}),
    429: ("Busy: the queue is full, or the request waited `queue_timeout`.", RETRY_AFTER),
    500: ("An unexpected failure (a bug).", {}),
    502: ("The remote inference server failed (`upstream` names it).", {}),
    503: (
        "The model is loading or failed to load (`state`), or the remote server is "
        "unreachable or overloaded.",
        RETRY_AFTER,
    ),
    504: ("The remote inference server did not answer in time.", {}),
}
GENERATION_ERRORS = (400, 403, 413, 429, 500, 502, 503, 504)
GET_ERRORS = (400, 403, 500)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _responses(ok: dict[str, Any], errors: tuple[int, ...]) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    for status in errors:
        description, headers = ERRORS[status]
        responses[str(status)] = {"description": description, "content": _json(ref("Error"))}
        if headers:
            responses[str(status)]["headers"] = headers
    return responses


#: route -> (operationId, summary, error statuses). A POST takes the model
#: ``<Route>Request`` and replies with ``<Route>Reply``; a GET replies with GETS[route].
OPERATIONS: dict[str, tuple[str, str, tuple[int, ...]]] = {
    "status": ("getStatus", "The model's state and counters.", GET_ERRORS),
    "openapi.json": ("getOpenapi", "This document.", GET_ERRORS),
    "complete": ("complete", "Complete the code at the cursor.", GENERATION_ERRORS),
    "explain": ("explain", "Explain code, or answer a question about it.", GENERATION_ERRORS),
    "generate": ("generate", "Write code from an instruction.", GENERATION_ERRORS),
    "fix": ("fix", "Fix a cell's error, where it is caused.", GENERATION_ERRORS),
    "edit": ("edit", "Rewrite a selection as instructed.", GENERATION_ERRORS),
    "prefetch": (
        "prefetch",
        "Compute a completion's prompt ahead of the first keystroke, at low priority.",
        (400, 403, 413, 500, 502, 503, 504),
    ),
    "prefetch/fix": (
        "prefetchFix",
        "Compute a fix's prompt when the error appears, before Fix is clicked, at low priority.",
        (400, 403, 413, 500, 502, 503, 504),
    ),
    "prefetch/edit": (
        "prefetchEdit",
        "Compute an edit's prompt while its instruction is typed, at low priority.",
        (400, 403, 413, 500, 502, 503, 504),
    ),
    "prefetch/explain": (
        "prefetchExplain",
        "Compute an explanation's prompt for the active cell, at low priority.",
        (400, 403, 413, 500, 502, 503, 504),
    ),
    "cancel": ("cancel", "Cancel the generation with this request_id.", (400, 403, 413, 500)),
}
GETS = {"status": "StatusReply", "openapi.json": "OpenAPIDocument"}
#: The POSTs whose body is another route's request model, or whose reply is.
BODIES = {
    "prefetch": "CompleteRequest",
    "prefetch/fix": "FixRequest",
    "prefetch/edit": "EditPrefetchRequest",
    "prefetch/explain": "ExplainRequest",
}
REPLY_MODELS = {
    "prefetch/fix": "PrefetchReply",
    "prefetch/edit": "PrefetchReply",
    "prefetch/explain": "PrefetchReply",
}


def _operation(route: str) -> dict[str, Any]:
    operation_id, summary, errors = OPERATIONS[route]
    reply = GETS.get(route) or REPLY_MODELS.get(route, f"{route.capitalize()}Reply")
    content = _json(ref(reply))
    description = "The reply."
    if route in STREAMS:
        content["text/event-stream"] = {"schema": ref(_stream_name(route))}
        description = 'The reply; with `"stream": true`, server-sent events.'
    op = {"operationId": operation_id, "summary": summary}
    responses = _responses({"description": description, "content": content}, errors)
    if route in GETS:
        return {"get": {**op, "responses": responses}}
    request = BODIES.get(route, f"{route.capitalize()}Request")
    body = {"required": True, "content": _json(ref(request))}
    return {"post": {**op, "requestBody": body, "responses": responses}}


def model_schemas() -> dict[str, Any]:
    """The JSON Schemas of the request (validation) and reply (serialization) models."""
    models = [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in REPLIES]
    _, top = models_json_schema(models, ref_template=REF)  # type: ignore[arg-type]
    return dict(top["$defs"])


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API (what ``openapi.json`` holds)."""
    components = {**model_schemas(), **EXTRA_SCHEMAS}
    components.update({_stream_name(r): _stream_schema(r) for r in STREAMS})
    paths = {f"{PREFIX}/{route}": _operation(route) for route in OPERATIONS}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-codegen",
            "version": API_VERSION,
            "description": "Completions, explanations and generated code from the model that "
            "the Jupyter server hosts. Paths are relative to the server's base URL. The "
            "schema of a streamed reply (`text/event-stream`) describes one event (as OpenAPI "
            "3.2's `itemSchema` does): its `event` name and its `data`, JSON text.",
        },
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The Jupyter server's token: `Authorization: token <token>`.",
                }
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    """The document as it is written to ``openapi.json``."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load() -> dict[str, Any]:
    """The kept document (``openapi.json``), as the server serves it."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help=f"rewrite {DOCUMENT_PATH.name}")
    action.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    args = parser.parse_args(argv)
    fresh = render(openapi_document())
    if args.write:
        DOCUMENT_PATH.write_text(fresh, encoding="utf-8")
        print(f"wrote {DOCUMENT_PATH}")
        return 0
    kept = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
    if kept == fresh:
        return 0
    diff = difflib.unified_diff(
        kept.splitlines(True), fresh.splitlines(True), "openapi.json (kept)", "(generated)"
    )
    sys.stdout.writelines(diff)
    print(f"\n{DOCUMENT_PATH} is stale: run python -m jupyter_codegen.api.openapi --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
