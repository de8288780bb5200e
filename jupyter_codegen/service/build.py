"""Assemble a service: the engine's settings, a host that loads it, the
service over the host. The server extension and the kernel's in-process
client both build theirs here, from the same configuration."""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_codegen.engine import registry
from jupyter_codegen.engine.base import Engine
from jupyter_codegen.service.host import ModelHost
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.service import CodegenService


@dataclass(frozen=True)
class HostSettings:
    """How many generations run at once and wait (from the configuration)."""

    max_concurrent: int = 1
    max_queued: int = 8
    queue_timeout: float = 60.0


def build_service(
    engine: registry.EngineSettings,
    limits: ServiceLimits,
    hosting: HostSettings | None = None,
    *,
    freeze_heap: bool = False,
) -> CodegenService:
    """The service over a host that will load ``engine`` (loading has not
    started). ``freeze_heap``: the host freezes the process's heap after
    loading (the server's process only; a kernel's heap is the user's)."""
    hosting = hosting or HostSettings()

    def load(progress: registry.Progress) -> Engine:  # in the host's loading thread
        loaded = registry.load(engine, progress, host.set_progress)
        host.name = loaded.info().model
        return loaded

    host = ModelHost(
        registry.display_name(engine),
        load,
        max_concurrent=hosting.max_concurrent,
        max_queued=hosting.max_queued,
        queue_timeout=hosting.queue_timeout,
        freeze_heap=freeze_heap,
    )
    return CodegenService(host, limits)
