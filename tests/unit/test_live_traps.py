"""The trap corpus (tests/live_traps.py) against every reader of
``jupyter_codegen.kernel.live``: no trap's code runs, whatever reads it (one value, a
whole namespace, the magics' context), and with every trap on the lookup as a whole
(the namespace's keys, builtins, ``sys.modules``, torch modes, polars
extension types, IPython's hidden names)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from jupyter_codegen.kernel import live
from jupyter_codegen.kernel.live import describe_live, describe_value, live_source, pick_names
from jupyter_codegen.kernel.magic_context import magic_context

TRAPS_FILE = Path(__file__).resolve().parents[1] / "live_traps.py"


def load_corpus() -> dict[str, Any]:
    """The corpus run as a notebook's code: its classes are ``__main__``'s."""
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(TRAPS_FILE.read_text(), str(TRAPS_FILE), "exec", dont_inherit=True), ns)
    return ns


CORPUS = load_corpus()
TRAPS: list[tuple[str, Any, str | None]] = CORPUS["TRAPS"]
CALLS: list[str] = CORPUS["CALLS"]


def chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[i : i + size] for i in range(0, len(names), size)]


class Shell:
    """What the magics read of an IPython shell: its namespace, its hidden
    names and its executed history (no cell running)."""

    def __init__(self, ns: dict[Any, Any], hidden: dict[Any, Any], history: list[str]):
        self.user_ns = ns
        self.user_ns_hidden = hidden
        self.history_manager = types.SimpleNamespace(input_hist_parsed=["", *history])


def test_the_corpus_is_large_and_varied() -> None:
    # Every reader has traps: one per kind at least, and each is its own object
    assert len(TRAPS) >= 60 and len(CORPUS["ENVIRONMENT"]) >= 7
    assert len({name for name, _, _ in TRAPS}) == len(TRAPS)
    assert len({id(obj) for _, obj, _ in TRAPS}) == len(TRAPS)


@pytest.mark.parametrize(("name", "obj", "expected"), TRAPS, ids=[t[0] for t in TRAPS])
def test_a_trap_is_described_without_running_its_code(
    name: str, obj: Any, expected: str | None
) -> None:
    CALLS.clear()
    line = describe_value(name, obj)
    assert CALLS == []
    assert "TRAP" not in line and len(line.splitlines()) == 1 and line.startswith(f"{name}: ")
    if expected is not None:
        assert line == expected


@pytest.mark.parametrize("environment", [None, *CORPUS["ENVIRONMENT"]])
def test_every_reader_over_the_whole_corpus_runs_no_trap(environment: str | None) -> None:
    # Given the corpus as a namespace (its classes and helpers too), and one
    # trap on the lookup as a whole
    ns = dict(CORPUS)
    hidden: dict[Any, Any] = {"In": []}
    ns["__trap_hidden__"] = hidden
    if environment is not None:
        CORPUS["install"](environment, ns)
    CALLS.clear()
    try:
        # When every reader reads it: the lookup (20 names a time), the
        # picker, the magics' context (the request and the history name them)
        lines: dict[str, str] = {}
        for batch in chunks([name for name, _, _ in TRAPS], 20):
            text, names = describe_live(ns, " ".join(batch), 20_000, hidden)
            assert len(names) == len(text.splitlines())
            lines.update(zip(names, text.splitlines(), strict=True))
        others = pick_names(ns, "", hidden)
        sent = magic_context(Shell(ns, hidden, [CORPUS["SOURCE"]]), CORPUS["SOURCE"], 10)
        calls = list(CALLS)
    finally:
        if environment is not None:
            CORPUS["uninstall"](environment, ns)
    # Then no trap ran, and the traps are described (as alone, without traps
    # around them)
    assert calls == []
    assert 0 < len(others) <= live.MAX_VARIABLES
    described = sent.namespace.splitlines()
    assert 0 < len(described) <= live.MAX_VARIABLES and sent.cells == [CORPUS["SOURCE"]]
    picked = [line.split(": ", 1)[0] for line in described]
    assert described == [lines.get(n) or describe_value(n, ns[n]) for n in picked]
    assert "TRAP" not in "\n".join(lines.values()) + sent.namespace
    if environment is None:  # each trap in its batch; other data filled the last one
        assert [n for n in lines if n in CORPUS and n in CORPUS["SOURCE"].split()] == [
            name for name, _, _ in TRAPS
        ]
        assert all(lines[n] == e for n, _, e in TRAPS if e is not None)


def test_the_magics_describe_what_the_lookup_describes() -> None:
    # Given the corpus, a request that names some traps, a history that names others
    ns = dict(CORPUS)
    hidden: dict[Any, Any] = {"In": []}
    names = [name for name, _, _ in TRAPS]
    request, history = " ".join(names[:12]), [" ".join(names[12:30]), " ".join(names[30:50])]
    CALLS.clear()
    # When the magics build their context
    sent = magic_context(Shell(ns, hidden, history), request, 10)
    # Then no trap ran, and the variables are the lookup's own description of
    # the request, then the history newest first (one picker, one reader)
    assert CALLS == []
    source = live_source(request, history[::-1])
    assert source.startswith(request + "\n" + history[1])
    assert sent.namespace == describe_live(ns, source, live.LIVE_CHARS, hidden)[0]
    assert sent.namespace.splitlines()[0].startswith(names[0] + ": ")
    assert sent.cells == history


def clean_namespace() -> dict[str, Any]:
    """Trusted values only, under the names the traps on the whole lookup
    aim at: what is left to trip over is the trap on the lookup."""
    import numpy as np
    import pandas as pd
    import torch

    return {
        "recorder": 1,
        "tensor": torch.zeros(2, 3),
        "titled": np.zeros(2),
        "ext_frame": pd.DataFrame({"a": [1]}),
        "config": {"lr": 0.1},
    }


@pytest.mark.parametrize("environment", list(CORPUS["ENVIRONMENT"]))
def test_a_trap_on_the_whole_lookup_runs_no_code(environment: str) -> None:
    # Given trusted values only, and one trap on the lookup as a whole
    ns = clean_namespace()
    hidden: dict[Any, Any] = {"In": []}
    ns["__trap_hidden__"] = hidden
    source = "recorder tensor titled ext_frame config pl_extension print"
    expected = describe_live(clean_namespace(), source, 20_000, {"In": []})
    CORPUS["install"](environment, ns)
    CALLS.clear()
    try:
        # When the lookup and the magics' context read the namespace
        text, names = describe_live(ns, source, 20_000, hidden)
        sent = magic_context(Shell(ns, hidden, []), source, 10)
        calls = list(CALLS)
    finally:
        CORPUS["uninstall"](environment, ns)
    # Then no trap ran, and what was described is what it was without the trap
    assert calls == []
    assert "recorder: int = 1" in sent.namespace.splitlines()
    assert sent.namespace == text  # the same lookup (its lines fit in LIVE_CHARS)
    lines = dict(zip(names, text.splitlines(), strict=True))
    for name, line in zip(expected[1], expected[0].splitlines(), strict=True):
        if environment == "sys_modules" and name in ("ext_frame", "tensor"):
            continue  # pandas.arrays and torch are not modules now: less is described
        assert lines[name] == line
