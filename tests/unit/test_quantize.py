"""int8 Linear layers (engine/quantize.py): per-token activation scales keep
ordinary tokens exact next to an outlier, rotated inputs keep a token's
ordinary channels exact next to its large ones, the int32 product matches
float32 within int8 rounding, and shapes, bias and zero rows behave."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from jupyter_codegen.engine.local.calibration import calibrate  # noqa: E402
from jupyter_codegen.engine.local.quantize import (  # noqa: E402
    Int8Linear,
    int8_supported,
    quantize_int8,
    weight_bytes,
)
from jupyter_codegen.engine.local.rotation import Rotation, hadamard  # noqa: E402

pytestmark = pytest.mark.skipif(not int8_supported(), reason="torch without _int_mm on the CPU")


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def make(in_f: int, out_f: int, bias: bool = False, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(in_f, out_f, bias=bias)


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize(
    "rows, in_f, out_f, bias",
    [(1, 64, 32, False), (7, 128, 96, True), (65, 256, 64, False), (3, 48, 200, True)],
)
def test_matches_float32_within_int8_rounding(rows, in_f, out_f, bias, rotate):
    linear = make(in_f, out_f, bias)
    x = torch.randn(rows, in_f)
    got = Int8Linear(linear, rotate=rotate)(x)
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


@pytest.mark.parametrize("rotate", [False, True])
def test_keeps_leading_dimensions_dtype_and_zero_rows(rotate):
    linear = make(32, 16, bias=True)
    x = torch.randn(2, 5, 32, dtype=torch.bfloat16)
    x[1, 2] = 0
    got = Int8Linear(linear, rotate=rotate)(x)
    assert got.shape == (2, 5, 16) and got.dtype == torch.bfloat16
    assert torch.allclose(got[1, 2].float(), linear.bias.detach(), atol=1e-2)


@pytest.mark.parametrize("rotate", [False, True])
def test_tied_weight_is_left_alone_and_bytes_are_counted(rotate):
    linear = make(64, 32)
    before = linear.weight.detach().clone()
    q = Int8Linear(linear, rotate=rotate)
    assert torch.equal(linear.weight.detach(), before)  # quantizing never edits the source
    assert q.qweight.dtype == torch.int8
    model = torch.nn.Sequential(q)
    assert weight_bytes(model) == 64 * 32 + 32 * 4


class TinyLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 8)
        self.body = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU())
        self.lm_head = torch.nn.Linear(8, 4)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.embed

    def set_input_embeddings(self, value: torch.nn.Module) -> None:
        self.embed = value


def test_quantize_int8_reports_its_progress_layer_by_layer():
    torch.manual_seed(0)
    model = TinyLM()
    seen: list[float] = []
    assert quantize_int8(model, on_fraction=seen.append) == 2
    assert seen == [0.5, 1.0]
    assert all(not isinstance(m, torch.nn.Linear) for m in model.modules())
    assert model.lm_head.rotation is None and model.body[0].rotation is None


def test_quantize_int8_rotates_every_layer_when_asked():
    model = TinyLM()
    assert quantize_int8(model, rotate=True) == 2
    assert model.lm_head.rotation is not None and model.body[0].rotation is not None


@pytest.mark.parametrize("n", [1, 2, 4, 64, 128])
def test_hadamard_is_orthonormal_and_symmetric(n):
    h = hadamard(n)
    assert torch.allclose(h @ h.t(), torch.eye(n), atol=1e-6)
    assert torch.equal(h, h.t())
    assert torch.equal(h.abs(), torch.full((n, n), n**-0.5))


@pytest.mark.parametrize("n", [0, 3, 96])
def test_hadamard_refuses_orders_that_are_not_powers_of_two(n):
    with pytest.raises(ValueError, match="power of two"):
        hadamard(n)


@pytest.mark.parametrize(
    "features, block", [(256, 128), (8960, 128), (48, 16), (1536, 128), (7, 1)]
)
def test_rotation_blocks_divide_the_width_and_keep_lengths(features, block):
    rotation = Rotation(features)
    assert rotation.block == block
    x = torch.randn(5, features)
    rotated = rotation(x)
    assert rotated.shape == x.shape
    assert torch.allclose(rotated.norm(dim=1), x.norm(dim=1), rtol=1e-5)
    # The same rotation for every layer of a width, every time
    assert torch.equal(Rotation(features)(x), rotated)


def test_rotated_weight_gives_the_same_float_product_chunk_by_chunk():
    """x W^T = (x R)(W R)^T, and rotating the weight a few rows at a time is
    the same as all at once."""
    rotation = Rotation(256)
    w = torch.randn(70, 256)
    x = torch.randn(9, 256)
    whole = rotation(w)
    chunked = rotation.rotate_(w.clone(), rows=16)
    assert torch.allclose(chunked, whole, atol=1e-6)
    assert torch.allclose(rotation(x) @ chunked.t(), x @ w.t(), atol=1e-4)


def with_large_channels(rows: int, in_f: int, channels: list[int], seed: int = 1) -> torch.Tensor:
    """Inputs whose ``channels`` are 50 times the rest (the normalized hidden
    state of a real model has a few such channels)."""
    torch.manual_seed(seed)
    x = torch.randn(rows, in_f)
    x[:, channels] *= 50.0
    return x


def with_moving_large_inputs(rows: int, in_f: int, seed: int = 2) -> torch.Tensor:
    """Inputs where each row has its own 4 inputs 80 times the rest (an MLP's
    down projection has such inputs, moving from token to token)."""
    torch.manual_seed(seed)
    x = torch.randn(rows, in_f)
    for row in range(rows):
        x[row, torch.randperm(in_f)[:4]] *= 80.0
    return x


def test_rotation_keeps_large_fixed_channels_from_coarsening_the_rest():
    linear = make(256, 96, bias=True)
    x = with_large_channels(12, 256, [3, 77, 200])
    want = linear(x).detach()
    plain = rel_err(Int8Linear(linear)(x), want)
    rotated = rel_err(Int8Linear(linear, rotate=True)(x), want)
    assert rotated < plain / 3


def test_rotation_helps_where_the_large_inputs_move_from_token_to_token():
    """An MLP's down projection: each token has its own few large inputs."""
    linear = make(512, 64)
    x = with_moving_large_inputs(9, 512)
    want = linear(x).detach()
    q = Int8Linear(linear, rotate=True)
    assert rel_err(q(x), want) < rel_err(Int8Linear(linear)(x), want) / 3
    # Row by row or all at once, the same values (within float rounding)
    one_by_one = torch.cat([q(x[i : i + 1]) for i in range(9)])
    assert torch.allclose(one_by_one, q(x), rtol=1e-5, atol=1e-5)


