"""Run small notebooks in a real IPython kernel, as JupyterLab's "Run All" would.

Shared by the fix (``evals/fix``) and edit (``evals/edit``) evaluations. One
kernel (ipykernel, through jupyter_client) serves every notebook: pandas and
numpy are imported once, and before each notebook the kernel is put back to a
fresh state (:data:`_HELPER`'s ``prepare``): IPython's ``reset`` with a new
session (empty namespace, ``In``/``Out`` and the execution counter back to 1,
so tracebacks say ``Cell In[1]`` as in a new kernel), an empty temporary
working directory holding the notebook's data files, and the process state a
notebook may change put back (pandas options, numpy error handling, warning
filters, ``sys.path``, modules imported from a working directory). The tests
check that this isolation holds and that a reused kernel sends the same error
as a fresh one.

Code cells run in order with ``store_history`` and stop at the first error,
as "Run All" does; each cell's outputs are kept as the kernel sent them (the
error output's ``ename``, ``evalue`` and ``traceback`` with its ANSI codes).
A hidden check then runs after the notebook, in the same namespace.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]

#: Seconds a cell may run before it is interrupted.
CELL_TIMEOUT = 30.0
#: Modules imported once when the kernel starts (the notebooks' imports are then fast).
WARM_MODULES = ("numpy", "pandas", "json", "csv", "datetime", "re", "math", "statistics")

# Installed in the kernel as the module ``_codegen_eval_runner`` (not in the
# user namespace, so IPython's reset leaves it alone).
_HELPER = r'''
import os, sys, warnings

_base = {
    "xmode": get_ipython().InteractiveTB.mode,
    "path": list(sys.path),
    "filters": list(warnings.filters),
    "modules": set(sys.modules),
}
try:
    import numpy as _np
    _base["seterr"] = _np.geterr()
    _base["printoptions"] = _np.get_printoptions()
except ImportError:
    _np = None
try:  # pandas' option registry is private: without it, options are not reset
    import pandas as _pd
    from pandas._config.config import _registered_options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _base["pandas"] = {key: _pd.get_option(key) for key in _registered_options}
except Exception:
    _pd = None


def prepare(workdir, tracebacks=True):
    """Back to a fresh kernel's state, in ``workdir``. Without ``tracebacks``,
    errors come with IPython's minimal traceback (much faster to format)."""
    os.chdir(workdir)  # first: the previous one is gone
    shell = get_ipython()
    shell.reset(new_session=True)
    shell.InteractiveTB.set_mode(_base["xmode"] if tracebacks else "Minimal")
    sys.path[:] = _base["path"]
    warnings.filters[:] = _base["filters"]
    getattr(warnings, "_filters_mutated", lambda: None)()  # warnings' caches see the change
    # Modules a notebook imported from its working directory (all of them
    # live under the runner's base directory, workdir's parent).
    base = os.path.dirname(workdir) + os.sep
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if name not in _base["modules"] and path.startswith(base):
            del sys.modules[name]
    if _pd is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key, value in _base["pandas"].items():
                if _pd.get_option(key) != value:
                    _pd.set_option(key, value)
    if _np is not None:
        _np.seterr(**_base["seterr"])
        _np.set_printoptions(**_base["printoptions"])
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
'''


@dataclass(frozen=True)
class Cell:
    """One notebook cell: ``cell_type`` is ``"code"`` or ``"markdown"``."""

    cell_type: str
    source: str

    def as_json(self) -> dict[str, str]:
        return {"cell_type": self.cell_type, "source": self.source}


def parse_percent(text: str) -> tuple[Cell, ...]:
    """Cells from the percent format (jupytext's): ``# %%`` starts a code cell,
    ``# %% [markdown]`` a markdown cell whose lines start with ``# ``. Blank
    lines around a cell are dropped."""
    cells: list[Cell] = []
    kind: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if kind is None:
            if any(line.strip() for line in lines):
                raise ValueError("text before the first '# %%' marker")
            return
        body = lines
        if kind == "markdown":
            body = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        cells.append(Cell(kind, "\n".join(body).strip("\n")))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            marker = line[4:].strip()
            if marker not in ("", "[markdown]"):
                raise ValueError(f"unknown cell marker: {line!r}")
            kind = "markdown" if marker == "[markdown]" else "code"
            lines = []
        else:
            lines.append(line)
    flush()
    return tuple(cells)


@dataclass
class CellRun:
    """What one code cell did: its outputs as the kernel sent them (nbformat
    output dicts) and, if it failed, its error output."""

    index: int
    execution_count: int | None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


@dataclass
class CheckRun:
    passed: bool
    error: dict[str, Any] | None = None

    @property
    def detail(self) -> str:
        if self.error is None:
            return ""
        return f"{self.error['ename']}: {self.error['evalue']}"[:500]


@dataclass
class NotebookRun:
    """A notebook run top to bottom (until the first error) and its check."""

    runs: list[CellRun]
    failed_at: int | None  # the index (among all cells) of the cell that failed
    check: CheckRun | None = None
    seconds: float = 0.0

    @property
    def error(self) -> dict[str, Any] | None:
        for run in self.runs:
            if run.index == self.failed_at:
                return run.error
        return None

    @property
    def clean(self) -> bool:
        return self.failed_at is None

    @property
    def passed(self) -> bool:
        """Every cell ran without an error and the check passed."""
        return self.clean and self.check is not None and self.check.passed


class KernelRunner:
    """One ipykernel, reused across notebooks (see the module's docstring).

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(self, cell_timeout: float = CELL_TIMEOUT, startup_timeout: float = 120.0):
        self.cell_timeout = cell_timeout
        self.startup_timeout = startup_timeout
        self.km: KernelManager | None = None
        self.kc: Any = None
        self._base = Path(tempfile.mkdtemp(prefix="codegen-nbrun-"))
        self._count = 0
        self.restarts = 0

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> KernelRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg",
        }
        km = KernelManager(kernel_name="python3")
        km.start_kernel(
            # No history file; no warning that a local kernel talks over TCP.
            extra_arguments=["--HistoryManager.hist_file=:memory:", "--log-level=ERROR"],
            env=env,
            cwd=str(self._base),
        )
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        self.km, self.kc = km, kc
        warm = "\n".join(f"import {m}" for m in WARM_MODULES)
        setup = (
            "import sys as _s, types as _t\n"
            "_m = _t.ModuleType('_codegen_eval_runner')\n"
            f"exec({_HELPER!r}, _m.__dict__)\n"
            "_s.modules['_codegen_eval_runner'] = _m\n"
            "del _s, _t, _m\n"
        )
        for code in (warm, setup):
            reply = self._execute(code, silent=True, store_history=False)[0]
            if reply["status"] != "ok":
                raise RuntimeError(f"the kernel did not start cleanly: {reply.get('evalue')}")

    def close(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            self.km.shutdown_kernel(now=True)
        self.km = self.kc = None
        shutil.rmtree(self._base, ignore_errors=True)

    def restart(self) -> None:
        """A new kernel, after one died or hung."""
        self.restarts += 1
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            self.km.shutdown_kernel(now=True)
        self.km = self.kc = None
        self.start()

    # -- running -----------------------------------------------------------

    def _execute(
        self, code: str, *, silent: bool = False, store_history: bool = True, **kwargs: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Execute ``code``; returns the execute reply's content and the
        outputs (nbformat dicts). A cell past the timeout is interrupted; a
        kernel that dies or hangs is restarted and the cell reported as an
        error (``ename`` ``Timeout`` or ``KernelDied``)."""
        assert self.kc is not None and self.km is not None
        msg_id = self.kc.execute(
            code, silent=silent, store_history=store_history, allow_stdin=False, **kwargs
        )
        outputs: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.cell_timeout
        interrupted = False
        idle = False
        while not idle:
            now = time.monotonic()
            if now > deadline:
                if not interrupted and self.km.is_alive():
                    self.km.interrupt_kernel()
                    interrupted = True
                    deadline = now + 10
                    continue
                self.restart()
                return _failure("Timeout", f"no reply in {self.cell_timeout:g} s"), outputs
            try:
                msg = self.kc.get_iopub_msg(timeout=min(1.0, max(0.05, deadline - now)))
            except queue.Empty:
                if not self.km.is_alive():
                    self.restart()
                    return _failure("KernelDied", "the kernel died"), outputs
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status":
                idle = content["execution_state"] == "idle"
            elif kind == "stream":
                if outputs and outputs[-1].get("name") == content["name"]:
                    outputs[-1]["text"] += content["text"]
                else:
                    outputs.append({"output_type": "stream", **content})
            elif kind in ("execute_result", "display_data"):
                outputs.append({"output_type": kind, **content})
            elif kind == "error":
                outputs.append({"output_type": "error", **content})
            elif kind == "clear_output":
                outputs.clear()
        while True:
            try:
                reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            except queue.Empty:
                self.restart()
                return _failure("Timeout", "no execute reply"), outputs
            if reply["parent_header"].get("msg_id") == msg_id:
                content = dict(reply["content"])
                if interrupted and content.get("status") == "error":
                    limit = f"interrupted after {self.cell_timeout:g} s"
                    content.update(_failure("Timeout", limit))
                return content, outputs

    def prepare(
        self, files: Mapping[str, str | bytes] | None = None, tracebacks: bool = True
    ) -> Path:
        """Put the kernel back to a fresh state in a new, empty working
        directory holding ``files`` (name: text or bytes). ``tracebacks``:
        errors come with the full traceback a user sees (False: IPython's
        minimal one, for runs that only need to know whether a cell failed)."""
        if self.kc is None:
            self.start()
        self._count += 1
        work = self._base / f"nb{self._count:04d}"
        work.mkdir()
        for name, content in (files or {}).items():
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        reply, _ = self._execute(
            f"__import__('_codegen_eval_runner').prepare({str(work)!r}, {tracebacks!r})",
            silent=True,
            store_history=False,
        )
        if reply["status"] != "ok":
            raise RuntimeError(f"could not reset the kernel: {reply.get('evalue')}")
        return work

    def run_cells(self, cells: Sequence[Cell], stop_on_error: bool = True) -> NotebookRun:
        """Run the code cells in order in the current kernel state; stop at the
        first error unless ``stop_on_error`` is false (the first failing cell
        is still the one reported)."""
        start = time.monotonic()
        runs: list[CellRun] = []
        failed_at: int | None = None
        for index, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            reply, outputs = self._execute(cell.source)
            run = CellRun(index, reply.get("execution_count"), outputs)
            if reply["status"] != "ok":
                errors = [o for o in outputs if o["output_type"] == "error"]
                if errors and not reply.get("runner"):
                    error = errors[-1]
                    run.error = {k: error[k] for k in ("ename", "evalue", "traceback")}
                else:
                    run.error = {
                        "ename": reply.get("ename", "Error"),
                        "evalue": reply.get("evalue", ""),
                        "traceback": list(reply.get("traceback", [])),
                    }
                if failed_at is None:
                    failed_at = index
                if stop_on_error:
                    runs.append(run)
                    break
            runs.append(run)
        return NotebookRun(runs, failed_at, seconds=time.monotonic() - start)

    def run_check(self, code: str) -> CheckRun:
        """Run hidden check code in the notebook's namespace (no history)."""
        if not code.strip():
            return CheckRun(True)
        reply, _ = self._execute(code, store_history=False)
        if reply["status"] == "ok":
            return CheckRun(True)
        return CheckRun(
            False,
            {
                "ename": reply.get("ename", "Error"),
                "evalue": reply.get("evalue", ""),
                "traceback": list(reply.get("traceback", [])),
            },
        )

    def run_notebook(
        self,
        cells: Sequence[Cell],
        files: Mapping[str, str | bytes] | None = None,
        check: str = "",
        stop_on_error: bool = True,
        tracebacks: bool = True,
    ) -> NotebookRun:
        """A fresh kernel state, the cells top to bottom, then ``check``
        (run even after an error, so that its failure can be read)."""
        work = self.prepare(files, tracebacks)
        try:
            result = self.run_cells(cells, stop_on_error=stop_on_error)
            result.check = self.run_check(check)
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def live_namespace(self, source: str) -> str:
        """The description of the kernel's variables that the frontend sends
        as ``namespace``: ``jupyter_codegen.kernel.live.live_context`` as a
        silent user expression (src/kernelContext.ts); "" if it fails."""
        expression = (
            "__import__('jupyter_codegen.kernel.live', fromlist=['live_context'])"
            f".live_context({json.dumps(source)})"
        )
        reply, _ = self._execute(
            "", silent=True, store_history=False, user_expressions={"codegen": expression}
        )
        found = (reply.get("user_expressions") or {}).get("codegen") or {}
        if found.get("status") != "ok":
            return ""
        try:
            return str(json.loads(found["data"]["text/plain"])["text"])
        except (KeyError, TypeError, ValueError):
            return ""


def _failure(ename: str, evalue: str) -> dict[str, Any]:
    # ``runner``: the runner's own error (a timeout, a dead kernel), not the kernel's.
    return {"status": "error", "ename": ename, "evalue": evalue, "traceback": [], "runner": True}


#: At most this much source goes to ``live_context`` (src/kernelContext.ts).
MAX_LIVE_SOURCE_CHARS = 20_000


def live_source(active_text: str, cells: Sequence[Cell], active: int) -> str:
    """What the frontend asks ``live_context`` about (``liveSource`` in
    src/kernelContext.ts): the active cell's text, then the other non-empty
    code cells, nearest first."""
    parts = [active_text[:MAX_LIVE_SOURCE_CHARS]]
    used = len(parts[0])
    order = sorted(
        (
            i
            for i, c in enumerate(cells)
            if i != active and c.cell_type == "code" and c.source.strip()
        ),
        key=lambda i: (abs(i - active), i),
    )
    for i in order:
        if used + len(cells[i].source) + 1 > MAX_LIVE_SOURCE_CHARS:
            continue
        parts.append(cells[i].source)
        used += len(cells[i].source) + 1
    return "\n".join(parts)


def cells_json(cells: Iterable[Cell]) -> list[dict[str, str]]:
    return [c.as_json() for c in cells]
