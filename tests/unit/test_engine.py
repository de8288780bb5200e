"""The transformers engine and the host around it, on the tiny random model."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from pathlib import Path

import pytest
from conftest import text_check, tiny_engine

from jupyter_codegen.engine.base import ChatMessage, EngineOptions, GenerationRequest, Segment
from jupyter_codegen.engine.local.device import cpu_has_fast_bf16, pick_device, pick_dtype
from jupyter_codegen.engine.local.engine import TransformersEngine
from jupyter_codegen.errors import HostBusy, ModelNotReady
from jupyter_codegen.service.host import ModelHost


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> TransformersEngine:
    return TransformersEngine.load(
        str(tiny_model_dir),
        name="tiny",
        device="cpu",
        dtype="float32",
        options=EngineOptions(quantize="none"),
    )


FIM = [
    Segment("<|fim_prefix|>", special=True),
    Segment("def add(a, b):\n    return "),
    Segment("<|fim_suffix|>", special=True),
    Segment("\n"),
    Segment("<|fim_middle|>", special=True),
]


def test_device_and_dtype_choice() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in {"cpu", "cuda", "mps"}
    import torch

    assert pick_dtype("auto", "cpu") == (torch.bfloat16 if cpu_has_fast_bf16() else torch.float32)
    assert pick_dtype("float32", "cpu") == torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            pick_device("cuda:0")


def test_generate_runs_to_max_tokens_and_reports_info(engine: TransformersEngine) -> None:
    result = engine.generate(GenerationRequest(max_new_tokens=12, segments=FIM), threading.Event())
    [cand] = result.candidates
    assert cand.finish_reason == "length" and cand.tokens == 12 and cand.text
    assert result.prompt_tokens == engine.count_tokens("def add(a, b):\n    return ") + 4
    info = engine.info()
    assert (info.model, info.device, info.dtype) == ("tiny", "cpu", "float32")
    assert info.parameters and info.parameters > 10_000
    assert engine.has_token("<|fim_middle|>") and not engine.has_token("<fim_middle>")


def test_user_text_cannot_inject_special_tokens(engine: TransformersEngine) -> None:
    assert engine.count_tokens("<|fim_middle|>") > 1


def test_streamed_deltas_add_up_to_the_text(engine: TransformersEngine) -> None:
    deltas: list[tuple[int, str]] = []
    result = engine.generate(
        GenerationRequest(max_new_tokens=10, segments=FIM),
        threading.Event(),
        lambda i, t: deltas.append((i, t)),
    )
    assert len(deltas) >= 2
    assert "".join(t for _, t in deltas) == result.candidates[0].text


def test_cancel_stops_within_one_decode_step(engine: TransformersEngine) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_delta(_i: int, text: str) -> None:
        seen.append(text)
        if len(seen) == 3:
            cancel.set()

    result = engine.generate(GenerationRequest(max_new_tokens=500, segments=FIM), cancel, on_delta)
    [cand] = result.candidates
    assert cand.finish_reason == "cancelled"
    assert cand.tokens <= len(seen) + 1 < 10


def test_stop_check_ends_a_candidate_with_scope(engine: TransformersEngine) -> None:
    req = GenerationRequest(
        max_new_tokens=200, segments=FIM, stop_check=text_check(lambda text: len(text) >= 5)
    )
    [cand] = engine.generate(req, threading.Event()).candidates
    assert cand.finish_reason == "scope" and len(cand.text) >= 5 and cand.tokens < 200


def test_several_candidates(engine: TransformersEngine) -> None:
    req = GenerationRequest(max_new_tokens=6, segments=FIM, num_candidates=3, temperature=1.0)
    result = engine.generate(req, threading.Event())
    assert len(result.candidates) == 3
    assert all(c.tokens == 6 for c in result.candidates)


def test_chat_prompt_uses_the_chat_template(engine: TransformersEngine) -> None:
    req = GenerationRequest(
        max_new_tokens=5, messages=[ChatMessage("system", "s"), ChatMessage("user", "explain x")]
    )
    result = engine.generate(req, threading.Event())
    expected = engine.count_tokens("\nexplain x") + engine.count_tokens("\ns")
    assert result.prompt_tokens > expected  # wrapped in <|im_start|> ... markers
    assert result.candidates[0].tokens == 5


# -- the host --------------------------------------------------------------


def test_host_reports_a_loader_failure() -> None:
    def broken(progress):
        progress("trying")
        raise OSError("disk on fire")

    host = ModelHost("m", broken)
    host.start_loading()
    assert host.wait_loaded(10)
    assert host.state == "error" and host.error == "OSError: disk on fire"
    with pytest.raises(ModelNotReady, match="failed to load: OSError: disk on fire"):
        host.ready_engine()


def test_host_runs_cancels_and_bounds_the_queue(engine: TransformersEngine) -> None:
    host = ModelHost("tiny", lambda progress: engine, max_concurrent=1, max_queued=1)
    host.start_loading()
    assert host.wait_loaded(10) and host.state == "ready"
    long = GenerationRequest(max_new_tokens=3000, segments=FIM)
    short = GenerationRequest(max_new_tokens=4, segments=FIM)

    async def scenario() -> None:
        # Given one long generation running and one waiting
        first = host.new_ticket("a", "complete")
        running = asyncio.ensure_future(host.run(long, first))
        await asyncio.sleep(0.2)
        waiting = asyncio.ensure_future(host.run(short, host.new_ticket("b", "complete")))
        await asyncio.sleep(0.05)
        assert host.report()["active"] == 1 and host.report()["queued"] == 1
        # When a third arrives, the queue is full
        with pytest.raises(HostBusy):
            await host.run(short, host.new_ticket("c", "complete"))
        # When a new request reuses the running one's id, that one is superseded
        started = time.monotonic()
        host.new_ticket("a", "complete")
        timed = await running
        assert timed.result.candidates[0].finish_reason == "cancelled"
        assert time.monotonic() - started < 2
        # Then the waiting one gets its answer
        assert (await waiting).result.candidates[0].tokens == 4
        # And a request cancelled while queued never runs
        blocker = asyncio.ensure_future(host.run(long, host.new_ticket("d", "complete")))
        await asyncio.sleep(0.1)
        queued = host.new_ticket("e", "complete")
        pending = asyncio.ensure_future(host.run(short, queued))
        await asyncio.sleep(0.05)
        assert host.cancel("e")
        assert (await pending).result.candidates == []
        host.cancel("d")
        await blocker

    asyncio.run(scenario())
    stats = host.report()
    assert stats["active"] == 0 and stats["queued"] == 0
    assert stats["rejected_busy"] == 1 and stats["cancelled"] >= 3
    host.shutdown()


@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_a_dropped_engine_is_freed_without_the_cyclic_collector(
    tiny_model_dir: Path, quantize: str
) -> None:
    # The host freezes the heap after loading, so an engine must not rely on
    # the cyclic collector: it holds no reference cycle through its model.
    engine = tiny_engine(tiny_model_dir, quantize=quantize)
    assert engine.generate(GenerationRequest(2, segments=FIM), threading.Event()).prompt_tokens > 0
    model = weakref.ref(engine.model)
    gc.disable()
    try:
        del engine
        assert model() is None
    finally:
        gc.enable()
