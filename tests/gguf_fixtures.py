"""Random k-quant blocks and tiny GGUF files, for the tests of the GGUF block
reader and of the 4-bit weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def random_blocks(rows: int, blocks: int, size: int, f16_at: list[int], seed: int) -> np.ndarray:
    """Random k-quant rows whose float16 fields hold finite scales."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(rows, blocks, size), dtype=np.uint8)
    for offset in f16_at:
        scales = rng.uniform(-0.05, 0.05, size=(rows, blocks)).astype(np.float16)
        raw[..., offset : offset + 2] = scales.view(np.uint8).reshape(rows, blocks, 2)
    return raw.reshape(rows, blocks * size)


def random_q4_k(rows: int, columns: int, seed: int) -> np.ndarray:
    """Random Q4_K rows of a ``(rows, columns)`` weight (positive scales)."""
    raw = random_blocks(rows, columns // 256, 144, [], seed).reshape(rows, -1, 144)
    rng = np.random.default_rng(seed + 1000)
    for offset in (0, 2):
        scales = rng.uniform(0.0005, 0.003, size=raw.shape[:2]).astype(np.float16)
        raw[..., offset : offset + 2] = scales.view(np.uint8).reshape(*raw.shape[:2], 2)
    return raw.reshape(rows, -1)


def write_gguf(path: Path, arch: str, tensors: dict[str, tuple[np.ndarray, str]]) -> Path:
    """A GGUF file of ``arch`` holding ``tensors``: name -> (data, type name),
    the data raw bytes for a quantized type."""
    from gguf import GGMLQuantizationType, GGUFWriter

    writer = GGUFWriter(str(path), arch)
    for name, (data, kind) in tensors.items():
        qtype = GGMLQuantizationType[kind]
        if qtype == GGMLQuantizationType.F32:
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, data, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def reference(raw: np.ndarray) -> Any:
    """gguf-py's dequantization of Q4_K rows (float32 torch tensor): what
    llama.cpp computes with."""
    import torch
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    return torch.from_numpy(dequantize(raw, GGMLQuantizationType.Q4_K).astype(np.float32))


def edge_q4_k(rows: int, columns: int, seed: int) -> np.ndarray:
    """Random Q4_K rows (at least 3) with extreme headers: subnormal and zero
    float16 scales, and the largest 6-bit scales and minimums."""
    raw = random_q4_k(rows, columns, seed).reshape(rows, -1, 144)
    raw[0, :, 0:2] = np.array([3e-6], dtype=np.float16).view(np.uint8)  # d: subnormal
    raw[1, :, 2:4] = 0  # dmin
    raw[2, :, 4:16] = 0xFF  # every scale and minimum 63
    return raw.reshape(rows, -1)
