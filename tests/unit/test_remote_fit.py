"""The remote engine fits the server it talks to (issue 24), against scripted
servers that answer as vLLM, llama.cpp's llama-server and Ollama do: the
prompt budget from the context each reports, the FIM family from what each
says of its model, llama.cpp's ``cache_prompt``, and the cached tokens each
reports read back."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_upstream import Handler, Scripted, event, json_reply, models, scripted_upstream, sse

from jupyter_codegen.completion.prompt import fim_segments
from jupyter_codegen.engine.base import ChatMessage, GenerationRequest
from jupyter_codegen.engine.remote.engine import RemoteEngine, RemoteSettings, load_remote
from jupyter_codegen.engine.remote.upstream import UpstreamError
from jupyter_codegen.families import TEMPLATES_BY_FAMILY

QWEN = TEMPLATES_BY_FAMILY["qwen2.5-coder"]
#: Served as llama-server names a model started with -m and no --alias: no "coder".
GGUF = "/models/qwen-1.5b-q4km.gguf"


@pytest.fixture
def server() -> Iterator[Scripted]:
    with scripted_upstream() as scripted:
        scripted.script = lambda h: sse(h, event("x", "stop") + "\n\n")
        yield scripted


def tokenize(single: set[str]) -> Any:
    """/tokenize: one token for a marker in ``single``, several otherwise."""

    def answer(h: Handler) -> None:
        text = h.body.get("content", h.body.get("prompt", ""))  # type: ignore[attr-defined]
        json_reply(h, {"tokens": [7] if text in single else [60, 61, 62]})

    return answer


def as_vllm(server: Scripted, name: str, max_model_len: int, single: set[str]) -> None:
    server.routes["/v1/models"] = lambda h: models(
        h, name, owned_by="vllm", max_model_len=max_model_len
    )
    server.routes["/tokenize"] = tokenize(single)


def as_llama_cpp(server: Scripted, n_ctx: int, single: set[str], name: str = GGUF) -> None:
    meta = {"n_ctx": n_ctx * 4, "n_ctx_train": 32768, "n_vocab": 151936}
    server.routes["/v1/models"] = lambda h: models(h, name, owned_by="llamacpp", meta=meta)
    props = {
        "default_generation_settings": {"n_ctx": n_ctx, "params": {"n_predict": -1}},
        "total_slots": 4,
        "model_path": name,
        "model_alias": name,
        "bos_token": "<|endoftext|>",
    }
    server.routes["/props"] = lambda h: json_reply(h, props)
    server.routes["/tokenize"] = tokenize(single)


def as_ollama(server: Scripted, name: str, show: dict[str, Any]) -> None:
    server.routes["/v1/models"] = lambda h: models(h, name, owned_by="library")
    server.routes["/api/show"] = lambda h: json_reply(h, show)


def load(server: Scripted, **settings: Any) -> RemoteEngine:
    settings = {"measure_prefill": False, **settings}
    # Settings an older engine lacks are left out, so that it fails on behaviour.
    known = {f.name for f in dataclasses.fields(RemoteSettings)}
    given = {k: v for k, v in settings.items() if k in known}
    return load_remote(RemoteSettings(server.url, **given), lambda message: None)


QWEN_SINGLE = {"<|fim_prefix|>", "<|fim_pad|>"}
QWEN_HEAD = fim_segments(QWEN, "", "")[0]  # the special <|fim_prefix|>
OLLAMA_SHOW = {
    "model_info": {
        "general.architecture": "qwen2",
        "general.basename": "Qwen2.5-Coder",
        "general.name": "Qwen2.5 Coder 1.5B Instruct",
        "qwen2.context_length": 32768,
    },
    "parameters": 'num_ctx                        3072\nstop         "<|im_end|>"',
    "details": {"family": "qwen2", "quantization_level": "Q4_K_M"},
    "capabilities": ["completion", "insert"],
    "template": "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}"
    "<|fim_middle|>{{- else }}...{{- end }}",
}


# -- the budget ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "context", "source"),
    [
        ("vllm", 2048, "vLLM /v1/models max_model_len"),
        ("llama.cpp", 1024, "llama.cpp /props n_ctx (per slot)"),
        ("ollama", 3072, "Ollama /api/show num_ctx"),
        ("ollama default", 2048, "Ollama's default num_ctx"),
        ("transformers serve", 4096, "CodegenApp.remote_context_fallback"),
    ],
)
def test_the_budget_comes_from_the_context_the_server_reports(
    server: Scripted, kind: str, context: int, source: str
) -> None:
    if kind == "vllm":
        as_vllm(server, "Qwen/Qwen2.5-Coder-7B", context, QWEN_SINGLE)
    elif kind == "llama.cpp":
        as_llama_cpp(server, context, QWEN_SINGLE)
    elif kind.startswith("ollama"):
        show = dict(OLLAMA_SHOW) if kind == "ollama" else {**OLLAMA_SHOW, "parameters": ""}
        as_ollama(server, "qwen2.5-coder:1.5b", show)
    else:
        server.routes["/v1/models"] = lambda h: models(h, "/models/tiny", owned_by="tiny")
    info = load(server).info()
    margin = min(256, max(32, context // 16))
    assert info.context_tokens == min(4096, context - 256 - margin)
    budget = info.extra["budget"]
    assert budget["context"] == context and budget["context_from"].startswith(source)
    assert budget["prompt"] + budget["reply"] + budget["margin"] <= context


def test_a_server_down_at_load_is_asked_about_itself_once_it_answers(server: Scripted) -> None:
    # Given a named model whose server does not answer yet (a hub starting up)
    server.routes["/v1/models"] = lambda h: json_reply(h, {"error": "starting"}, status=503)
    eng = load(server, model=GGUF, context_fallback=4096)
    assert eng.info().extra["budget"]["context"] == 4096 and eng.facts.kind == "unknown"
    # When it comes up as llama-server with 2048 tokens a slot
    as_llama_cpp(server, 2048, QWEN_SINGLE)
    eng.probe()
    # Then the engine fits it: its context, its family from the vocabulary
    info = eng.info()
    assert eng.facts.kind == "llama.cpp" and info.extra["budget"]["context"] == 2048
    assert info.family == "qwen2.5-coder" and info.family_source == "vocabulary"
    # And once only: later probes do not ask again
    asked = len([r for r in server.requests if r["path"] == "/props"])
    eng.probe()
    assert len([r for r in server.requests if r["path"] == "/props"]) == asked


def test_the_fallback_context_is_a_setting(server: Scripted) -> None:
    server.routes["/v1/models"] = lambda h: models(h, "m")
    info = load(server, context_fallback=1536, reply_tokens=128).info()
    assert info.context_tokens == 1536 - 128 - 96 and info.suffix_tokens == 512
    # A huge completion_max_tokens keeps a quarter of the context (longer replies are cut).
    info = load(server, context_fallback=2048, reply_tokens=4096).info()
    assert info.context_tokens == 2048 - 512 - 128


def test_a_reply_is_cut_to_what_the_context_leaves_and_a_prompt_past_it_is_refused(
    server: Scripted,
) -> None:
    as_vllm(server, "m", 1024, set())
    eng = load(server)
    question = "x" * 2100  # about 700 tokens, estimated high
    request = GenerationRequest(max_new_tokens=512, messages=[ChatMessage("user", question)])
    eng.generate(request, threading.Event())
    [sent] = server.posts("/v1/chat/completions")
    assert sent["max_tokens"] < 512 and 700 + 8 + sent["max_tokens"] <= 1024
    too_long = GenerationRequest(max_new_tokens=16, messages=[ChatMessage("user", "x" * 3300)])
    with pytest.raises(UpstreamError) as info:
        eng.generate(too_long, threading.Event())
    assert info.value.status == 502 and "its context is 1024" in str(info.value)
    assert "vLLM /v1/models max_model_len" in str(info.value)
    assert len(server.posts("/v1/chat/completions")) == 1  # not sent


def test_a_refusal_for_length_is_a_502_naming_the_limit(server: Scripted) -> None:
    as_llama_cpp(server, 1024, QWEN_SINGLE)
    refusal = {
        "error": {
            "code": 400,
            "message": "request (1200 tokens) exceeds the available context size (1024 tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
        }
    }
    eng = load(server)
    server.script = lambda h: json_reply(h, refusal, status=400)
    request = GenerationRequest(max_new_tokens=16, segments=fim_segments(QWEN, "a = 1\n", ""))
    with pytest.raises(UpstreamError) as info:
        eng.generate(request, threading.Event())
    message = str(info.value)
    assert info.value.status == 502 and "longer than its context" in message
    assert "within the 1024 tokens taken from llama.cpp /props n_ctx (per slot)" in message
    assert "CodegenApp.context_tokens" in message and "exceeds the available context" in message


@pytest.mark.parametrize(
    ("rate", "prompt", "suffix"),
    [(100.0, 1472, 64), (10_000.0, 3584, 512)],
    ids=["a CPU", "a GPU"],
)
def test_the_prefill_speed_sizes_the_budget(
    server: Scripted, rate: float, prompt: int, suffix: int
) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    timings = {"prompt_n": 400, "prompt_ms": 400 / rate * 1000, "cache_n": 0}
    server.script = lambda h: sse(
        h, event("x", "length", timings=timings, usage={"prompt_tokens": 400}) + "\n\n"
    )
    info = load(server, measure_prefill=True).info()
    [measured] = server.posts()
    assert measured["max_tokens"] == 1 and measured["cache_prompt"] is False
    assert (info.context_tokens, info.suffix_tokens) == (prompt, suffix)
    assert info.extra["server"]["prefill_tokens_per_s"] == rate
    assert "the server's timings" in info.extra["budget"]["why"]


# -- the family --------------------------------------------------------------------


def test_the_family_comes_from_the_servers_vocabulary_not_the_file_name(server: Scripted) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    info = load(server).info()
    assert (info.model, info.family, info.family_source) == (GGUF, "qwen2.5-coder", "vocabulary")
    assert info.extra["family_from"] == "llama.cpp /tokenize"
    assert info.extra["family_warning"] is None
    asked = {r["content"] for r in server.posts("/tokenize")}
    assert {"<|fim_prefix|>", "<fim_prefix>", "<｜fim▁begin｜>"} <= asked


def test_vllm_tokenizes_with_its_model_too(server: Scripted) -> None:
    as_vllm(server, "my-finetune", 8192, {"<fim_prefix>", "<fim_middle>"})
    info = load(server).info()
    assert (info.family, info.family_source) == ("starcoder", "vocabulary")
    assert info.extra["family_from"] == "vLLM /tokenize"
    assert {r["model"] for r in server.posts("/tokenize")} == {"my-finetune"}


def test_ollama_says_the_family_in_its_template_and_metadata(server: Scripted) -> None:
    as_ollama(server, "my-model:latest", OLLAMA_SHOW)
    info = load(server).info()
    assert (info.family, info.family_source) == ("qwen2.5-coder", "metadata")
    assert info.extra["family_from"] == "Ollama's prompt template"
    as_ollama(server, "my-model:latest", {**OLLAMA_SHOW, "template": "{{ .Prompt }}"})
    info = load(server).info()
    assert (info.family, info.family_source) == ("qwen2.5-coder", "metadata")
    assert (
        info.extra["family_from"] == "Ollama /api/show general.name 'Qwen2.5 Coder 1.5B Instruct'"
    )


def test_the_setting_wins_over_what_the_server_says(server: Scripted) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    info = load(server, fim_family="starcoder").info()
    assert (info.family, info.family_source) == ("starcoder", "setting")


def test_a_plain_family_for_a_code_model_is_a_warning(
    server: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    as_llama_cpp(server, 4096, set(), name="/models/deepseek-coder-1.3b-base.Q4_K_M.gguf")
    with caplog.at_level(logging.WARNING):
        info = load(server).info()
    assert (info.family, info.family_source) == ("plain", "vocabulary")
    warning = info.extra["family_warning"]
    assert "deepseek-coder-1.3b-base.Q4_K_M.gguf" in warning and "fim_family" in warning
    assert any("family is plain" in r.getMessage() for r in caplog.records)


# -- the prompt cache ----------------------------------------------------------------


def completion(eng: RemoteEngine) -> Any:
    request = GenerationRequest(max_new_tokens=8, segments=fim_segments(QWEN, "a = 1\n", ""))
    return eng.generate(request, threading.Event())


def test_cache_prompt_goes_to_llama_cpp_only(server: Scripted) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    completion(load(server))
    sent = server.posts()[-1]
    assert sent["cache_prompt"] is True and sent["timings_per_token"] is True
    as_vllm(server, "m", 4096, QWEN_SINGLE)
    completion(load(server))
    assert not {"cache_prompt", "timings_per_token", "id_slot"} & set(server.posts()[-1])


def test_a_notebooks_completions_keep_to_one_llama_cpp_slot(server: Scripted) -> None:
    """Each slot caches its own prompt: a keystroke sent while the server still
    winds down the previous, closed, request would otherwise take another slot
    and compute its whole prompt again."""
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    eng = load(server)
    segments = fim_segments(QWEN, "a = 1\n", "")
    for key in ("complete:a.ipynb", "complete:a.ipynb", "complete:b.ipynb", "explain"):
        request = GenerationRequest(max_new_tokens=8, segments=segments, cache_key=key)
        eng.generate(request, threading.Event())
    slots = [r.get("id_slot") for r in server.posts()]
    assert slots[0] == slots[1] == zlib.crc32(b"complete:a.ipynb") % 4
    assert slots[2] == zlib.crc32(b"complete:b.ipynb") % 4 and slots[3] is None
    several = GenerationRequest(
        max_new_tokens=8, segments=segments, cache_key="complete:a.ipynb", num_candidates=2
    )
    eng.generate(several, threading.Event())
    assert [r.get("id_slot") for r in server.posts()[-2:]] == [None, None]  # side by side


def test_the_cached_tokens_are_read_when_the_engine_closes_the_stream_early(
    server: Scripted,
) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    timings = {"cache_n": 380, "prompt_n": 20}  # in every chunk (timings_per_token)
    server.script = lambda h: sse(
        h, *(event(piece, timings=timings) + "\n\n" for piece in ("b = 2\n", "c = 3\n", "d"))
    )
    request = GenerationRequest(
        max_new_tokens=8,
        segments=fim_segments(QWEN, "a = 1\n", ""),
        stop_check=lambda index, delta: "\n" in delta,  # the scope ends at the line's end
    )
    result = load(server).generate(request, threading.Event())
    assert result.candidates[0].finish_reason == "scope"
    assert (result.prompt_tokens, result.cached_tokens) == (400, 380)


@pytest.mark.parametrize(
    "last",
    [
        {"usage": {"prompt_tokens": 400, "prompt_tokens_details": {"cached_tokens": 380}}},
        {"usage": {"prompt_tokens": 400}, "timings": {"cache_n": 380, "prompt_n": 20}},
        {"timings": {"cache_n": 380, "prompt_n": 20}},
    ],
    ids=["usage (vLLM, llama.cpp)", "llama.cpp timings", "timings alone"],
)
def test_the_cached_tokens_the_server_reports_are_read(
    server: Scripted, last: dict[str, Any]
) -> None:
    as_llama_cpp(server, 4096, QWEN_SINGLE)
    final = "data: " + json.dumps({"choices": [], **last}) + "\n\n"
    server.script = lambda h: sse(h, event("b = 2", "stop") + "\n\n", final, "data: [DONE]\n\n")
    result = completion(load(server))
    assert (result.prompt_tokens, result.cached_tokens) == (400, 380)


NOTEBOOK = [
    {"cell_type": "code", "source": "import numpy as np\nimport pandas as pd\n"},
    {"cell_type": "markdown", "source": "# Prices\nMarkers such as <|fim_prefix|> stay text."},
    {"cell_type": "code", "source": "def load(path):\n    return pd.read_csv(path)\n"},
    {"cell_type": "code", "source": "prices = load('prices.csv')\ntotal = prices.sum()\n"},
]


async def test_what_reaches_the_server_keeps_its_head_while_the_user_types(
    server: Scripted,
) -> None:
    from jupyter_codegen.api.schemas import CompleteRequest
    from jupyter_codegen.service.host import ModelHost
    from jupyter_codegen.service.limits import ServiceLimits
    from jupyter_codegen.service.service import CodegenService

    as_llama_cpp(server, 4096, QWEN_SINGLE)
    eng = load(server)
    host = ModelHost("m", lambda progress: eng)
    host.start_loading()
    host.wait_loaded()
    service = CodegenService(host, ServiceLimits())
    line = "weekly = prices.resample('W').mean()"
    after = [{"cell_type": "code", "source": "weekly.plot()\n# <|endoftext|> in a comment\n"}]
    for k in range(len(line) + 1):
        body = {
            "prefix": "prices.index = pd.to_datetime(prices.index)\n" + line[:k],
            "suffix": "\nprint(weekly)\n",
            "cells_before": NOTEBOOK,
            "cells_after": after,
            "path": "prices.ipynb",
            "max_tokens": 8,
        }
        req = CompleteRequest.model_validate(body)
        await service.complete(req, service.ticket(None, "complete"))
    host.shutdown()
    prompts = [r["prompt"] for r in server.posts()]
    assert len(prompts) == len(line) + 1
    for before, now in itertools.pairwise(prompts):
        cursor = before.index("<|fim_suffix|>")  # everything before it is the head and prefix
        assert now[:cursor] == before[:cursor]
    assert "<\u200b|fim_prefix|>" in prompts[0]  # the user's marker, broken the same way each time


@pytest.mark.parametrize(("kind", "sent"), [("llama.cpp", True), ("vllm", True), ("none", False)])
def test_a_prefill_only_request_warms_a_servers_prefix_cache(
    server: Scripted, kind: str, sent: bool
) -> None:
    """max_new_tokens 0 asks for the prompt's computation only (a prefetch)."""
    if kind == "llama.cpp":
        as_llama_cpp(server, 4096, QWEN_SINGLE)
    elif kind == "vllm":
        as_vllm(server, "m", 4096, QWEN_SINGLE)
    else:
        server.routes["/v1/models"] = lambda h: models(h, "m")
    usage = {"prompt_tokens": 30, "prompt_tokens_details": {"cached_tokens": 12}}
    server.script = lambda h: sse(h, event("x", "length", usage=usage) + "\n\n")
    eng = load(server)
    deltas: list[str] = []
    request = GenerationRequest(
        max_new_tokens=0,
        segments=[QWEN_HEAD, *fim_segments(QWEN, "a = 1\n", "")[1:2]],
        cache_key="complete:a.ipynb",
    )
    result = eng.generate(request, threading.Event(), lambda i, d: deltas.append(d))
    assert result.candidates == [] and deltas == []
    posts = server.posts()
    if sent:
        [post] = posts
        assert post["max_tokens"] == 1 and (result.prompt_tokens, result.cached_tokens) == (30, 12)
        assert ("id_slot" in post) == (kind == "llama.cpp")
    else:
        assert posts == []  # transformers serve and the like keep nothing
        assert result.prompt_tokens == 0  # nothing was computed: no prefetch to report
