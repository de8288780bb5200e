"""The engines this package can host, by the type of their settings.

A new engine is one :class:`EngineKind` entry: its settings dataclass, its
loader and the name the status shows before it is loaded. Nothing else in the
package names an engine: the service reads what it needs (family, prompt
budget) from the engine's :class:`~jupyter_codegen.engine.base.EngineInfo`,
and its errors are :class:`~jupyter_codegen.errors.EngineError`. Loaders are
imported when called, so that choosing the remote engine never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_codegen.engine.base import Engine
from jupyter_codegen.engine.local.loader import LocalSettings
from jupyter_codegen.engine.remote.engine import RemoteSettings
from jupyter_codegen.engine.remote.upstream import display_url

#: Told a message about what loading is doing.
Progress = Callable[[str], None]
#: Told the loading stage ("converting", "loading") and how far it is (0..1).
Fraction = Callable[[str, float], None]
EngineSettings = LocalSettings | RemoteSettings


@dataclass(frozen=True)
class EngineKind:
    name: str
    settings: type
    load: Callable[[Any, Progress, Fraction], Engine]
    #: The model's name before the engine is loaded.
    display_name: Callable[[Any], str]


def _load_local(settings: LocalSettings, progress: Progress, fraction: Fraction) -> Engine:
    from jupyter_codegen.engine.local.loader import load_local

    return load_local(settings, progress, fraction)


def _load_remote(settings: RemoteSettings, progress: Progress, _fraction: Fraction) -> Engine:
    from jupyter_codegen.engine.remote.engine import load_remote

    return load_remote(settings, progress)


ENGINES: tuple[EngineKind, ...] = (
    EngineKind("local", LocalSettings, _load_local, lambda s: s.display_name),
    EngineKind("remote", RemoteSettings, _load_remote, lambda s: s.model or display_url(s.url)),
)


def kind_of(settings: EngineSettings) -> EngineKind:
    for kind in ENGINES:
        if isinstance(settings, kind.settings):
            return kind
    raise TypeError(f"no engine takes settings of type {type(settings).__name__}")


def load(settings: EngineSettings, progress: Progress, fraction: Fraction) -> Engine:
    """Load the engine these settings describe (in the host's loading thread)."""
    return kind_of(settings).load(settings, progress, fraction)


def display_name(settings: EngineSettings) -> str:
    return kind_of(settings).display_name(settings)
