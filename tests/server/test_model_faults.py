"""A damaged or missing embedded model, and a conversion killed midway.

A small fake embedded model stands in for the real 1.1 GB one: its parts are
a few bytes with a pinned sha256, and its "conversion" copies the tiny model."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_codegen.engine.local import embedded
from jupyter_codegen.engine.local.embedded import EMBEDDED_MODELS, EmbeddedModel, converted_dir

PARTS = [b"GGUF", b"-fake-", b"weights"]


def fake_model(sha: str | None = None) -> EmbeddedModel:
    blob = b"".join(PARTS)
    return EmbeddedModel(
        name="fake-model",
        title="fake",
        extra="embedded-fake",
        dist_pattern="jupyter-codegen-fake-part{}",
        version="1.0",
        parts=len(PARTS),
        size=len(blob),
        sha256=sha or hashlib.sha256(blob).hexdigest(),
    )


def write_parts(where: Path, parts: list[bytes]) -> list[Path]:
    where.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(parts, 1):
        path = where / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


async def status_of(jp_fetch, state: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
        if status["state"] == state or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


@pytest.fixture
def fault(
    request: pytest.FixtureRequest,
    codegen_config: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The server hosts the fake model, with one part damaged ("corrupt") or
    none of its part packages installed ("missing")."""
    monkeypatch.setitem(EMBEDDED_MODELS, "fake-model", fake_model())
    codegen_config["model"] = "embedded:fake-model"
    if request.param == "corrupt":
        paths = write_parts(tmp_path / "parts", [PARTS[0], b"-FAKE-", PARTS[2]])
        monkeypatch.setattr(embedded, "find_parts", lambda model: paths)
    return str(request.param)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("corrupt", "Refusing to load"), ("missing", "is not installed")],
    indirect=["fault"],
)
async def test_a_damaged_or_missing_model_is_an_error_status_and_the_server_stays_up(
    fault: str, reason: str, jp_fetch, codegen_config: dict
) -> None:
    status = await status_of(jp_fetch, "error")
    assert status["state"] == "error" and reason in status["error"], status
    # Requests get 503 naming the reason; the server answers everything else
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-codegen", "complete", method="POST", body='{"prefix": "x"}')
    assert info.value.code == 503
    assert reason in json.loads(info.value.response.body)["message"]
    assert (await jp_fetch("api", "status")).code == 200
    # Nothing half-made is left in the cache
    cache = Path(codegen_config["cache_dir"])
    assert not converted_dir(fake_model(), cache).exists()
    assert not list(cache.glob(".tmp-*"))


KILLED = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from jupyter_codegen.engine.local import embedded
    from jupyter_codegen.engine.local.embedded import EmbeddedModel, ensure_converted

    model = EmbeddedModel(**eval(sys.argv[1]))
    paths = [Path(p) for p in sys.argv[2:]]
    embedded.find_parts = lambda m: paths

    def convert(gguf_dir, gguf_name, out):
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"half a model")
        os.kill(os.getpid(), 9)  # killed midway, holding the conversion lock

    ensure_converted(model, Path(os.environ["CACHE"]), convert)
    """
)


def test_a_conversion_killed_midway_leaves_a_clean_state_for_the_next_start(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    model = fake_model()
    paths = write_parts(tmp_path / "parts", PARTS)
    cache = tmp_path / "cache"
    fields = {f: getattr(model, f) for f in model.__dataclass_fields__}
    # Given a process killed (SIGKILL) in the middle of converting
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, repr(fields), *map(str, paths)],
        env={**__import__("os").environ, "CACHE": str(cache)},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    assert list(cache.glob(".tmp-fake-model-*")), "the killed process left its work dir"
    assert not converted_dir(model, cache).exists()
    # When the next start converts
    orig = embedded.find_parts
    embedded.find_parts = lambda m: paths  # type: ignore[assignment]
    progress: list[str] = []
    try:

        def convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
            assert (gguf_dir / gguf_name).read_bytes() == b"".join(PARTS)
            shutil.copytree(tiny_model_dir, out)

        final = embedded.ensure_converted(model, cache, convert, progress=progress.append)
    finally:
        embedded.find_parts = orig  # type: ignore[assignment]
    # Then it did not wait for the dead process's lock, converted from scratch,
    # and left only the finished model
    assert not any("waiting" in p for p in progress)
    assert final == converted_dir(model, cache) and embedded.is_converted(model, cache)
    assert not (final / "model.safetensors").read_bytes().startswith(b"half")
    assert not list(cache.glob(".tmp-*"))
