"""Shared fixtures: a tiny random-weight Qwen2 model that the suite builds itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tiny_model import build_tiny_model

# The evaluation harness (evals/) is not installed: reach it from the checkout.
# Appended, so that jupyter_codegen still comes from the installed package.
sys.path.append(str(Path(__file__).resolve().parents[1]))

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def tiny_engine(model_dir: Path, **options: Any) -> Any:
    """The tiny model in a TransformersEngine on the CPU, with these EngineOptions."""
    from jupyter_codegen.engine.base import EngineOptions
    from jupyter_codegen.engine.local.engine import TransformersEngine

    return TransformersEngine.load(
        str(model_dir), name="tiny", device="cpu", options=EngineOptions(**options)
    )


def text_check(predicate: Callable[[str], bool]) -> Callable[[int, str], bool]:
    """A stop check (engines pass it each candidate's new text) that asks
    ``predicate`` about the candidate's whole text so far."""
    texts: dict[int, str] = {}

    def check(index: int, delta: str) -> bool:
        texts[index] = texts.get(index, "") + delta
        return predicate(texts[index])

    return check


def run_python(
    code: str,
    timeout: float = 120,
    flags: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a fresh interpreter that sees what this one
    imports, for what depends on a process's state (imports, the heap);
    ``flags`` go to the interpreter (``-O``), ``env`` adds to its environment."""
    return subprocess.run(
        [sys.executable, *(flags or []), "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def q4_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 wide enough for Q4_K rows (256 channels) whose projections
    and embeddings are the dequantized values of random Q4_K blocks, kept
    beside it as a converted embedded model keeps them."""
    import torch
    from gguf_fixtures import random_q4_k, reference
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from jupyter_codegen.engine.local import int4

    out = tmp_path_factory.mktemp("tiny-q4")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = Qwen2Config.from_pretrained(tiny_model_dir)
    config.hidden_size, config.intermediate_size = 256, 512
    model = Qwen2ForCausalLM(config)
    blocks: dict[str, torch.Tensor] = {}
    seed = 10
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.startswith("model.layers.") and isinstance(module, torch.nn.Linear):
                target = module.weight
            elif name == "model.embed_tokens":
                target = module.weight
            else:
                continue
            raw = random_q4_k(target.shape[0], target.shape[1], seed)
            seed += 1
            target.copy_(reference(raw))
            blocks[name] = torch.from_numpy(raw)
    model.save_pretrained(out)  # (float32: the same values)
    tokenizer.save_pretrained(out)
    save_file(blocks, str(out / int4.BLOCKS_FILE))
    return out


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
        "explain_max_tokens": 4096,
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