def test_sibling_layers_quantize_a_shared_input_once(monkeypatch):
    """q, k and v read one tensor: it is rotated and quantized once, and each
    layer's product is the one it computes alone."""
    import jupyter_codegen.engine.local.rotation as rotation

    layers = [Int8Linear(make(256, n, seed=n), rotate=True) for n in (64, 32, 32)]
    x = torch.randn(5, 256)
    alone = [layer(x.clone()) for layer in layers]
    calls = []
    real = rotation.quantize_rows
    monkeypatch.setattr(rotation, "quantize_rows", lambda *a: calls.append(1) or real(*a))
    together = [layer(x) for layer in layers]
    assert len(calls) == 1
    assert all(torch.equal(a, b) for a, b in zip(alone, together, strict=True))
    # Another tensor with the same values is quantized again (matched by identity)
    layers[0](x.clone())
    assert len(calls) == 2


def test_kept_columns_leave_the_int8_product_and_sharpen_the_rest():
    linear = make(256, 96, bias=True)
    x = with_large_channels(12, 256, [3, 77, 200])
    want = linear(x).detach()
    q = Int8Linear(linear)
    coarse = rel_err(q(x), want)
    q.keep_columns(torch.tensor([200, 3, 77, 3]))
    assert q.static_columns is not None and q.static_columns.tolist() == [3, 77, 200]
    fine = rel_err(q(x), want)
    assert fine < coarse / 3
    # Every channel kept: the product is the float one with int8 weights
    q.keep_columns(torch.arange(256))
    assert rel_err(q(x), want) < 0.01


def test_each_tokens_own_largest_inputs_leave_the_int8_product():
    """Large inputs that move from token to token (an MLP's down projection):
    taking each row's largest out helps where fixed columns cannot."""
    linear = make(512, 64)
    x = with_moving_large_inputs(9, 512)
    want = linear(x).detach()
    q = Int8Linear(linear)
    coarse = rel_err(q(x), want)
    q.token_outliers = 8
    fine = rel_err(q(x), want)
    assert fine < coarse / 3
    # Row by row or all at once, the same values (within float rounding)
    one_by_one = torch.cat([q(x[i : i + 1]) for i in range(9)])
    assert torch.allclose(one_by_one, q(x), rtol=1e-5, atol=1e-5)


def test_calibration_keeps_the_largest_channels_of_widening_layers_and_per_token_of_narrowing():
    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(50, 32)
            self.up = torch.nn.Linear(32, 128)
            self.down = torch.nn.Linear(128, 32)

        def forward(self, input_ids: torch.Tensor, use_cache: bool = False) -> torch.Tensor:
            h = self.embed(input_ids)
            h[..., 5] *= 40.0  # one channel large for every token
            return self.down(torch.relu(self.up(h)))

    torch.manual_seed(3)
    model = Block()
    model.up, model.down = Int8Linear(model.up), Int8Linear(model.down)
    assert calibrate(model, [torch.tensor([[1, 2, 3, 4, 5, 6]])], static=2, per_token=3) == 2
    assert model.up.static_columns is not None and 5 in model.up.static_columns.tolist()
    assert len(model.up.static_columns) == 2 and model.up.token_outliers == 0
    assert model.down.static_columns is None and model.down.token_outliers == 3
    # The hooks are gone: calibrating again changes nothing it should not
    assert not model.up._forward_pre_hooks and not model.down._forward_pre_hooks
