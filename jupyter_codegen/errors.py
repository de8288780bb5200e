"""The errors a request can end in, and the one table that maps them to HTTP.

Everything below the HTTP layer raises these service-level types; the server's
handlers (:mod:`jupyter_codegen.server.handlers`) and the kernel's client
(:mod:`jupyter_codegen.kernel.client`) both read :func:`describe` to turn one
into a status, a message and headers, so an error reads the same wherever it
surfaces. A leaf module: it imports nothing of the package.
"""

from __future__ import annotations

from typing import Any, Literal

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
    is, instead of reporting an unexpected failure."""

    status: int = 502


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
