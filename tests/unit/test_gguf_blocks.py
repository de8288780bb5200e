"""The GGUF k-quant block reader against gguf-py's reference dequantization."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType
from gguf.quants import dequantize
from gguf_fixtures import random_blocks

from jupyter_codegen.engine.local import gguf_blocks


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q4_k_blocks_read_exactly_as_gguf_py_dequantizes_them(seed: int) -> None:
    raw = random_blocks(6, 3, gguf_blocks.Q4_K_BYTES, [0, 2], seed)
    expected = dequantize(raw, GGMLQuantizationType.Q4_K).astype(np.float32)
    q, scale, minimum = gguf_blocks.q4_k(torch.from_numpy(raw))
    # The parts are what the int4 kernel takes: quants 0..15, one scale and
    # one minimum per group of 32
    assert q.dtype == torch.uint8 and int(q.max()) <= 15
    assert q.shape == (6, 3 * 256) and scale.shape == minimum.shape == (6, 3 * 8)
    got = gguf_blocks.dequantize_q4_k(torch.from_numpy(raw)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_q6_k_blocks_read_exactly_as_gguf_py_dequantizes_them(seed: int) -> None:
    raw = random_blocks(5, 2, gguf_blocks.Q6_K_BYTES, [208], seed)
    expected = dequantize(raw, GGMLQuantizationType.Q6_K).astype(np.float32)
    got = gguf_blocks.q6_k(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


def test_rows_that_are_not_whole_blocks_are_refused() -> None:
    with pytest.raises(ValueError, match="144-byte blocks"):
        gguf_blocks.q4_k(torch.zeros(2, 143, dtype=torch.uint8))
    with pytest.raises(ValueError, match="210-byte blocks"):
        gguf_blocks.q6_k(torch.zeros(2, 210, dtype=torch.int8))
