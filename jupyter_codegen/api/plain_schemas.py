"""The JSON Schemas of what the API sends that is not a pydantic model: the
status reply, errors, streamed events. Objects stay open (more properties
allowed), so that a newer server may add fields."""

from __future__ import annotations

from typing import Any

#: Where a component's schema is, in the OpenAPI document.
REF = "#/components/schemas/{model}"

STATES = ["loading", "ready", "error"]


_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}


_NULLABLE_NUM: dict[str, Any] = {"type": ["number", "null"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def object_schema(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


#: Schemas that are not pydantic models. Objects stay open (additional
#: properties allowed), so that a newer server may add fields.
EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        **object_schema(
            ["message"],
            message={"type": "string"},
            reason={"type": ["string", "null"], "description": "The status's phrase."},
            errors={"type": "array", "items": ref("FieldError")},
            state={"enum": STATES, "description": "503: the model's state."},
            upstream={"type": "string", "description": "The remote inference server."},
        ),
        "title": "Error",
    },
    "FieldError": {
        **object_schema(
            ["field", "message", "type"],
            field={"type": "string", "description": "Dotted path, e.g. cells_before.0.source"},
            message={"type": "string"},
            type={"type": "string"},
        ),
        "title": "FieldError",
    },
    "StatusReply": {
        **object_schema(
            ["state", "model", "error", "version", "limits", "memory", "requests"],
            state={"enum": STATES},
            model={"type": "string"},
            device=_NULLABLE_STR,
            dtype=_NULLABLE_STR,
            family=_NULLABLE_STR,
            family_source={"type": "string"},
            error=_NULLABLE_STR,
            detail=_NULLABLE_STR,
            stage=_NULLABLE_STR,
            progress={**_NULLABLE_NUM, "minimum": 0, "maximum": 1},
            load_seconds=_NULLABLE_NUM,
            version={"type": "string"},
            parameters={"type": ["integer", "null"]},
            limits={
                **object_schema(
                    ["completion_max_tokens", "explain_max_tokens", "max_candidates"],
                    completion_max_tokens={"type": "integer"},
                    explain_max_tokens={"type": "integer"},
                    context_tokens={"type": ["integer", "string"]},
                    max_candidates={"type": "integer"},
                    max_concurrent={"type": "integer"},
                    max_queued={"type": "integer"},
                    queue_timeout={"type": "number"},
                    completion_timeout={"type": "number"},
                )
            },
            memory={
                **object_schema(
                    [], rss_bytes={"type": "integer"}, peak_rss_bytes={"type": "integer"}
                )
            },
            requests={
                **object_schema(
                    ["active", "queued", "recent"],
                    active={"type": "integer"},
                    queued={"type": "integer"},
                    recent={"type": "array", "items": {"type": "object"}},
                ),
                "additionalProperties": {"type": ["number", "array"]},
            },
            engine={"type": "object", "description": "What the engine says of itself."},
        ),
        "title": "StatusReply",
    },
    "OpenAPIDocument": {
        **object_schema(["openapi", "info", "paths"]),
        "title": "OpenAPIDocument",
        "description": "This document.",
    },
    "CancelReply": {
        **object_schema(["cancelled"], cancelled={"type": "boolean"}),
        "title": "CancelReply",
    },
    "CompletionEvent": {
        **object_schema(
            ["index", "text"],
            index={"type": "integer", "description": "The candidate."},
            text={"type": "string", "description": "Its whole cleaned text so far."},
        ),
        "title": "CompletionEvent",
    },
    "DeltaEvent": {**object_schema(["delta"], delta={"type": "string"}), "title": "DeltaEvent"},
    "FixEvent": {
        **object_schema(
            ["explanation", "edits"],
            explanation={"type": "string", "description": "The cause, so far."},
            edits={"type": "array", "items": ref("CellEdit"), "description": "So far."},
        ),
        "title": "FixEvent",
    },
    "EditEvent": {
        **object_schema(["text"], text={"type": "string", "description": "The new text so far."}),
        "title": "EditEvent",
    },
    "StreamError": {
        **object_schema(["message"], message={"type": "string"}),
        "title": "StreamError",
        "description": "A failure during the generation, after the stream's headers.",
    },
}
