"""The ``/status`` report: the model's state, what the engine says of
itself, the limits, memory and recent requests."""

from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_codegen.service.host import ModelHost
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.version import __version__


def status_report(host: ModelHost, limits: ServiceLimits) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "state": host.state,
        "model": host.name,
        "device": None,
        "dtype": None,
        "family": None,
        "error": host.error,
        "detail": host.detail,
        # While loading: e.g. {"stage": "converting", "progress": 0.4}.
        "stage": host.stage,
        "progress": host.progress,
        "load_seconds": host.load_seconds,
        "version": __version__,
        "limits": {
            "completion_max_tokens": limits.completion_max_tokens,
            "explain_max_tokens": limits.explain_max_tokens,
            "context_tokens": limits.context_tokens or "auto",
            "max_candidates": limits.max_candidates,
            "max_concurrent": host.max_concurrent,
            "max_queued": host.max_queued,
            "queue_timeout": host.queue_timeout,
            # Seconds a completion may take (0: no limit).
            "completion_timeout": limits.completion_deadline,
        },
        "memory": memory(),
        "requests": host.report(),
    }
    if host.state == "ready" and host.engine is not None:
        info = host.engine.info()
        reply.update(device=info.device, dtype=info.dtype, family=info.family)
        reply["family_source"] = info.family_source
        reply["parameters"] = info.parameters
        reply["engine"] = info.extra
    return reply


def memory() -> dict[str, int]:
    """This process's resident memory now and at its peak (bytes), where known."""
    mem: dict[str, int] = {}
    peak = _peak_rss()
    if peak is not None:
        mem["peak_rss_bytes"] = peak
    try:
        with open("/proc/self/statm") as fh:
            mem["rss_bytes"] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return mem


def _peak_rss() -> int | None:
    """Peak resident memory in bytes: getrusage where there is one (not on
    Windows), else /proc's VmHWM, else unknown."""
    try:
        import resource
    except ImportError:
        resource = None  # type: ignore[assignment]
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
