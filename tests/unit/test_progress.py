"""Load progress: the embedded model's conversion and the loading report a
stage and a fraction, which the status endpoint shows while the model loads."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from jupyter_codegen.engine.local import embedded
from jupyter_codegen.engine.local.embedded import (
    ASSEMBLE_SHARE,
    EmbeddedModel,
    ensure_converted,
)
from jupyter_codegen.engine.local.loader import gguf_tensor_progress
from jupyter_codegen.service.host import ModelHost
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.service import CodegenService


def _model(parts: list[bytes]) -> EmbeddedModel:
    data = b"".join(parts)
    return EmbeddedModel(
        name="progress-test",
        title="t",
        extra="x",
        dist_pattern="p{}",
        version="0",
        parts=len(parts),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_conversion_reports_fractions_from_bytes_joined_to_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given parts read in small chunks, and a converter that reports halfway
    parts = [b"A" * 40, b"B" * 60]
    paths = []
    for i, part in enumerate(parts):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(part)
        paths.append(path)
    monkeypatch.setattr(embedded, "find_parts", lambda m: paths)
    monkeypatch.setattr(embedded, "CHUNK", 10)
    seen: list[float] = []

    def convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
        seen.append(-1.0)  # where the converter starts
        out.mkdir()

    # When the model is converted
    ensure_converted(_model(parts), tmp_path / "cache", convert, fraction=seen.append)
    # Then the joining reports by bytes up to its share, then done
    start = seen.index(-1.0)
    joined = seen[:start]
    assert joined[0] == 0.0
    assert joined == sorted(joined) and len(set(joined)) >= 10
    assert joined[-1] == pytest.approx(ASSEMBLE_SHARE)
    assert seen[-1] == 1.0
    # And an already converted model reports nothing
    again: list[float] = []
    ensure_converted(_model(parts), tmp_path / "cache", convert, fraction=again.append)
    assert again == []


def test_gguf_tensor_loop_reports_its_fraction_and_is_restored() -> None:
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = gguf_utils.tqdm
    seen: list[float] = []
    with gguf_tensor_progress(seen.append):
        # transformers' loop: for tensor in tqdm(reader.tensors, desc=...)
        items = list(gguf_utils.tqdm(["a", "b", "c", "d"], desc="Converting"))
    assert items == ["a", "b", "c", "d"]
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert gguf_utils.tqdm is original
    with gguf_tensor_progress(None):
        assert gguf_utils.tqdm is original


def test_status_shows_the_stage_and_fraction_while_loading_then_clears() -> None:
    # Given a host whose loader is converting, 40% done
    release = threading.Event()
    reported = threading.Event()
    host: ModelHost

    def loader(progress):
        progress("converting the GGUF weights")
        host.set_progress("converting", 0.4)
        reported.set()
        release.wait(10)
        host.set_progress("loading", 1.5)  # out of range: clamped
        assert host.progress == 1.0
        raise RuntimeError("no engine in this test")

    host = ModelHost("progress-test", loader)
    service = CodegenService(host, ServiceLimits())
    host.start_loading()
    try:
        assert reported.wait(10)
        status = service.status()
        # Then the status endpoint's reply says so
        assert status["state"] == "loading"
        assert (status["stage"], status["progress"]) == ("converting", 0.4)
    finally:
        release.set()
        host.wait_loaded(10)
        service.shutdown()
    # And once loading ended, no progress is reported
    status = service.status()
    assert status["state"] == "error"
    assert status["stage"] is None and status["progress"] is None
