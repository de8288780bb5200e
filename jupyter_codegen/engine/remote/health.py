"""The inference server's health as the status shows it: ``GET /models``
within :data:`PROBE_TIMEOUT_S` (a total deadline, so a list sent a byte a
second is a failure, not a healthy server), refreshed in the background so
that ``/status`` never waits on the network, and every request's outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError

#: How old the health shown may be before a new probe starts.
HEALTH_TTL_S = 10.0
#: A probe's total deadline (seconds).
PROBE_TIMEOUT_S = 10.0
#: Most model names the status shows.
MAX_MODELS_SHOWN = 50

Entries = dict[str, dict[str, Any]]


class Health:
    """Thread-safe health record; :meth:`probe` asks the server now."""

    def __init__(self, upstream: Upstream):
        self.upstream = upstream
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "url": upstream.name,
            "state": "unknown",
            "models": [],
            "latency_ms": None,
            "error": None,
        }
        self._checked = 0.0
        self._probing = False
        self._listed: set[str] = set()

    def probe(self) -> Entries | None:
        """``GET /models`` now: record the health, and return the listed models'
        entries by name (None if the probe failed)."""
        started = time.monotonic()
        try:
            reply = self.upstream.get_json("models", timeout=PROBE_TIMEOUT_S)
            data = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(data, list):
                raise self.upstream.fail(502, "sent a model list without 'data'")
            entries = {
                m["id"]: m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)
            }
        except UpstreamError as exc:
            self.failed(exc, checked=True)
            return None
        finally:
            with self._lock:
                self._probing = False
        latency = round((time.monotonic() - started) * 1000, 1)
        shown = [self.upstream.quote(m, 200) for m in list(entries)[:MAX_MODELS_SHOWN]]
        with self._lock:
            self._state.update(state="ok", models=shown, latency_ms=latency, error=None)
            self._checked = time.monotonic()
            self._listed = set(entries)
        return entries

    def report(self, model: str | None) -> dict[str, Any]:
        with self._lock:
            health = dict(self._state)
            health["checked_s_ago"] = (
                round(time.monotonic() - self._checked, 1) if self._checked else None
            )
            if model is not None and health["models"]:
                health["model_listed"] = model in self._listed
        return health

    def refresh_in_background(self, probe: Callable[[], object]) -> None:
        """Run ``probe`` in a thread unless one runs or the health is fresh."""
        with self._lock:
            if self._probing or time.monotonic() - self._checked < HEALTH_TTL_S:
                return
            self._probing = True
        threading.Thread(target=probe, name="codegen-remote-health", daemon=True).start()

    def failed(self, exc: UpstreamError, *, checked: bool = False) -> None:
        state = "unreachable" if exc.status in (503, 504) else "error"
        with self._lock:
            self._state.update(state=state, error=str(exc))
            if checked:
                self._state.update(latency_ms=None)
                self._checked = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            if self._state["state"] != "ok":
                self._state.update(state="ok", error=None)
