"""int8 Linear layers (engine/quantize.py): per-token activation scales keep
ordinary tokens exact next to an outlier, the int32 product matches float32
within int8 rounding, and shapes, bias and zero rows behave."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from jupyter_codegen.engine.quantize import Int8Linear, int8_supported, weight_bytes  # noqa: E402

pytestmark = pytest.mark.skipif(not int8_supported(), reason="torch without _int_mm on the CPU")


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def make(in_f: int, out_f: int, bias: bool = False, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(in_f, out_f, bias=bias)


@pytest.mark.parametrize(
    "rows, in_f, out_f, bias",
    [(1, 64, 32, False), (7, 128, 96, True), (65, 256, 64, False), (3, 48, 200, True)],
)
def test_matches_float32_within_int8_rounding(rows, in_f, out_f, bias):
    linear = make(in_f, out_f, bias)
    x = torch.randn(rows, in_f)
    got = Int8Linear(linear)(x)
    assert got.shape == (rows, out_f) and got.dtype == torch.float32
    assert rel_err(got, linear(x).detach()) < 0.02


def test_an_outlier_token_does_not_coarsen_the_others():
    """Qwen's down_proj sees tokens a hundred times larger than the rest. With
    one scale for the whole input (torch's dynamic int8 Linear) the ordinary
    rows lose most of their precision; with a scale per token they do not."""
    linear = make(256, 64)
    x = torch.randn(16, 256)
    x[0] *= 300.0
    got = Int8Linear(linear)(x)[1:]
    want = linear(x).detach()[1:]
    assert rel_err(got, want) < 0.02
    # The same rows quantized with one shared scale, for contrast:
    shared = x.abs().max() / 127
    coarse = torch.round(x / shared) * shared
    assert rel_err(linear(coarse).detach()[1:], want) > 0.1


def test_keeps_leading_dimensions_dtype_and_zero_rows():
    linear = make(32, 16, bias=True)
    x = torch.randn(2, 5, 32, dtype=torch.bfloat16)
    x[1, 2] = 0
    got = Int8Linear(linear)(x)
    assert got.shape == (2, 5, 16) and got.dtype == torch.bfloat16
    assert torch.allclose(got[1, 2].float(), linear.bias.detach(), atol=1e-2)


def test_tied_weight_is_left_alone_and_bytes_are_counted():
    linear = make(64, 32)
    before = linear.weight.detach().clone()
    q = Int8Linear(linear)
    assert torch.equal(linear.weight.detach(), before)  # quantizing never edits the source
    assert q.qweight.dtype == torch.int8
    model = torch.nn.Sequential(q)
    assert weight_bytes(model) == 64 * 32 + 32 * 4


def test_quantize_int8_reports_its_progress_layer_by_layer():
    from jupyter_codegen.engine.quantize import quantize_int8

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(10, 8)
            self.body = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
            self.lm_head = torch.nn.Linear(8, 4)

        def get_input_embeddings(self) -> torch.nn.Module:
            return self.embed

        def set_input_embeddings(self, value: torch.nn.Module) -> None:
            self.embed = value

    torch.manual_seed(0)
    model = Model()
    seen: list[float] = []
    assert quantize_int8(model, on_fraction=seen.append) == 2
    assert seen == [0.5, 1.0]
    assert all(not isinstance(m, torch.nn.Linear) for m in model.modules())
