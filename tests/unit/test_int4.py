"""A reply's steps on the GGUF's own 4-bit blocks (``engine/local/int4.py``):
the kernel computes with the file's values, within the rounding of its
scales to bfloat16; the blocks are read from a GGUF file by module name and
kept beside a model; the engine runs only a chat reply's steps on them, the
embeddings come from them unchanged, and drafting gives the same reply."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_engine  # noqa: E402
from gguf_fixtures import random_q4_k, reference, write_gguf  # noqa: E402

from jupyter_codegen.engine.base import (  # noqa: E402
    ChatMessage,
    EngineOptions,
    GenerationRequest,
    Segment,
)
from jupyter_codegen.engine.local import int4  # noqa: E402
from jupyter_codegen.engine.local.engine import TransformersEngine  # noqa: E402
from jupyter_codegen.engine.local.kernels import weight_only_supported  # noqa: E402
from jupyter_codegen.engine.local.quantize import int8_supported  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (int8_supported() and weight_only_supported() and int4.int4_supported()),
    reason="torch without its CPU int8/int4 weight kernels",
)

CODE = "import json\n\ndef load(path):\n    return json.load(path)\n"
ASK = [ChatMessage("user", "Explain:\n" + CODE)]


FIM = [
    Segment("<|fim_prefix|>", special=True),
    Segment("def load(path):\n    "),
    Segment("<|fim_middle|>", special=True),
]


@pytest.mark.parametrize("rows, columns, seed", [(16, 256, 0), (48, 512, 1), (32, 768, 2)])
def test_the_kernel_computes_with_the_files_values(rows: int, columns: int, seed: int) -> None:
    raw = random_q4_k(rows, columns, seed)
    want = reference(raw)
    weight = int4.Int4Weight(torch.from_numpy(raw))
    got = weight.dequantized()
    # Within the rounding of each group's scale and zero (8 * scale - minimum)
    # to bfloat16, and of the product to bfloat16: a wrong zero or a swapped
    # nibble order is off by whole quantization steps
    _, scale, minimum = int4.gguf_blocks.q4_k(torch.from_numpy(raw))
    zero = (8 * scale - minimum).abs().repeat_interleave(32, dim=1)
    bound = (15 * scale.repeat_interleave(32, dim=1) + zero + want.abs()) * 2.0**-8
    assert torch.all((got - want).abs() <= bound)
    # (which a weight off by a step would break: the bound is that tight)
    shifted = want + scale.repeat_interleave(32, dim=1)
    assert not torch.all((got - shifted).abs() <= bound)

    # A product against float64: each row on its own, whatever rows come with it
    x = torch.randn(7, columns).to(torch.bfloat16)
    out = weight.mm(x)
    assert out.shape == (7, rows) and out.dtype == torch.bfloat16
    exact = x.double() @ want.double().t()
    assert float((out.double() - exact).norm() / exact.norm()) < 0.01
    assert torch.equal(out, torch.cat([weight.mm(x[i : i + 1]) for i in range(7)]))


def test_every_projection_maps_to_the_module_gguf_py_names() -> None:
    from gguf import MODEL_ARCH, get_tensor_name_map

    names = get_tensor_name_map(MODEL_ARCH.QWEN2, 4)
    for gguf_name in int4.PROJECTIONS:
        module = int4.module_name(f"blk.3.{gguf_name}.weight")
        assert module is not None and names.get_name(module) == f"blk.3.{gguf_name}"
    assert names.get_name(int4.module_name("token_embd.weight")) == "token_embd"
    assert int4.module_name("blk.3.attn_norm.weight") is None
    assert int4.module_name("output.weight") is None


def test_blocks_are_read_from_a_gguf_by_module_and_kept_beside_a_model(tmp_path: Path) -> None:
    q = random_q4_k(32, 256, 3)
    e = random_q4_k(16, 256, 4)
    q6 = np.zeros((32, 210), dtype=np.uint8)
    norm = np.ones(256, dtype=np.float32)
    tensors = {
        "blk.0.attn_q.weight": (q, "Q4_K"),
        "blk.0.ffn_down.weight": (q6, "Q6_K"),  # not 4-bit: left out
        "token_embd.weight": (e, "Q4_K"),
        "blk.0.attn_norm.weight": (norm, "F32"),
    }
    path = write_gguf(tmp_path / "m.gguf", "qwen2", tensors)
    blocks = int4.read_q4_k_blocks(path)
    assert set(blocks) == {"model.layers.0.self_attn.q_proj", "model.embed_tokens"}
    assert np.array_equal(blocks["model.layers.0.self_attn.q_proj"].numpy(), q)
    assert np.array_equal(blocks["model.embed_tokens"].numpy(), e)
    # Kept beside a converted model, and found there
    out = tmp_path / "converted"
    out.mkdir()
    int4.write_blocks(path, out / int4.BLOCKS_FILE)
    kept = int4.blocks_for(str(out))
    assert set(kept) == set(blocks)
    assert torch.equal(kept["model.embed_tokens"], blocks["model.embed_tokens"])
    assert set(int4.blocks_for(str(tmp_path), "m.gguf")) == set(blocks)
    # An architecture whose GGUF stores q/k permuted (llama) is not read;
    # a model without blocks has none
    other = write_gguf(tmp_path / "llama.gguf", "llama", {"blk.0.attn_q.weight": (q, "Q4_K")})
    assert len(int4.read_q4_k_blocks(other)) == 0
    assert len(int4.blocks_for(str(tmp_path / "nothing"))) == 0


def reply(engine, draft: int) -> tuple[str, int]:
    engine.decoder.max_draft = draft
    engine.prompt_cache.clear()
    req = GenerationRequest(max_new_tokens=24, messages=ASK)
    result = engine.generate(req, threading.Event())
    return result.candidates[0].text, result.candidates[0].tokens


def test_a_reply_runs_on_the_4_bit_blocks_and_prompts_do_not(q4_model_dir: Path, monkeypatch):
    engine = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4", draft_tokens=6)
    assert engine.int4_layers == 2 * 7
    assert "4-bit weights (14 layers)" in engine.info().extra["quantization"]
    assert isinstance(engine.model.get_input_embeddings(), int4.Q4KEmbedding)
    rows: list[int] = []
    real_mm = int4.Int4Weight.mm
    monkeypatch.setattr(
        int4.Int4Weight, "mm", lambda self, x: rows.append(len(x)) or real_mm(self, x)
    )

    text, tokens = reply(engine, 6)
    # Every step after the prompt went through the blocks, a few rows at a
    # time (a step and its drafts), never the prompt's
    assert tokens == 24 and rows and max(rows) <= 7
    assert len(rows) % engine.int4_layers == 0
    # Drafting gives the same reply as one token at a time
    assert reply(engine, 0) == (text, tokens)

    # A completion never does
    rows.clear()
    req = GenerationRequest(segments=FIM, max_new_tokens=8)
    engine.generate(req, threading.Event())
    assert rows == []


def test_the_blocks_change_nothing_but_the_replies_kernel(q4_model_dir: Path, tmp_path: Path):
    plain = tmp_path / "plain"
    shutil.copytree(q4_model_dir, plain)
    (plain / int4.BLOCKS_FILE).unlink()
    with_blocks = tiny_engine(q4_model_dir, quantize="int8", int8_decode="weight-only")
    without = tiny_engine(plain, quantize="int8", int8_decode="weight-only")
    # The embeddings from the blocks are the checkpoint's (here float32,
    # rounded to bfloat16 as the converted embedded model holds them)
    assert with_blocks.int4_layers == 0
    assert isinstance(with_blocks.model.get_input_embeddings(), int4.Q4KEmbedding)
    assert with_blocks.info().extra["weight_bytes"] < without.info().extra["weight_bytes"]
    ids = torch.tensor([[5, 17, 300, 42, 7]])
    emb = with_blocks.model.get_input_embeddings()(ids)
    want = without.model.get_input_embeddings()(ids).to(torch.bfloat16).float()
    assert torch.equal(emb, want)
    # So a completion is the same with the blocks and without
    req = GenerationRequest(segments=FIM, max_new_tokens=8)
    texts = [e.generate(req, threading.Event()).candidates[0].text for e in (with_blocks, without)]
    assert texts[0] == texts[1]
    # The 4-bit copies are made only for int4 replies, never with rotated inputs
    for options in ({"int8_decode": "per-token"}, {"int8_decode": "int4", "int8_rotation": True}):
        assert tiny_engine(q4_model_dir, quantize="int8", **options).int4_layers == 0


def test_a_reply_step_on_the_blocks_is_the_files_model(q4_model_dir: Path) -> None:
    from jupyter_codegen.engine.local.kernels import weight_only_products

    # The fixture's float weights are the blocks' values: float32 is the file's model
    exact = TransformersEngine.load(
        str(q4_model_dir), name="tiny", device="cpu", dtype="float32", options=EngineOptions()
    )
    blocks = tiny_engine(q4_model_dir, quantize="int8", int8_decode="int4")
    int8 = tiny_engine(q4_model_dir, quantize="int8", int8_decode="weight-only")
    ids = torch.tensor([[5, 17, 300, 42, 7, 99, 250]])
    with torch.inference_mode():
        want = exact.model(ids).logits.double()
        with weight_only_products():
            errors = [
                float((e.model(ids).logits.double() - want).norm() / want.norm())
                for e in (blocks, int8)
            ]
    # A wrong block (another layer's, a swapped nibble) would be far off
    assert errors[0] < 0.01
    # Layer by layer, from the same bfloat16 inputs, the blocks are the file's
    # weights but for their scales' rounding: closer than the int8 weights,
    # which round the same values once more
    layers = dict(blocks.model.named_modules())
    x = torch.randn(5, 512).to(torch.bfloat16)
    for name, linear in exact.model.named_modules():
        if not (isinstance(linear, torch.nn.Linear) and name in layers and name != "lm_head"):
            continue
        layer = layers[name]
        inputs = x[:, : linear.in_features]
        want = inputs.double() @ linear.weight.detach().double().t()
        if linear.bias is not None:
            want += linear.bias.detach().double()
        with weight_only_products():
            on_blocks = layer(inputs.float()).double()
            weight, layer.int4 = layer.int4, None
            on_int8 = layer(inputs.float()).double()
            layer.int4 = weight
        err_blocks = float((on_blocks - want).norm() / want.norm())
        err_int8 = float((on_int8 - want).norm() / want.norm())
        assert err_blocks < 0.5 * err_int8, name


def corrupt(q4_model_dir: Path, tmp_path: Path, change) -> Path:
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(q4_model_dir, broken)
    blocks = load_file(str(broken / int4.BLOCKS_FILE))
    change(blocks)
    save_file(blocks, str(broken / int4.BLOCKS_FILE))
    return broken


def other_values(blocks: dict) -> None:
    name = "model.layers.1.mlp.down_proj"
    blocks[name] = torch.from_numpy(random_q4_k(*blocks[name].shape[:1], 512, 99))


def other_shape(blocks: dict) -> None:
    name = "model.layers.0.mlp.up_proj"
    blocks[name] = blocks[name][:16].contiguous()


def other_embeddings(blocks: dict) -> None:
    blocks["model.embed_tokens"] = torch.flip(blocks["model.embed_tokens"], dims=[0]).contiguous()


@pytest.mark.parametrize("change", [other_values, other_shape, other_embeddings])
def test_blocks_that_are_not_the_models_are_not_used(q4_model_dir, tmp_path, caplog, change):
    # Blocks of another checkpoint (a fine-tuned copy saved over the folder):
    # the model loads as it would without them, and the log says why
    broken = corrupt(q4_model_dir, tmp_path, change)
    engine = tiny_engine(broken, quantize="int8", int8_decode="int4")
    assert engine.int4_layers == 0
    assert not isinstance(engine.model.get_input_embeddings(), int4.Q4KEmbedding)
    assert "4-bit weights" not in engine.info().extra["quantization"]
    assert "4-bit blocks are not used" in caplog.text and "Q4_K blocks" in caplog.text
    assert reply(engine, 0)[1] == 24
