"""Rotated int8 inputs: random signs and a block Hadamard transform, folded
into a layer's weight before rounding, so that the few channels a hundred
times larger than the rest no longer set each token's int8 scale (QuaRot).
Used by :class:`.quantize.Int8Linear` when ``int8_rotation`` is on."""

from __future__ import annotations

import threading

import torch

#: Largest block of the Hadamard rotations (a power of two; a layer whose width
#: it does not divide gets the largest power of two that does).
ROTATION_BLOCK = 128


def hadamard(n: int) -> torch.Tensor:
    """The orthonormal Sylvester Hadamard matrix of order ``n`` (a power of two)."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"a Hadamard order must be a power of two, not {n}")
    # (float32 whatever the default dtype: a model loading in another thread
    # sets that for a while, and the matrix is shared for the process' life)
    h = torch.ones(1, 1, dtype=torch.float32)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    return h / n**0.5


class _LastInput(threading.local):
    """The input a rotation last quantized, in this thread (see
    :meth:`Rotation.quantize`)."""

    entry: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None


class Rotation:
    """An orthonormal rotation of a layer's input channels: random signs, then a
    Hadamard transform within each block of ``block`` channels.

    A Linear layer gives the same product on rotated inputs with its weight
    rotated the same way (``x W^T = (x R)(W R)^T`` for an orthonormal R), so the
    weight is rotated once before rounding and each input on every call. The
    point is int8's: Qwen2.5's inputs carry a few channels (fixed ones after
    the norms, changing ones into the MLP's down projection) up to a hundred
    times larger than the rest, and they set each token's int8 scale. Rotated,
    every channel of a block holds a mix of all of them: an outlier is spread
    over the block (divided by sqrt(block)), and the scale fits the rest. This
    is QuaRot's and SpinQuant's remedy for int8 and int4 activations.

    The signs are drawn from a fixed seed per width, so every layer of a width
    shares one rotation and a model loads the same way every time."""

    _shared: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, _LastInput]] = {}

    def __init__(self, features: int, block: int = ROTATION_BLOCK):
        while block > 1 and features % block:
            block //= 2
        self.features, self.block = features, block
        key = (features, block)
        if key not in self._shared:
            generator = torch.Generator().manual_seed(features)
            signs = torch.randint(0, 2, (features,), generator=generator).float().mul_(2).sub_(1)
            self._shared[key] = (signs, hadamard(block), _LastInput())
        self.signs, self.matrix, self._last = self._shared[key]

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        """``rows`` (n, features) in float32, rotated (a new tensor)."""
        n = rows.shape[0]
        blocks = (rows * self.signs).view(n, self.features // self.block, self.block)
        return (blocks @ self.matrix).view(n, self.features)

    def quantize(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (..., features) rotated and in int8 (:func:`quantize_rows`).
        Sibling layers that read the same tensor (q, k and v after a norm; an
        MLP's gate and up) share a rotation, so the last input is kept, per
        thread, and matched by identity: the entry holds the tensor, so no
        other can take its place."""
        entry = self._last.entry
        if entry is not None and entry[0] is x:
            return entry[1], entry[2]
        qrows, scale = quantize_rows(x.reshape(-1, self.features), self)
        self._last.entry = (x, qrows, scale)
        return qrows, scale

    def rotate_(self, weight: torch.Tensor, rows: int = 4096) -> torch.Tensor:
        """Rotate the input channels of ``weight`` (out, features) in place, a
        few thousand rows at a time (an output layer's whole float32 weight
        is 0.9 GB: one more such temporary is not needed)."""
        for start in range(0, weight.shape[0], rows):
            part = weight[start : start + rows]
            part.copy_(self(part))
        return weight


def quantize_rows(rows: torch.Tensor, rotation: Rotation) -> tuple[torch.Tensor, torch.Tensor]:
    """``rows`` (n, features), rotated, in int8 with one scale per row: (int8
    rows, float32 scales of shape (n, 1)). An all-zero row stays zero."""
    work = rotation(rows.float())  # a new tensor: rounded in place below
    low, high = work.aminmax(dim=1)  # (no |rows| temporary)
    scale = torch.maximum(high, low.neg_()).div_(127).clamp_min_(1e-12).unsqueeze(1)
    return work.div_(scale).round_().to(torch.int8), scale
