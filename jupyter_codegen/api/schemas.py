"""Typed request and reply models of the public HTTP API.

The models are strict: a string field does not accept a number, a list field
does not accept a string. Size limits that an administrator configures (the
longest completion, the most candidates) are checked by the service, which
knows the configuration; the limits here are the fixed, structural ones.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from jupyter_codegen.engine.base import FinishReason
from jupyter_codegen.errors import RequestError

#: Structural bounds that hold whatever the configuration.
MAX_CELLS = 2000
MAX_PATH_CHARS = 4096
MAX_QUESTION_CHARS = 4000
MAX_REQUEST_ID_CHARS = 128
MAX_NAMESPACE_CHARS = 20_000
#: Earlier turns of an Explain conversation: how many, and the longest one.
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = MAX_QUESTION_CHARS * 4
#: An error output: its name, its value, its frames and each frame's text.
MAX_ENAME_CHARS = 256
MAX_EVALUE_CHARS = 20_000
MAX_TRACEBACK_FRAMES = 2_000
MAX_FRAME_CHARS = 100_000
#: Deepest nesting of arrays and objects in a request body (a request needs 4).
MAX_JSON_DEPTH = 32


class _Model(BaseModel):
    # Unknown fields are ignored, so that newer clients can talk to older servers.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class Cell(_Model):
    """One notebook cell of context."""

    cell_type: Literal["code", "markdown", "raw"]
    source: StrictStr


def _integral(value: Any) -> Any:
    """JSON has one kind of number: ``2.0`` is the integer 2, as JSON Schema's
    ``integer`` says (``2.5``, ``true`` and ``"2"`` are not)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A count of at least 1: strict, but an integral float such as ``2.0`` is its integer.
Count = Annotated[StrictInt, Field(ge=1), BeforeValidator(_integral)]
#: An offset or index from 0, likewise.
Offset = Annotated[StrictInt, Field(ge=0), BeforeValidator(_integral)]
Cells = Annotated[list[Cell], Field(max_length=MAX_CELLS)]
RequestId = Annotated[StrictStr, Field(min_length=1, max_length=MAX_REQUEST_ID_CHARS)]


class _GenerationRequest(_Model):
    """Fields that every generating endpoint takes."""

    cells_before: Cells = []
    language: Annotated[StrictStr, Field(min_length=1, max_length=64)] = "python"
    max_tokens: Count | None = None
    stream: StrictBool = False
    #: Cancels a request with this id still in flight; ``POST /cancel`` takes it.
    request_id: RequestId | None = None
    #: The live kernel's variables, one description per line (the ``text`` of
    #: ``jupyter_codegen.kernel.live.live_context``); "" when there is no live kernel.
    namespace: Annotated[StrictStr, Field(max_length=MAX_NAMESPACE_CHARS)] = ""


class CompleteRequest(_GenerationRequest):
    """Body of ``POST /jupyter-codegen/complete``."""

    prefix: StrictStr
    suffix: StrictStr = ""
    cells_after: Cells = []
    path: Annotated[StrictStr, Field(max_length=MAX_PATH_CHARS)] | None = None
    n: Count = 1
    #: False: never more than the rest of the current line.
    multiline: StrictBool = True


class ChatTurn(_Model):
    """One earlier turn of an Explain conversation."""

    role: Literal["user", "assistant"]
    content: Annotated[StrictStr, Field(max_length=MAX_TURN_CHARS)]


class ExplainRequest(_GenerationRequest):
    """Body of ``POST /jupyter-codegen/explain``."""

    code: Annotated[StrictStr, Field(min_length=1)]
    question: Annotated[StrictStr, Field(max_length=MAX_QUESTION_CHARS)] | None = None
    #: The conversation so far about ``code``, oldest first, for a follow-up ``question``.
    history: Annotated[list[ChatTurn], Field(max_length=MAX_HISTORY_TURNS)] = []


class GenerateRequest(_GenerationRequest):
    """Body of ``POST /jupyter-codegen/generate``: code from an instruction."""

    instruction: Annotated[StrictStr, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]


class KernelError(_Model):
    """A cell's error output, exactly as the kernel sent it (ANSI codes included)."""

    ename: Annotated[StrictStr, Field(max_length=MAX_ENAME_CHARS)]
    evalue: Annotated[StrictStr, Field(max_length=MAX_EVALUE_CHARS)]
    traceback: Annotated[
        list[Annotated[StrictStr, Field(max_length=MAX_FRAME_CHARS)]],
        Field(max_length=MAX_TRACEBACK_FRAMES),
    ] = []


