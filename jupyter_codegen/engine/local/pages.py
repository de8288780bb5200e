"""Giving back the pages of a mapped checkpoint file that loading no longer
needs (Linux). Part of the local engine."""

from __future__ import annotations

import ctypes
import os
import sys

import torch


class FilePages:
    """Gives back the pages of weights that are mapped from a checkpoint file
    once they are no longer needed (Linux).

    transformers maps safetensors files into memory and lets the weights view
    the mapping. Every page quantization reads stays resident, and counted in
    the process's memory, until the whole mapping goes: 3.3 GB for the
    embedded model, on top of the int8 copy being built. ``madvise(DONTNEED)``
    on a file-backed range drops those pages (they would be read again from
    the file if touched). Only ranges that /proc/self/maps shows as mapped
    from a ``.safetensors`` file are touched, never anonymous memory."""

    MADV_DONTNEED = 4

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []
        self._madvise = None
        if sys.platform != "linux":
            return
        try:
            with open("/proc/self/maps") as fh:
                for line in fh:
                    fields = line.split()
                    if len(fields) >= 6 and fields[-1].endswith(".safetensors"):
                        start, end = (int(x, 16) for x in fields[0].split("-"))
                        self._ranges.append((start, end))
            self._madvise = ctypes.CDLL(None, use_errno=True).madvise
            self._page = os.sysconf("SC_PAGE_SIZE")
        except (OSError, AttributeError, ValueError):
            self._ranges = []

    def release(self, tensor: torch.Tensor) -> None:
        if not self._ranges or self._madvise is None:
            return
        start = tensor.data_ptr()
        end = start + tensor.numel() * tensor.element_size()
        if not any(lo <= start and end <= hi for lo, hi in self._ranges):
            return
        first = -(-start // self._page) * self._page  # whole pages inside the tensor only
        last = end // self._page * self._page
        if last > first:
            self._madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), self.MADV_DONTNEED)
