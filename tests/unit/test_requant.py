"""Prompts without the int8 copy of the 4-bit layers (``low_memory``,
``engine/local/requant.py`` and ``q4k_int8.c``): the kernel built here gives
the int8 copy's values bit for bit, in both of torch's int4 pack layouts; a
lean engine computes prompts as the default one does and runs every step
after them on the blocks; drafting, a wrong expected text or a prefetch
change nothing, and a right expected text is kept on the prompt's product;
without a compiler the copies stay and the status says why."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import run_python, tiny_engine  # noqa: E402
from gguf_fixtures import edge_q4_k, reference  # noqa: E402

from jupyter_codegen.engine.base import GenerationRequest, Segment  # noqa: E402
from jupyter_codegen.engine.local import int4, requant  # noqa: E402
from jupyter_codegen.engine.local.decode import RunLimits  # noqa: E402
from jupyter_codegen.engine.local.kernels import weight_only_supported  # noqa: E402
from jupyter_codegen.engine.local.quantize import Int8Linear, int8_supported  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (int8_supported() and weight_only_supported() and int4.int4_supported()),
    reason="torch without its CPU int8/int4 weight kernels",
)


@pytest.fixture(autouse=True, scope="module")
def kernel_cache(tmp_path_factory: pytest.TempPathFactory):
    """The kernel is built into a cache of this module's, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        requant.kernel.cache_clear()
        yield
    requant.kernel.cache_clear()


FIM = [
    Segment("<|fim_prefix|>", special=True),
    Segment("import json\n\ndef load(path):\n    "),
    Segment("<|fim_suffix|>", special=True),
    Segment("\n\nprint(load('x'))\n"),
    Segment("<|fim_middle|>", special=True),
]


def int8_layer(raw: np.ndarray) -> Int8Linear:
    """The int8 layer of these blocks, as loading makes it: the checkpoint
    holds their values in bfloat16."""
    values = reference(raw)
    linear = torch.nn.Linear(values.shape[1], values.shape[0], bias=False)
    linear.weight.data = values.to(torch.bfloat16)
    return Int8Linear(linear)


@pytest.mark.parametrize("rows, columns, seed", [(64, 256, 0), (128, 512, 1), (192, 768, 2)])
def test_the_kernel_gives_the_int8_copys_values_bit_for_bit(rows, columns, seed) -> None:
    assert requant.unavailable() is None
    raw = edge_q4_k(rows, columns, seed)
    layer = int8_layer(raw)
    packed = int4.Int4Weight(torch.from_numpy(raw)).packed
    source = requant.Int8FromBlocks(packed, torch.from_numpy(raw), layer.scale)
    got = source.weight()
    assert got.shape == layer.qweight.shape
    assert torch.equal(got, layer.qweight)
    # A layer dropped to its blocks multiplies as before
    x = torch.randn(5, columns)
    want = layer(x)
    layer.int8_source, kept = source, layer.qweight
    layer.register_buffer("qweight", None, persistent=False)
    assert torch.equal(layer(x), want)
    assert layer.int8_weight() is not kept


