"""The k-quant blocks of a GGUF file, read as the integers and scales they
hold, without a float detour: what the 4-bit and 8-bit weight kernels take.

Q4_K (llama.cpp's ``block_q4_K``, 144 bytes for 256 values): a float16
scale ``d`` and minimum ``dmin`` for the super-block, twelve bytes packing
eight 6-bit sub-block scales ``sc`` and mins ``m``, then 128 bytes of 4-bit
quants. Each sub-block of 32 values is ``(d * sc) * q - (dmin * m)`` with
``q`` in 0..15: group-wise asymmetric int4 with groups of 32, the form
torch's CPU int4 kernel (``_weight_int4pack_mm_for_cpu``) takes.

Q6_K (210 bytes for 256 values): 4 low bits, 2 high bits, sixteen int8
sub-block scales (groups of 16) and a float16 ``d``: ``d * sc * (q - 32)``.

Pure torch on uint8 tensors; the reference is gguf-py's ``dequantize``
(tests compare the two on random blocks). :mod:`.int4` loads the Q4_K blocks
into torch's int4 kernel for a reply's steps and keeps the embeddings as
blocks.
"""

from __future__ import annotations

import torch

QK_K = 256
Q4_K_BYTES = 144
Q6_K_BYTES = 210


def _blocks(raw: torch.Tensor, block_bytes: int) -> torch.Tensor:
    """``raw`` (uint8, rows of whole blocks) as (rows, blocks, block_bytes)."""
    if raw.dtype != torch.uint8 or raw.shape[-1] % block_bytes:
        raise ValueError(
            f"expected uint8 rows of {block_bytes}-byte blocks, got {tuple(raw.shape)}"
        )
    return raw.reshape(raw.shape[0], -1, block_bytes)


def _f16(two_bytes: torch.Tensor) -> torch.Tensor:
    """Little-endian float16 from the last dimension's two bytes, as float32."""
    return two_bytes.contiguous().view(torch.float16).squeeze(-1).float()


def q4_k(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Q4_K rows (uint8, ``(rows, columns / 256 * 144)``) as the quants
    (uint8 0..15, ``(rows, columns)``), the scale and the minimum of each
    group of 32 (float32, ``(rows, columns / 32)``): a value is
    ``scale * q - minimum``."""
    blocks = _blocks(raw, Q4_K_BYTES)
    rows, n = blocks.shape[:2]
    d, dmin = _f16(blocks[..., 0:2]), _f16(blocks[..., 2:4])
    packed = blocks[..., 4:16].reshape(rows, n, 3, 4).to(torch.int32)
    lo, mid, hi = packed[..., 0, :], packed[..., 1, :], packed[..., 2, :]
    # Sub-blocks 0-3: six bits of bytes 0-3 (scales) and 4-7 (mins); 4-7: four
    # bits of bytes 8-11, and the top two bits of bytes 0-3 (scales) / 4-7 (mins).
    sc = torch.cat([lo & 0x3F, (hi & 0x0F) | ((lo >> 2) & 0x30)], dim=-1)
    mn = torch.cat([mid & 0x3F, (hi >> 4) | ((mid >> 2) & 0x30)], dim=-1)
    qs = blocks[..., 16:].reshape(rows, n, 4, 1, 32)
    q = torch.cat([qs & 0x0F, qs >> 4], dim=3).reshape(rows, n * QK_K)
    scale = (d.unsqueeze(-1) * sc.float()).reshape(rows, n * 8)
    minimum = (dmin.unsqueeze(-1) * mn.float()).reshape(rows, n * 8)
    return q, scale, minimum


def q6_k(raw: torch.Tensor) -> torch.Tensor:
    """Q6_K rows (uint8, ``(rows, columns / 256 * 210)``) dequantized to float32."""
    blocks = _blocks(raw, Q6_K_BYTES)
    rows, n = blocks.shape[:2]
    ql = blocks[..., : QK_K // 2].reshape(rows, n, 2, 1, 64)
    qh = blocks[..., QK_K // 2 : QK_K // 2 + QK_K // 4].reshape(rows, n, 2, 1, 32)
    scales = blocks[..., 192:208].contiguous().view(torch.int8).float()
    d = _f16(blocks[..., 208:210])
    low = torch.cat([ql & 0x0F, ql >> 4], dim=3).reshape(rows, n, 2, 4, 32)
    shifts = torch.tensor([0, 2, 4, 6], dtype=torch.uint8).reshape(1, 1, 1, 4, 1)
    high = ((qh >> shifts) & 0x03).reshape(rows, n, 2, 4, 32)
    q = (low | (high << 4)).to(torch.int32) - 32
    scale = (d.unsqueeze(-1) * scales).reshape(rows, n, 16, 1)
    return (scale * q.reshape(rows, n, 16, 16).float()).reshape(rows, n * QK_K)


def dequantize_q4_k(raw: torch.Tensor) -> torch.Tensor:
    """Q4_K rows dequantized to float32 (for what is not a product: embeddings)."""
    q, scale, minimum = q4_k(raw)
    rows, cols = q.shape
    values = q.reshape(rows, -1, 32).float() * scale.unsqueeze(-1) - minimum.unsqueeze(-1)
    return values.reshape(rows, cols)
