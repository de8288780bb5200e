"""The errors a request can end in, and the one table that maps them to HTTP.

Everything below the HTTP layer raises these service-level types; the server's
handlers (:mod:`jupyter_codegen.server.handlers`) and the kernel's client
(:mod:`jupyter_codegen.kernel.client`) both read :func:`describe` to turn one
into a status, a message and headers, so an error reads the same wherever it
surfaces. A leaf module: it imports nothing of the package but the names in env.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from jupyter_codegen.env import TOKEN_ENV

#: The model host's loading state.
State = Literal["loading", "ready", "error"]


class RequestError(ValueError):
    """A request that cannot be served as sent; carries the HTTP status."""

    def __init__(self, message: str, status: int = 400, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or []


class EngineError(RuntimeError):
    """A failure the engine can name, with the HTTP status it calls for (an
    inference server that is unreachable, say). The host passes it on as it
    is, instead of reporting an unexpected failure. ``details`` are extra
    fields of the JSON error reply (the remote engine names its server)."""

    status: int = 502

    @property
    def details(self) -> dict[str, Any]:
        return {}


class ModelNotReady(RuntimeError):
    """The model is still loading, or failed to load."""

    def __init__(self, state: State, message: str):
        super().__init__(message)
        self.state = state


class HostBusy(RuntimeError):
    """The queue of waiting generations is full, or a request waited too long."""


class QueueTimeout(HostBusy):
    """A request waited in the queue longer than the host's queue timeout."""


class GenerationFailed(RuntimeError):
    """The engine raised while generating (counted as a failure by the host)."""


@dataclass(frozen=True)
class ErrorReply:
    """How an error is answered: the HTTP status, the JSON body (``message``,
    then any details), headers, and how it is counted and logged."""

    status: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: The request's outcome in the metrics, when the error is counted where it
    #: is answered (None: counted where it was raised, e.g. by the host).
    outcome: str | None = None
    #: "warning": log one line; "exception": an unexpected failure, logged with
    #: its traceback and counted as failed; None: not logged.
    log: Literal["warning", "exception"] | None = None

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.details, "reason": HTTPStatus(self.status).phrase}


def describe(exc: BaseException) -> ErrorReply:
    """The one table from errors to replies (see the module doc)."""
    if isinstance(exc, RequestError):
        return ErrorReply(
            exc.status,
            exc.message,
            {"errors": exc.errors} if exc.errors else {},
            outcome="too_large" if exc.status == 413 else "invalid",
        )
    if isinstance(exc, ModelNotReady):
        retry = "5" if exc.state == "loading" else "60"
        return ErrorReply(503, str(exc), {"state": exc.state}, {"Retry-After": retry})
    if isinstance(exc, HostBusy):
        return ErrorReply(429, f"The model is busy: {exc}", headers={"Retry-After": "1"})
    if isinstance(exc, GenerationFailed):  # logged and counted by the host
        return ErrorReply(500, f"Generation failed: {exc}")
    if isinstance(exc, EngineError):  # counted by the host; says what happened
        headers = {"Retry-After": "5"} if exc.status == 503 else {}
        return ErrorReply(exc.status, str(exc), dict(exc.details), headers, log="warning")
    return ErrorReply(
        500, f"Request failed: {type(exc).__name__}: {exc}", outcome="failed", log="exception"
    )


def expected(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the errors a request can end in by design."""
    return isinstance(exc, RequestError | ModelNotReady | HostBusy | GenerationFailed | EngineError)


def user_message(status: int | None, message: str) -> str:
    """A reply's error as a person reads it (the kernel's magics print it);
    ``status`` None: the server could not be reached."""
    if status is None:
        return message
    if status == 503:
        return f"The model is not ready: {message}"
    if status == 429:
        return f"The model is busy with other requests; try again in a moment. ({message})"
    if status == 403:
        return (
            f"The Jupyter server refused the request (403). Set {TOKEN_ENV} to the server's token."
        )
    return f"The request failed ({status}): {message}"
