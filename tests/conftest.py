"""Shared fixtures: a tiny random-weight Qwen2 model that the suite builds itself."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_model(out: Path) -> Path:
    """A 2-layer Qwen2 with random weights and a small byte-level BPE tokenizer
    trained here on standard-library source. Its special tokens are Qwen's, so
    it takes the Qwen FIM path; their output rows are zeroed so that greedy
    decoding never picks one and generations run to max_new_tokens."""
    import collections
    import json as json_mod
    import textwrap

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    corpus = [inspect.getsource(m) for m in (collections, json_mod, textwrap, inspect)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=800,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=False,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    )
    model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        for name in SPECIAL_TOKENS:
            model.lm_head.weight[tokenizer.convert_tokens_to_ids(name)] = 0.0
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture
def codegen_overrides() -> dict:
    """Override by parametrizing: ``@pytest.mark.parametrize("codegen_overrides", [{...}])``.
    The key ``env`` sets environment variables for the server."""
    return {}


@pytest.fixture
def codegen_config(
    tiny_model_dir: Path, tmp_path: Path, codegen_overrides: dict, monkeypatch: pytest.MonkeyPatch
) -> dict:
    """CodegenApp settings for server tests; fixtures may update it before the server starts."""
    monkeypatch.delenv("JUPYTER_CODEGEN_MODEL", raising=False)
    overrides = dict(codegen_overrides)
    for key, value in overrides.pop("env", {}).items():
        monkeypatch.setenv(key, value)
    return {
        "model": str(tiny_model_dir),
        "device": "cpu",
        "dtype": "float32",
        "cache_dir": str(tmp_path / "cache"),
        "completion_max_tokens": 4096,
        "max_request_bytes": 64 * 1024,
        "context_tokens": 512,
        **overrides,
    }


@pytest.fixture
def jp_server_config(codegen_config: dict) -> dict:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_codegen": True}},
        "CodegenApp": codegen_config,
    }


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    """Parse a server-sent-events body into (event, data) pairs."""
    events = []
    for block in body.decode().split("\n\n"):
        name, data = "message", None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
        if data is not None:
            events.append((name, data))
    return events
