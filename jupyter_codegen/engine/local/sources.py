"""Resolve the ``model`` setting to where the weights come from."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from jupyter_codegen.engine.local.embedded import (
    DEFAULT_EMBEDDED,
    EMBEDDED_MODELS,
    EmbeddedModel,
)

EMBEDDED_PREFIX = "embedded:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights are: an embedded model, a directory, a GGUF file or the hub."""

    kind: Literal["embedded", "dir", "gguf", "hub"]
    spec: str
    path: str | None = None
    embedded: EmbeddedModel | None = None

    @property
    def display_name(self) -> str:
        if self.embedded is not None:
            return f"{EMBEDDED_PREFIX}{self.embedded.name}"
        return self.spec


def resolve_model(spec: str) -> ModelSource:
    """Decide what ``spec`` names, or raise ValueError saying what is wrong.

    - ``embedded`` or ``embedded:<name>``: an embedded model;
    - a path to a ``.gguf`` file;
    - a directory holding a ``config.json`` (a transformers checkpoint);
    - otherwise a Hugging Face hub id such as ``Qwen/Qwen2.5-Coder-7B``.
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("no model is configured (CodegenApp.model is empty)")
    if spec == "embedded" or spec.startswith(EMBEDDED_PREFIX):
        name = spec[len(EMBEDDED_PREFIX) :] if spec != "embedded" else DEFAULT_EMBEDDED
        if name not in EMBEDDED_MODELS:
            known = ", ".join(EMBEDDED_PREFIX + n for n in EMBEDDED_MODELS)
            raise ValueError(f"unknown embedded model {spec!r}; known: {known}")
        return ModelSource("embedded", spec, embedded=EMBEDDED_MODELS[name])
    path = os.path.expanduser(spec)
    if path.lower().endswith(".gguf"):
        if not os.path.isfile(path):
            raise ValueError(f"GGUF file {spec!r} does not exist")
        return ModelSource("gguf", spec, path=os.path.abspath(path))
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise ValueError(f"directory {spec!r} holds no config.json: not a transformers model")
        return ModelSource("dir", spec, path=os.path.abspath(path))
    if spec.startswith(("/", "./", "../", "~")) or os.sep + os.sep in spec:
        raise ValueError(f"model directory {spec!r} does not exist")
    if _HUB_ID.match(spec):
        return ModelSource("hub", spec)
    raise ValueError(
        f"model {spec!r} is neither an embedded model, an existing directory or .gguf file, "
        "nor a Hugging Face hub id"
    )
