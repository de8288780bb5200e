"""int8 Linear layers (engine/quantize.py): per-token activation scales keep
ordinary tokens exact next to an outlier, the int32 product matches float32
within int8 rounding, and shapes, bias and zero rows behave."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from jupyter_codegen.engine.quantize import (  # noqa: E402
    Int8Linear,
    int8_supported,
    weight_bytes,
)

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


def with_large_channels(rows: int, in_f: int, channels: list[int], seed: int = 1) -> torch.Tensor:
    """Inputs whose ``channels`` are 50 times the rest (the normalized hidden
    state of a real model has a few such channels)."""
    torch.manual_seed(seed)
    x = torch.randn(rows, in_f)
    x[:, channels] *= 50.0
    return x


def test_an_input_scale_folds_into_the_weight_columns():
    """Int8Linear(linear, s) computes linear(x) on inputs divided by s."""
    linear = make(256, 96, bias=True)
    x = torch.randn(12, 256)
    s = torch.rand(256) + 0.5
    got = Int8Linear(linear, input_scale=s)(x / s)
    assert rel_err(got, linear(x).detach()) < 0.02


def test_smoothing_large_channels_sharpens_the_rest():
    """Dividing the large channels down (and multiplying the weight columns
    up) before rounding gives the int8 scale of each row to the others."""
    linear = make(256, 96, bias=True)
    x = with_large_channels(12, 256, [3, 77, 200])
    want = linear(x).detach()
    coarse = rel_err(Int8Linear(linear)(x), want)
    s = x.abs().amax(dim=0).sqrt() / linear.weight.detach().abs().amax(dim=0).sqrt()
    fine = rel_err(Int8Linear(linear, input_scale=s)(x / s), want)
    assert fine < coarse / 3


def test_each_tokens_own_largest_inputs_leave_the_int8_product():
    """Large inputs that move from token to token (an MLP's down projection):
    taking each row's largest out helps where fixed scales cannot."""
    linear = make(512, 64)
    torch.manual_seed(2)
    x = torch.randn(9, 512)
    for row in range(9):
        x[row, torch.randperm(512)[:4]] *= 80.0
    want = linear(x).detach()
    q = Int8Linear(linear)
    coarse = rel_err(q(x), want)
    q.token_outliers = 8
    fine = rel_err(q(x), want)
    assert fine < coarse / 3
    # Row by row or all at once, the same values (within float rounding)
    one_by_one = torch.cat([q(x[i : i + 1]) for i in range(9)])
    assert torch.allclose(one_by_one, q(x), rtol=1e-5, atol=1e-5)


def tiny_qwen2(seed: int = 3, large: float = 1.0) -> torch.nn.Module:
    """A 2-layer Qwen2; ``large`` multiplies two channels of every norm's
    weight, as the large channels of a real model's normalized hidden state."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    model = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            for norm in (layer.input_layernorm, layer.post_attention_layernorm):
                norm.weight[[5, 40]] *= large
    return model


IDS = torch.tensor([[1, 5, 9, 13, 2, 7, 30, 41, 8, 8, 60, 3]])


def logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=IDS).logits[0]


def test_smoothing_folds_are_exact_in_float():
    """The norms absorb exactly what the layers they feed (q/k/v; gate and up)
    have their weight columns multiplied by: in float arithmetic the model's
    logits do not move."""
    from jupyter_codegen.engine.quantize import _Smoothing, input_peaks

    model = tiny_qwen2(large=30.0)
    want = logits(model)
    plan = _Smoothing(model, input_peaks(model, [IDS]), alpha=0.5)
    layer = model.model.layers[0]
    attn, mlp = layer.self_attn, layer.mlp
    smoothed = {attn.q_proj, attn.k_proj, attn.v_proj, mlp.gate_proj, mlp.up_proj}
    assert smoothed <= set(plan.inputs) and len(plan.inputs) == 2 * len(smoothed)
    # the large channels are the ones scaled down most
    s = plan.inputs[attn.q_proj]
    assert set(s.topk(2).indices.tolist()) == {5, 40}
    assert not torch.allclose(logits(model), want)  # the norms alone changed
    with torch.no_grad():
        for linear, scale in plan.inputs.items():
            linear.weight.mul_(scale)
    assert torch.allclose(logits(model), want, rtol=1e-4, atol=1e-4)


def test_quantize_int8_with_peaks_comes_closer_to_float32():
    from jupyter_codegen.engine.quantize import input_peaks, quantize_int8

    reference = tiny_qwen2(large=100.0)
    want = logits(reference)
    plain = tiny_qwen2(large=100.0)
    quantize_int8(plain)
    smoothed = tiny_qwen2(large=100.0)
    quantize_int8(smoothed, peaks=input_peaks(smoothed, [IDS]), token_outliers=4)
    # Each token's largest inputs leave the int8 product in the down projections only:
    # the k and v projections narrow too, but read a smoothed input
    for layer in smoothed.model.layers:
        k_proj = layer.self_attn.k_proj
        assert layer.mlp.down_proj.token_outliers == 4
        assert k_proj.in_features > k_proj.out_features and k_proj.token_outliers == 0
        assert layer.self_attn.v_proj.token_outliers == 0
    assert all(m.token_outliers == 0 for m in plain.modules() if isinstance(m, Int8Linear))
    assert rel_err(logits(smoothed), want) < rel_err(logits(plain), want) / 2
    # The peaks' hooks are gone
    assert not any(m._forward_pre_hooks for m in smoothed.modules())


class OnePlusNorm(torch.nn.Module):
    """Gemma's RMSNorm multiplies by (1 + weight): dividing the weight does
    not divide the output."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + self.weight)


def test_a_norm_that_does_not_scale_by_its_weight_is_left_alone():
    from jupyter_codegen.engine.quantize import _fold_into_norm

    norm = OnePlusNorm(32)
    before = norm.weight.detach().clone()
    assert not _fold_into_norm(norm, torch.rand(32) + 0.5)
    assert torch.allclose(norm.weight.detach(), before)
    plain = torch.nn.LayerNorm(32)
    with torch.no_grad():
        plain.bias.normal_()
    x = torch.randn(3, 32)
    want = plain(x).detach()
    s = torch.rand(32) + 0.5
    assert _fold_into_norm(plain, s)
    assert torch.allclose(plain(x).detach() * s, want, atol=1e-5)
