"""Which product the int8 layers (:class:`.quantize.Int8Linear`) run, per
thread: the int8 product of inputs quantized per token (the default, and
always for prompts), or the weights alone for a reply's tokens.

Part of the local (transformers) engine; nothing else imports torch.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol

import torch


def weight_only_supported() -> bool:
    """Whether this torch has the CPU kernel of :func:`weight_only_products`."""
    try:
        x = torch.ones(1, 16, dtype=torch.bfloat16)
        w = torch.ones(8, 16, dtype=torch.int8)
        scales = torch.ones(8, dtype=torch.bfloat16)
        return bool(torch._weight_int8pack_mm(x, w, scales).sum().item() == 8 * 16)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class RowWeight(Protocol):
    """A weight whose product depends on each input row alone, that a layer
    can use for a reply's steps instead of its own (:class:`.int4.Int4Weight`)."""

    def mm(self, rows: torch.Tensor) -> torch.Tensor:
        """``rows`` (bfloat16, ``(m, in)``) times the weight: ``(m, out)``."""
        ...

    def nbytes(self) -> int:
        """The memory it holds."""
        ...


class _Kernel(threading.local):
    #: Whether :class:`.quantize.Int8Linear` layers run weight-only in this thread.
    weight_only = False


KERNEL = _Kernel()


@contextlib.contextmanager
def weight_only_products(on: bool = True) -> Iterator[None]:
    """Within this block, in this thread, :class:`.quantize.Int8Linear` layers
    multiply their inputs, rounded to bfloat16, by the int8 weights
    (``_weight_int8pack_mm``) instead of quantizing them to int8 per token.
    Each row's result depends on that row alone. One row (a decode step of the
    1.5B's 8960 x 1536 projection, 2 cores) took 0.36 ms against 0.54 ms; 7
    rows took 2.7 times as long as the int8 product and 128 rows 12 times, so
    prompts never run this way."""
    old = KERNEL.weight_only
    KERNEL.weight_only = on
    try:
        yield
    finally:
        KERNEL.weight_only = old
