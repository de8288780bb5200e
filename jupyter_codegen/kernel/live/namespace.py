"""The namespace side of a lookup: which of the user's names to describe for
a source (:func:`pick_names`), their lines bounded as a whole
(:func:`describe_live`), the source built from the active text and the other
code (:func:`live_source`), and the reply to the frontend (:func:`live_context`,
:class:`LiveContext`). The namespace, ``user_ns_hidden`` and builtins are
read as the rule of :mod:`jupyter_codegen.kernel.live` says: copied by
iteration, exact ``str`` names only."""

from __future__ import annotations

import builtins
import json
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_codegen.kernel.live.limits import (
    LIVE_CHARS,
    MAX_LIVE_SOURCE_CHARS,
    MAX_NAME_CHARS,
    MAX_REPLY_CHARS,
    MAX_SOURCE_CHARS,
    MAX_VARIABLES,
)
from jupyter_codegen.kernel.live.reader import Reader, describe_line
from jupyter_codegen.kernel.live.trusted import guarded, module_items, str_items

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}


def names_in(text: str) -> list[str]:
    """Identifiers in ``text`` (natural language or code), in first-seen order."""
    return list(dict.fromkeys(_WORD.findall(text)))


def _user_names(namespace: Any) -> dict[str, Any]:
    """The namespace's variables whose names are exact ``str`` (a copy: a
    lookup in the namespace itself could call a ``str`` subclass key's
    ``__eq__``). A namespace that is not an exact dict is not read."""
    return str_items(namespace)


def _builtin_names() -> dict[str, Any]:
    return module_items(builtins)


def _skipped(
    name: str, obj: Any, hidden: Mapping[str, Any], builtin_names: Mapping[str, Any]
) -> bool:
    return (
        len(name) > MAX_NAME_CHARS
        or not name.isidentifier()
        or name.startswith("_")
        or name in _SKIP
        or name in hidden
        or type(obj) is types.ModuleType
        or name in builtin_names
    )


@guarded
def pick_names(
    namespace: Mapping[str, Any],
    source: str,
    hidden: Mapping[str, Any] | None = None,
    limit: int = MAX_VARIABLES,
) -> list[str]:
    """The user's names to describe for ``source``: those it uses, in the
    order it first uses them (any kind: data, functions, classes), then other
    data variables, newest first."""
    return _pick(Reader(), _user_names(namespace), source, str_items(hidden), limit)


def _pick(
    reader: Reader, names: dict[str, Any], source: str, hidden: dict[str, Any], limit: int
) -> list[str]:
    builtin_names = _builtin_names()
    picked: list[str] = []
    for name in names_in(source):
        if name in names and not _skipped(name, names[name], hidden, builtin_names):
            picked.append(name)
            if len(picked) >= limit:
                return picked
    chosen = set(picked)
    for name in reversed(list(names)):
        if name in chosen:
            continue
        obj = names[name]
        if not _skipped(name, obj, hidden, builtin_names) and reader.is_data(obj):
            picked.append(name)
            if len(picked) >= limit:
                break
    return picked


@guarded
def describe_live(
    namespace: Mapping[str, Any],
    source: str,
    max_chars: int = LIVE_CHARS,
    hidden: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """The description lines (whole lines) and the names they describe, in at
    most ``max_chars`` characters together: ``len(text) + sum(map(len,
    names))`` (each name is also in its line, so a name cannot make the reply
    larger than twice the text)."""
    reader = Reader()
    names = _user_names(namespace)
    lines: list[str] = []
    described: list[str] = []
    used = 0
    for name in _pick(reader, names, source, str_items(hidden), MAX_VARIABLES):
        line = describe_line(reader, name, names[name])
        cost = len(line) + (1 if lines else 0) + len(name)
        if used + cost > max_chars:
            continue  # a shorter one further down may still fit
        lines.append(line)
        described.append(name)
        used += cost
    return "\n".join(lines), described


class LiveContext:
    """The result of :func:`live_context`. IPython formats a user expression's
    value with its display formatter: ``_repr_mimebundle_`` gives it
    ``application/json`` (which the frontend reads) and a ``text/plain`` of the
    same JSON, both kept even when a ``text/plain`` formatter such as rich's
    replaces the default one. ``_repr_json_`` and ``repr`` (one line of JSON)
    cover a disabled mimebundle formatter."""

    def __init__(self, text: str, names: list[str], execution_count: int):
        self.text = text
        self.names = names
        self.execution_count = execution_count

    @guarded
    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "names": self.names, "execution_count": self.execution_count}

    @guarded
    def __repr__(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=True)

    @guarded
    def _repr_json_(self) -> dict[str, Any]:
        return self.to_json()

    @guarded
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"application/json": self.to_json(), "text/plain": repr(self)}


@guarded
def live_context(source: str, max_chars: int = LIVE_CHARS) -> LiveContext:
    """Describe the kernel's variables that ``source`` (the active cell first,
    then the notebook's other code) uses, then other data variables, in at most
    ``max_chars`` characters (text and names together). Runs in the user's
    IPython kernel; see :mod:`jupyter_codegen.kernel.live` for the rule it
    follows."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return LiveContext("", [], 0)
    if type(max_chars) is not int:
        max_chars = LIVE_CHARS
    max_chars = max(0, min(max_chars, MAX_REPLY_CHARS))
    source = source[:MAX_SOURCE_CHARS] if type(source) is str else ""
    namespace = shell.user_ns
    hidden = getattr(shell, "user_ns_hidden", None)
    text, names = describe_live(namespace, source, max_chars, hidden)
    count = shell.execution_count
    return LiveContext(text, names, count if type(count) is int else 0)


def live_source(active: str, others: Sequence[str]) -> str:
    """The source that names are chosen from, as the frontend builds it
    (``liveSource`` in src/kernelContext.ts): the active text first, then the
    other non-empty code, ``others`` nearest first, each whole, within
    :data:`MAX_LIVE_SOURCE_CHARS` (a text that does not fit is left out, a
    shorter one further on may still fit). Only exact ``str`` texts are read."""
    parts = [active[:MAX_LIVE_SOURCE_CHARS] if type(active) is str else ""]
    used = len(parts[0])
    for text in others:
        if type(text) is not str or not text.strip():
            continue
        if used + len(text) + 1 > MAX_LIVE_SOURCE_CHARS:
            continue
        parts.append(text)
        used += len(text) + 1
    return "\n".join(parts)
