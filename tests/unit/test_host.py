"""The host's admission bookkeeping, on the real tiny model: places are
reserved at once, given back exactly once, and cancelled waiters stop counting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import run_python

from jupyter_codegen.engine.base import GenerationRequest, Segment
from jupyter_codegen.engine.local.loader import load_engine
from jupyter_codegen.engine.local.sources import resolve_model
from jupyter_codegen.errors import HostBusy, ModelNotReady
from jupyter_codegen.service.host import ModelHost


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path):
    return load_engine(
        resolve_model(str(tiny_model_dir)),
        device="cpu",
        dtype="float32",
        cache_dir=tiny_model_dir,
        progress=lambda _m: None,
    )


@pytest.fixture
def host(engine) -> ModelHost:
    host = ModelHost("tiny", lambda _progress: engine, max_concurrent=1, max_queued=2)
    host.start_loading()
    assert host.wait_loaded(60) and host.state == "ready"
    return host


def test_admission_reserves_a_slot_then_queue_places_then_refuses(host: ModelHost) -> None:
    a, b, c, d = (host.new_ticket(x, "complete") for x in "abcd")
    host.admit(a)
    host.admit(b)
    host.admit(c)
    assert (a._place, b._place, c._place) == ("slot", "queued", "queued")
    with pytest.raises(HostBusy):
        host.admit(d)
    assert host.report()["queued"] == 2 and host.report()["rejected_busy"] == 1
    host.admit(a)  # admitting twice reserves nothing more
    assert host.report()["queued"] == 2


def test_a_place_never_used_is_given_back_once_and_passed_on(host: ModelHost) -> None:
    a, b, c = (host.new_ticket(x, "complete") for x in "abc")
    for t in (a, b, c):
        host.admit(t)
    # a held the slot but its request failed before it ran
    host.release(a)
    assert b._place == "slot" and c._place == "queued"
    host.release(a)  # twice: nothing more happens
    assert c._place == "queued" and host.admission.held == 1
    host.release(c)  # c left the queue
    assert host.report()["queued"] == 0
    host.release(b)
    assert host.admission.held == 0


def test_superseded_and_cancelled_waiters_stop_counting_at_once(host: ModelHost) -> None:
    a, b, c = (host.new_ticket(x, "complete") for x in ("run", "cell-1", "cell-2"))
    for t in (a, b, c):
        host.admit(t)
    # The queue is full, but a new request for cell-1 supersedes the waiting one
    newer = host.new_ticket("cell-1", "complete")
    host.admit(newer)
    assert b.cancelled.is_set() and newer._place == "queued"
    # and a cancelled waiter frees its place for the next request
    assert host.cancel("cell-2")
    host.admit(host.new_ticket("other", "complete"))
    assert host.report()["queued"] == 2
    # When the slot frees, it goes to the first live waiter, skipping the dead
    host.release(a)
    assert newer._place == "slot" and b._place == "done" and c._place != "slot"


def test_a_cancelled_waiter_never_reaches_the_engine(host: ModelHost) -> None:
    async def scenario() -> tuple[dict, float]:
        running = host.new_ticket("running", "explain")
        waiting = host.new_ticket("waiting", "explain")
        host.admit(running)
        host.admit(waiting)
        chat = GenerationRequest(2000, segments=[Segment("x = ")])
        first = asyncio.ensure_future(host.run(chat, running))
        second = asyncio.ensure_future(host.run(chat, waiting))
        await asyncio.sleep(0.2)
        waiting.cancel()
        timed = await second
        running.cancel()
        await first
        return host.report(), timed.result.prompt_tokens

    stats, prompt_tokens = asyncio.run(scenario())
    assert prompt_tokens == 0  # it never ran
    assert stats["cancelled"] == 2 and stats["active"] == 0 and stats["queued"] == 0
    assert host.admission.held == 0


def test_not_ready_is_refused_before_anything_is_reserved() -> None:
    host = ModelHost("never", lambda _p: (_ for _ in ()).throw(OSError("no weights")))
    host.start_loading()
    host.wait_loaded(10)
    ticket = host.new_ticket("x", "complete")
    with pytest.raises(ModelNotReady):
        host.admit(ticket)
    assert ticket._place == "new" and host.admission.held == 0


def test_a_server_host_freezes_the_heap_once_after_collecting_its_garbage(
    tiny_model_dir: Path,
) -> None:
    # In a fresh process: this one's gc state depends on the tests before.
    code = f"""
        import gc, weakref
        from jupyter_codegen.service.host import ModelHost
        from jupyter_codegen.engine.local.loader import load_engine
        from jupyter_codegen.engine.local.sources import resolve_model

        class Node: pass

        def load(_progress):
            garbage = Node(); garbage.me = garbage  # a cycle that loading leaves behind
            load.dropped = weakref.ref(garbage)
            return load_engine(resolve_model({str(tiny_model_dir)!r}), device="cpu",
                               dtype="float32", cache_dir={str(tiny_model_dir)!r},
                               progress=lambda _m: None)

        gc.disable()  # nothing collects but the host
        assert gc.get_freeze_count() == 0
        kept = Node()
        kernel = ModelHost("k", load); kernel.start_loading(); assert kernel.wait_loaded(120)
        unfrozen = gc.get_freeze_count()
        first = ModelHost("a", load, freeze_heap=True)
        first.start_loading(); assert first.wait_loaded(120)
        frozen, first_dropped = gc.get_freeze_count(), load.dropped
        second = ModelHost("b", load, freeze_heap=True)
        second.start_loading(); assert second.wait_loaded(120)
        tracked = gc.get_objects()
        print(kernel.state, first.state, second.state, unfrozen, frozen > 1000,
              first_dropped() is None, any(o is kept for o in tracked),
              any(o is first.engine for o in tracked), any(o is second.engine for o in tracked))
    """
    proc = run_python(code, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # A host that is not asked to (a kernel's) freezes nothing; the server's
    # does: loading's garbage collected first, what lives frozen (no longer in
    # the collector's lists), and a second load freezes nothing more (its
    # engine is still in the lists).
    expected = ["ready"] * 3 + ["0", "True", "True", "False", "False", "True"]
    assert proc.stdout.split() == expected