class FixRequest(_GenerationRequest):
    """Body of ``POST /jupyter-codegen/fix``: the failing cell, its error and
    the notebook around it."""

    cell: StrictStr
    cells_after: Cells = []
    error: KernelError


#: Which cell an edit replaces: the failing one, or an index into ``cells_before``.
CellRef = Literal["active"] | Offset


class CellEdit(_Model):
    cell: CellRef
    #: The new full source of that cell.
    source: str


class FixReply(_Model):
    edits: list[CellEdit]
    #: The cause of the error, in a sentence or two.
    explanation: str
    model: str
    finish_reason: FinishReason
    timings: dict[str, float]


class Selection(_Model):
    """Character offsets into the cell (in either order; past its end: the end)."""

    start: Offset
    end: Offset


class EditRequest(_GenerationRequest):
    """Body of ``POST /jupyter-codegen/edit``: rewrite the selection (none: the
    whole cell) as the instruction says."""

    cell: StrictStr
    selection: Selection | None = None
    instruction: Annotated[StrictStr, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]
    cells_after: Cells = []
    path: Annotated[StrictStr, Field(max_length=MAX_PATH_CHARS)] | None = None


class EditPrefetchRequest(EditRequest):
    """Body of ``POST /jupyter-codegen/prefetch/edit``: an edit's request sent
    while its instruction is still being typed, with the instruction so far
    (none by default)."""

    instruction: Annotated[StrictStr, Field(max_length=MAX_QUESTION_CHARS)] = ""


class EditReply(_Model):
    #: The new text of the selection (of the whole cell without one).
    text: str
    #: Whether the cell with the new text parses as well as it did before.
    parses: bool
    model: str
    finish_reason: FinishReason
    timings: dict[str, float]


class PrefetchReply(_Model):
    """Reply of ``POST /jupyter-codegen/prefetch``."""

    #: False: the model was busy, or another request cancelled the prefetch
    #: (what it computed until then is kept).
    prefetched: bool
    model: str
    timings: dict[str, float]


class CancelRequest(_Model):
    """Body of ``POST /jupyter-codegen/cancel``."""

    request_id: RequestId


class Completion(_Model):
    text: str
    index: int
    #: The generated candidate this came from: the ``index`` of its streamed
    #: ``completion`` events (candidates that were dropped leave gaps).
    candidate: int
    finish_reason: FinishReason


class CompleteReply(_Model):
    completions: list[Completion]
    model: str
    timings: dict[str, float]


class ExplainReply(_Model):
    explanation: str
    model: str
    finish_reason: FinishReason
    timings: dict[str, float]


class GenerateReply(_Model):
    code: str
    text: str
    model: str
    finish_reason: FinishReason
    timings: dict[str, float]


def describe_validation_error(exc: ValidationError) -> RequestError:
    """Turn pydantic's error into a message that names each bad field."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in err["loc"]) or "(body)"
        errors.append({"field": field, "message": err["msg"], "type": err["type"]})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return RequestError(f"Invalid request: {summary}", 400, errors)


def decode_json(body: bytes) -> Any:
    """Decode a request body, or raise :class:`RequestError` (400) for text that
    is not JSON, is nested deeper than :data:`MAX_JSON_DEPTH`, or holds a lone
    surrogate (``"\\ud800"``) in any string, which no tokenizer can encode."""
    try:
        payload = json.loads(body or b"null")
    except RecursionError:  # the C decoder gives up near the interpreter's limit
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"Malformed JSON: {exc}") from None
    _check_payload(payload)
    return payload


def _too_deep() -> RequestError:
    return RequestError(
        f"Invalid request: the body is nested more than {MAX_JSON_DEPTH} levels deep"
    )


def _check_payload(payload: Any) -> None:
    """Walk the decoded body once, without recursion: depth and string checks."""
    stack: list[tuple[Any, int, str]] = [(payload, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}.{key}" if where else str(key)
                _check_text(key, path)
                stack.append((item, depth + 1, path))
        else:
            stack.extend((item, depth + 1, f"{where}.{i}") for i, item in enumerate(value))


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        field = where or "(body)"
        raise RequestError(
            f"Invalid request: {field}: a lone surrogate ({text[exc.start]!a}) at character "
            f"{exc.start} is not valid Unicode text",
            errors=[{"field": field, "message": "lone surrogate", "type": "unicode"}],
        ) from None


def parse_request(model: type[BaseModel], payload: Any) -> Any:
    """Validate a decoded JSON payload against ``model`` or raise :class:`RequestError`."""
    if not isinstance(payload, dict):
        raise RequestError(
            f"Invalid request: the body must be a JSON object, not {type(payload).__name__}"
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe_validation_error(exc) from None
