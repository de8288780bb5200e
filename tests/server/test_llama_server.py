"""The remote engine against llama.cpp's real llama-server (issue 24), behind a
real Jupyter server: what the engine reads from it (its context per slot, the
model's vocabulary by /tokenize, its speed), and its prompt cache reused while
the user types, as llama-server reports it.

Runs where a llama-server binary and a Qwen2.5-Coder GGUF are given
($JUPYTER_CODEGEN_LLAMA_SERVER or PATH, $JUPYTER_CODEGEN_LLAMA_GGUF); skipped
with the reason otherwise. The GGUF is served under a name without "coder".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_upstream import Serve, llama_server, llama_server_or_skip_reason
from test_remote import AVERAGE, call, ready

FOUND = llama_server_or_skip_reason()
pytestmark = pytest.mark.skipif(isinstance(FOUND, str), reason=str(FOUND))

CELLS = [
    {"cell_type": "code", "source": "import numpy as np\n\nvalues = np.arange(10)\n"},
    {"cell_type": "code", "source": "def scale(xs, k):\n    return [x * k for x in xs]\n"},
]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    assert not isinstance(FOUND, str)
    binary, gguf = FOUND
    with llama_server(binary, gguf, tmp_path_factory.mktemp("llama")) as serve:
        yield serve


@pytest.fixture
def codegen_overrides(llama: Serve) -> dict:
    # No model named: the one llama-server lists. No context_tokens: the engine's.
    return {
        "remote_url": llama.url,
        "model": "embedded:qwen2.5-coder-1.5b-instruct",
        "context_tokens": 0,
    }


async def test_the_engine_reads_llama_servers_context_vocabulary_and_speed(
    jp_fetch, llama: Serve
) -> None:
    status = await ready(jp_fetch, timeout=120)
    assert status["model"] == llama.model and "coder" not in Path(llama.model).name
    assert (status["family"], status["family_source"]) == ("qwen2.5-coder", "vocabulary")
    engine = status["engine"]
    assert engine["family_from"] == "llama.cpp /tokenize" and engine["family_warning"] is None
    server = engine["server"]
    assert (server["kind"], server["context"], server["cache_prompt"]) == ("llama.cpp", 4096, True)
    assert server["context_from"] == "llama.cpp /props n_ctx (per slot)"
    assert server["prefill_tokens_per_s"] > 0 and server["problems"] == []
    budget = engine["budget"]
    assert budget["prompt"] + budget["reply"] + budget["margin"] <= 4096
    assert 64 <= budget["suffix"] <= budget["prompt"] // 2


async def test_fill_in_the_middle_answers_the_average_example(jp_fetch) -> None:
    await ready(jp_fetch, timeout=120)
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 16})
    assert reply["completions"][0]["text"] == "total += n"


async def test_typing_reuses_llama_servers_prompt_cache(jp_fetch) -> None:
    await ready(jp_fetch, timeout=120)
    prefix = "scaled = scale(values, 3)\nprint(scaled"
    timings = []
    for typed in ("", ")", ")\n"):
        body = {
            "prefix": prefix + typed,
            "cells_before": CELLS,
            "path": "typing.ipynb",
            "max_tokens": 8,
        }
        timings.append((await call(jp_fetch, "complete", body))["timings"])
    for later in timings[1:]:
        assert later["cached_tokens"] > 0.5 * later["prompt_tokens"], timings
    requests = (await call(jp_fetch, "status"))["requests"]
    assert requests["cached_tokens"] > 0 and requests["failed"] == 0
