"""The magics' in-process client: Ctrl-C stops the generation, not only the wait."""

from __future__ import annotations

import _thread
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_codegen.kernel.client import InProcessClient

LONG = 4000


class Watched:
    """The real engine, noting whether it was cancelled and how many text
    deliveries it made after its cancel flag was set."""

    def __init__(self, engine: Any):
        self.engine, self.after_cancel, self.cancelled = engine, 0, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def generate(self, request: Any, cancel: threading.Event, on_delta: Any = None) -> Any:
        def deliver(index: int, text: str) -> None:
            self.after_cancel += cancel.is_set()
            # Paced, so the generation outlasts the test's Ctrl-C whatever the
            # configuration (drafting makes the repetitive random model very fast).
            time.sleep(0.005)
            if on_delta is not None:
                on_delta(index, text)

        try:
            return self.engine.generate(request, cancel, deliver)
        finally:
            self.cancelled = cancel.is_set()


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        # No drafting: the random model repeats itself, and drafting would finish
        # its LONG tokens before the test's Ctrl-C could land.
        json.dumps({"CodegenApp": {"explain_max_tokens": LONG, "device": "cpu", "draft_tokens": 0}})
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", str(tiny_model_dir))
    client = InProcessClient()
    assert client.service.host.wait_loaded(120)
    yield client
    client.service.host.shutdown()


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the main thread, as in a kernel. An earlier test
    in the same process may have left another SIGINT handler (or SIG_IGN), and then
    ``_thread.interrupt_main`` does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_the_in_process_generation_within_one_step(client, python_sigint) -> None:
    host = client.service.host
    host.engine = engine = Watched(host.engine)

    def press_ctrl_c() -> None:  # once the generation runs
        deadline = time.monotonic() + 60
        while host.report()["active"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        client.explain({"code": "x = 1", "max_tokens": LONG})
    deadline = time.monotonic() + 30
    while host.report()["active"] and time.monotonic() < deadline:
        time.sleep(0.02)
    stats = host.report()
    assert (stats["active"], stats["cancelled"], stats["completed"]) == (0, 1, 0), stats
    assert engine.cancelled and engine.after_cancel <= 1
    # And the client serves the next request, to its end (the random model never stops)
    reply = client.explain({"code": "x = 1", "max_tokens": 2})
    assert reply["finish_reason"] == "length" and reply["timings"]["generated_tokens"] == 2
    assert host.report()["completed"] == 1


def test_a_kernel_leaves_its_heap_to_the_user(client) -> None:
    # The server freezes its heap after loading; a kernel's objects are the user's.
    assert client.service.host.state == "ready" and not client.service.host.freeze_heap
