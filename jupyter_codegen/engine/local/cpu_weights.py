"""A loaded model's weights made ready for the CPU: int8 layers, the inputs
kept out of int8, and the GGUF's 4-bit blocks where the model has them.
Part of the local engine (runs in the loading thread)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from torch import nn

from jupyter_codegen.engine.base import EngineOptions
from jupyter_codegen.engine.local import requant
from jupyter_codegen.engine.local.calibration import CALIBRATION_TEXT, calibrate
from jupyter_codegen.engine.local.int4 import blocks_for, int4_supported, use_blocks
from jupyter_codegen.engine.local.kernels import weight_only_supported
from jupyter_codegen.engine.local.quantize import quantize_int8

log = logging.getLogger(__name__)


def prepare_int8(
    model: nn.Module,
    tokenizer: Any,
    path: str,
    gguf_file: str | None,
    options: EngineOptions,
    report: Callable[[float], None],
) -> str | None:
    """Quantize ``model`` (loaded in bfloat16) layer by layer, so that there is
    never a float32 copy of it all, then calibrate it and use its blocks.
    ``report`` is told the progress from 0.1 to 0.9. Returns why
    ``options.low_memory`` cannot be had here, or None."""
    quantize_int8(model, on_fraction=lambda f: report(0.1 + 0.8 * f), rotate=options.int8_rotation)
    if options.int8_outliers and not options.int8_rotation:
        # One pass over a page of code picks the inputs kept out of int8.
        calibrate(model, [tokenizer(CALIBRATION_TEXT, return_tensors="pt").input_ids])
    # The GGUF's Q4_K blocks, where the model has them: the token embeddings
    # as blocks, and a reply's 4-bit weights.
    int4 = (
        options.int8_decode == "int4"
        and not options.int8_rotation
        and weight_only_supported()
        and int4_supported()
    )
    blocks = blocks_for(path, gguf_file)
    # With low_memory, the int8 copies of those layers go (requant.py; its
    # kernel is built only for a model that has blocks).
    unavailable = (
        requant.unavailable_with(options, int4=int4)
        if len(blocks)
        else ("the model has no 4-bit blocks" if options.low_memory else None)
    )
    try:
        use_blocks(model, blocks, int4=int4, low_memory=options.low_memory and unavailable is None)
    except Exception as exc:
        log.warning("the model's 4-bit blocks are not used: %s", exc)
        unavailable = f"the model's 4-bit blocks are not used: {exc}"
    return unavailable