def test_the_other_pack_layout_too() -> None:
    """torch packs int4 weights in blocks of 64 rows with AVX-512 and of 32
    with AVX2; the kernel reads both (here AVX2's, in a process that runs
    torch's AVX2 kernels)."""
    done = run_python(
        """
        import torch
        from gguf_fixtures import edge_q4_k, reference
        from jupyter_codegen.engine.local import int4, requant
        from jupyter_codegen.engine.local.quantize import Int8Linear
        assert torch.backends.cpu.get_cpu_capability() == "AVX2"
        raw = edge_q4_k(96, 512, 7)
        linear = torch.nn.Linear(512, 96, bias=False)
        linear.weight.data = reference(raw).to(torch.bfloat16)
        layer = Int8Linear(linear)
        packed = int4.Int4Weight(torch.from_numpy(raw)).packed
        source = requant.Int8FromBlocks(packed, torch.from_numpy(raw), layer.scale)
        print(source.block, torch.equal(source.weight(), layer.qweight))
        """,
        env={"ATEN_CPU_CAPABILITY": "avx2"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["32", "True"]


def complete(engine, *, expected: str = "", cache_key: str | None = None, draft: int = 6):
    engine.decoder.max_draft = draft
    req = GenerationRequest(segments=FIM, max_new_tokens=16, expected=expected, cache_key=cache_key)
    return engine.generate(req, threading.Event())


def test_a_lean_engine_computes_prompts_as_the_int8_copies_do(q4_model_dir: Path) -> None:
    default = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4")
    lean = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4", low_memory=True)
    assert default.lean_layers == 0 and lean.lean_layers == lean.int4_layers == 14
    layers = [m for m in lean.model.modules() if isinstance(m, Int8Linear)]
    assert sum(m.qweight is None for m in layers) == 14
    info = lean.info().extra
    assert info["low_memory"] == {"layers": 14, "unavailable": None}
    assert "14 layers keep only the GGUF's 4-bit weights" in info["quantization"]
    int8_bytes = sum(m.int8_weight().numel() for m in layers if m.qweight is None)
    saved = default.info().extra["weight_bytes"] - info["weight_bytes"]
    assert int8_bytes * 0.85 < saved < int8_bytes  # (less the blocks' headers)
    # A prompt's pass gives the same logits, bit for bit
    ids = torch.tensor([[5, 17, 300, 42, 7, 99, 250, 11]])
    with torch.inference_mode():
        assert torch.equal(lean.model(ids).logits, default.model(ids).logits)


def test_a_lean_engines_steps_run_on_the_blocks(q4_model_dir: Path, monkeypatch) -> None:
    lean = tiny_engine(
        q4_model_dir, quantize="int8", int8_decode="int4", low_memory=True, prompt_cache_bytes=0
    )
    rows: list[int] = []
    real_mm = int4.Int4Weight.mm
    monkeypatch.setattr(
        int4.Int4Weight, "mm", lambda self, x: rows.append(len(x)) or real_mm(self, x)
    )
    result = complete(lean)
    text = result.candidates[0].text
    # Every step of the completion, never its prompt, went through the blocks
    assert result.candidates[0].tokens == 16 and rows and max(rows) <= 7
    assert len(rows) % lean.lean_layers == 0
    # Drafting gives the same completion
    assert complete(lean, draft=0).candidates[0].text == text
    # An expected text is verified with the prompt, on the prompt's kernel
    # (a wrong one here: the completion is the same)
    drafts: list[int] = []
    prefill = lean.decoder.prefill
    monkeypatch.setattr(
        lean.decoder,
        "prefill",
        lambda state, ids, limits, draft=None: (
            drafts.append(len(draft or [])) or prefill(state, ids, limits, draft)
        ),
    )
    rows.clear()
    assert complete(lean, expected="zzz = 1\n").candidates[0].text == text
    assert drafts[0] > 0


def test_a_right_expected_text_is_kept_on_the_prompts_product(q4_model_dir: Path) -> None:
    """Tokens drafted with the prompt are the int8 product's choices: those of
    the default engine, whose every step is on that product."""
    default = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4", prompt_cache_bytes=0)
    lean = tiny_engine(
        q4_model_dir, quantize="int8", int8_decode="int4", low_memory=True, prompt_cache_bytes=0
    )
    prompt = lean.prompt_ids(GenerationRequest(segments=FIM, max_new_tokens=12))
    want, _ = greedy_tokens(default, prompt, draft=[], weight_only=False)
    got, kept = greedy_tokens(lean, prompt, draft=want[:8], weight_only=True)
    assert kept == 8 and got[:9] == want[:9]


def greedy_tokens(engine, prompt: list[int], *, draft: list[int], weight_only: bool):
    """Greedy decoding through the engine's decoder, ``draft`` run with the
    prompt: (12 tokens, drafted tokens kept)."""
    out: list[int] = []
    decoder = engine.decoder
    with torch.inference_mode():
        state = decoder.new_state()
        limits = RunLimits(12, threading.Event())
        logits = decoder.prefill(state, prompt, limits, draft)
        kept = decoder.greedy(
            state,
            logits,
            limits,
            lambda _i, t: out.append(t) is not None,
            drafting=False,
            draft=draft,
            weight_only=weight_only,
            draft_on_prompt_kernel=True,
        )
    return out, kept


def test_a_prefetched_prompt_gives_the_same_completion(q4_model_dir: Path) -> None:
    lean = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4", low_memory=True)
    cold = complete(lean)
    lean.prompt_cache.clear()
    prefix = GenerationRequest(segments=FIM[:2], max_new_tokens=0, cache_key="nb")
    lean.generate(prefix, threading.Event())
    warm = complete(lean, cache_key="nb")
    assert warm.cached_tokens > 0
    assert warm.candidates[0].text == cold.candidates[0].text
    # What the steps computed is not kept: the cache holds the prompt's kernel only
    again = complete(lean, cache_key="nb")
    assert again.cached_tokens == again.prompt_tokens - 1


@pytest.mark.parametrize(
    "compiler, why",
    [("/nonexistent/cc", "no C compiler"), ("false", "could not build")],
)
def test_without_a_compiler_the_int8_copies_stay(
    q4_model_dir: Path, tmp_path: Path, monkeypatch, compiler: str, why: str
) -> None:
    monkeypatch.setenv("CC", compiler)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    requant.kernel.cache_clear()
    try:
        engine = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4", low_memory=True)
    finally:
        requant.kernel.cache_clear()
    assert engine.lean_layers == 0 and engine.int4_layers == 14
    assert why in engine.info().extra["low_memory"]["unavailable"]
    assert complete(engine).candidates[0].tokens == 16


def test_low_memory_needs_int8_and_the_4_bit_replies(q4_model_dir: Path) -> None:
    engine = tiny_engine(q4_model_dir, quantize="int8", int8_decode="weight-only", low_memory=True)
    assert engine.lean_layers == 0
    assert "int8_decode = 'int4'" in engine.info().extra["low_memory"]["unavailable"]
    floats = tiny_engine(q4_model_dir, quantize="none", low_memory=True)
    assert "int8 weights on the CPU" in floats.info().extra["low_memory"]["unavailable"]
