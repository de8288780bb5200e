"""Chat replies on the int8 weights alone (``kernels.weight_only_products``):
the layer's product is its int8 weight times the float32 inputs, each row on
its own; the engine runs a chat reply's steps that way and its prompt, and
every completion, on the per-token int8 product; drafting and prompt reuse
still give what plain decoding from scratch gives."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_engine  # noqa: E402

from jupyter_codegen.engine.base import ChatMessage, GenerationRequest, Segment  # noqa: E402
from jupyter_codegen.engine.local.decode import chunk_sizes  # noqa: E402
from jupyter_codegen.engine.local.kernels import (  # noqa: E402
    KERNEL,
    weight_only_products,
    weight_only_supported,
)
from jupyter_codegen.engine.local.quantize import Int8Linear, int8_supported  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (int8_supported() and weight_only_supported()),
    reason="torch without _int_mm or _weight_int8pack_mm on the CPU",
)

CODE = "import json\n\ndef load(path):\n    with open(path) as fh:\n        return json.load(fh)\n"
ASK = [ChatMessage("system", "Explain code."), ChatMessage("user", (CODE + "\n") * 3)]


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).norm() / b.norm())


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize("in_f, out_f, bias", [(64, 32, False), (128, 96, True), (48, 200, True)])
def test_weight_only_is_the_int8_weight_times_the_inputs_row_by_row(in_f, out_f, bias, rotate):
    torch.manual_seed(0)
    layer = Int8Linear(torch.nn.Linear(in_f, out_f, bias=bias), rotate=rotate)
    x = torch.randn(7, in_f)
    inputs = layer.rotation(x) if layer.rotation is not None else x
    # The kernel takes bfloat16 inputs: from those, the product is exact but
    # for the rounding of its output to bfloat16
    inputs = inputs.to(torch.bfloat16)
    want = inputs.double() @ (layer.qweight.double() * layer.scale.double()[:, None]).t()
    if bias:
        want += layer.bias.double()
    with weight_only_products():
        got = layer(x)
        one_by_one = torch.cat([layer(x[i : i + 1]) for i in range(len(x))])
    assert not KERNEL.weight_only  # only within the block
    # Each row's result is the same whatever rows come with it: a draft
    # verified in one pass gets what one token at a time would. (Not so for
    # the rotation's float product, so the engine does not combine the two.)
    assert torch.equal(got, one_by_one) or rotate
    assert rel_err(got, want) < 2**-8
    per_token = layer(x)  # the default again: inputs rounded to int8 per token
    assert rel_err(per_token, want) > 2 * rel_err(got, want)


@pytest.fixture
def kernel_rows(monkeypatch):
    """The rows of every per-token int8 product and weight-only product run."""
    rows: dict[str, list[int]] = {"per_token": [], "weight_only": []}
    int_mm, weight_only = torch._int_mm, torch._weight_int8pack_mm

    def counted_int_mm(a, b):
        rows["per_token"].append(a.shape[0])
        return int_mm(a, b)

    def counted_weight_only(a, b, scales):
        rows["weight_only"].append(a.shape[0])
        return weight_only(a, b, scales)

    monkeypatch.setattr(torch, "_int_mm", counted_int_mm)
    monkeypatch.setattr(torch, "_weight_int8pack_mm", counted_weight_only)
    return rows


def chat(engine, messages=ASK, tokens: int = 16, **fields):
    request = GenerationRequest(max_new_tokens=tokens, messages=messages, cache_key="nb", **fields)
    return engine.generate(request, threading.Event())


def test_a_chat_reply_runs_weight_only_and_its_prompt_and_completions_per_token(
    tiny_model_dir: Path, kernel_rows
):
    engine = tiny_engine(tiny_model_dir, quantize="int8", prompt_cache_bytes=0)
    assert "chat replies weight-only" in str(engine.info().extra["quantization"])
    layers = sum(isinstance(m, Int8Linear) for m in engine.model.modules())
    prompt = len(engine.prompt_ids(GenerationRequest(max_new_tokens=1, messages=ASK)))
    for rows in kernel_rows.values():
        rows.clear()  # (calibration's pass and the support check while loading)
    result = chat(engine)
    assert result.candidates[0].tokens == 16
    # The prompt: per-token products over each chunk's rows (the output
    # layer over its last row only)
    chunks = chunk_sizes(prompt, engine.decoder.chunk_tokens)
    assert len(chunks) > 1
    assert kernel_rows["per_token"] == [n for c in chunks for n in [c] * (layers - 1) + [1]]
    # Each later step: weight-only, one token and at most 6 drafted ones
    steps = kernel_rows["weight_only"]
    assert steps and len(steps) % layers == 0 and max(steps) <= 7
    assert not KERNEL.weight_only

    kernel_rows["per_token"].clear()
    kernel_rows["weight_only"].clear()
    fim = [Segment("<|fim_prefix|>", special=True), Segment(CODE), Segment("<|fim_middle|>", True)]
    engine.generate(GenerationRequest(max_new_tokens=8, segments=fim), threading.Event())
    assert kernel_rows["per_token"] and kernel_rows["weight_only"] == []

    per_token = tiny_engine(tiny_model_dir, quantize="int8", int8_decode="per-token")
    assert "weight-only" not in str(per_token.info().extra["quantization"])
    kernel_rows["per_token"].clear()
    kernel_rows["weight_only"].clear()  # (the support check while loading)
    chat(per_token)
    assert kernel_rows["weight_only"] == [] and len(kernel_rows["per_token"]) > layers
    rotated = tiny_engine(tiny_model_dir, quantize="int8", int8_rotation=True)
    assert "weight-only" not in str(rotated.info().extra["quantization"])
    kernel_rows["weight_only"].clear()
    chat(rotated)
    assert kernel_rows["weight_only"] == []


def test_drafting_keeps_the_weight_only_reply_token_for_token(tiny_model_dir: Path):
    plain = tiny_engine(tiny_model_dir, quantize="int8", draft_tokens=0, prompt_cache_bytes=0)
    drafting = tiny_engine(tiny_model_dir, quantize="int8", draft_tokens=6, prompt_cache_bytes=0)
    for messages in (ASK, [ChatMessage("user", "data = load('a.json')\n" * 4)]):
        [a] = chat(plain, messages, 40).candidates
        [b] = chat(drafting, messages, 40).candidates
        assert (a.text, a.tokens, a.finish_reason) == (b.text, b.tokens, b.finish_reason)
    assert drafting.decoder.drafted_kept > 0 and plain.decoder.drafted_kept == 0


def test_a_follow_up_reuses_the_prompt_only_and_answers_as_from_scratch(tiny_model_dir: Path):
    """The reply's keys and values came from the other kernel: the cache keeps
    the prompt, so a follow-up that repeats the reply computes it as a prompt."""
    reusing = tiny_engine(tiny_model_dir, quantize="int8")
    scratch = tiny_engine(tiny_model_dir, quantize="int8", prompt_cache_bytes=0)
    first = chat(reusing)
    prompt = len(reusing.prompt_ids(GenerationRequest(max_new_tokens=1, messages=ASK)))
    reply = first.candidates[0].text
    follow = [*ASK, ChatMessage("assistant", reply), ChatMessage("user", "And then?")]
    got, want = chat(reusing, follow), chat(scratch, follow)
    assert 0 < got.cached_tokens <= prompt and want.cached_tokens == 0
    assert [(c.text, c.tokens) for c in got.candidates] == [
        (c.text, c.tokens) for c in want.candidates
    ]


def test_a_cancelled_weight_only_reply_leaves_the_thread_on_the_default(tiny_model_dir: Path):
    engine = tiny_engine(tiny_model_dir, quantize="int8", prompt_cache_bytes=0)
    cancel = threading.Event()
    seen: list[str] = []

    def on_delta(_index: int, text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            cancel.set()

    request = GenerationRequest(max_new_tokens=64, messages=ASK)
    result = engine.generate(request, cancel, on_delta)
    assert result.candidates[0].finish_reason == "cancelled"
    assert not KERNEL.weight_only
