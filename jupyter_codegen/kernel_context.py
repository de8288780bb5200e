"""What the live kernel knows, as prompt context for the magics.

Everything here reads the user's namespace without running user code that
could be slow or change state: types are recognised by name, and only cheap
attributes (``shape``, ``dtypes``, ``len``) are read.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_VARIABLES = 20
MAX_COLUMNS = 40
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_value(name: str, obj: Any) -> str:
    """One short line (or a few, for a dataframe) describing ``obj``."""
    full = _type_name(obj)
    short = type(obj).__name__
    try:
        if full.startswith("pandas.") and short == "DataFrame":
            cols = [f"{c!r}: {t}" for c, t in list(obj.dtypes.items())[:MAX_COLUMNS]]
            more = len(obj.columns) - len(cols)
            lines = [f"{name}: pandas DataFrame, shape {tuple(obj.shape)}, columns:"]
            lines += [f"    {c}" for c in cols]
            if more > 0:
                lines.append(f"    ... and {more} more columns")
            return "\n".join(lines)
        if full.startswith("pandas.") and short == "Series":
            return f"{name}: pandas Series {obj.name!r}, dtype {obj.dtype}, length {len(obj)}"
        if full.startswith("numpy.") and short == "ndarray":
            return f"{name}: numpy ndarray, shape {obj.shape}, dtype {obj.dtype}"
        if full.startswith("torch.") and short == "Tensor":
            return f"{name}: torch Tensor, shape {tuple(obj.shape)}, dtype {obj.dtype}"
        if isinstance(obj, (bool, int, float, complex)):
            return f"{name}: {short} = {obj!r}"
        if isinstance(obj, str):
            shown = obj if len(obj) <= 60 else obj[:57] + "..."
            return f"{name}: str = {shown!r}"
        if isinstance(obj, (list, tuple, set, frozenset, dict)):
            kinds = sorted({type(v).__name__ for v in list(obj)[:20]})
            inner = f" of {'/'.join(kinds)}" if kinds else ""
            keys = ""
            if isinstance(obj, dict):
                keys = ", keys " + ", ".join(repr(k) for k in list(obj)[:10])
            return f"{name}: {short} of length {len(obj)}{inner}{keys}"
        if callable(obj):
            return f"{name}: {short}"
    except Exception:  # a broken __len__ or property must not break the magic
        pass
    return f"{name}: {full}"


def names_in(text: str) -> list[str]:
    """Identifiers in ``text`` (natural language or code), in first-seen order."""
    return list(dict.fromkeys(_WORD.findall(text)))


def relevant_variables(
    namespace: Mapping[str, Any], request: str, recent_cells: Sequence[str]
) -> list[str]:
    """Names of live data the request mentions, then those recent cells used."""
    wanted = names_in(request) + [n for cell in reversed(recent_cells) for n in names_in(cell)]
    picked = []
    for name in dict.fromkeys(wanted):
        if name.startswith("_") or name in _SKIP or name not in namespace:
            continue
        obj = namespace[name]
        if type(obj).__name__ == "module" or isinstance(obj, type) or hasattr(builtins, name):
            continue
        if callable(obj) and not hasattr(obj, "shape"):
            continue  # functions come in as definitions, from the history
        picked.append(name)
        if len(picked) >= MAX_VARIABLES:
            break
    return picked


def describe_namespace(namespace: Mapping[str, Any], names: Iterable[str]) -> str:
    return "\n".join(describe_value(n, namespace[n]) for n in names)


def history_context(cells: Sequence[str], request: str, recent: int = 3) -> list[str]:
    """Code chunks from the executed history: every import, the definitions
    the request or the recent cells mention (and what they use, one level),
    then the last ``recent`` cells."""
    imports: list[str] = []
    definitions: dict[str, str] = {}
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            segment = ast.get_source_segment(source, node) or ""
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if segment not in imports:
                    imports.append(segment)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions[node.name] = segment  # the latest definition wins
    tail = list(cells[-recent:]) if recent else []
    mentioned = set(names_in(request)) | {n for cell in tail for n in names_in(cell)}
    used = {n for n in definitions if n in mentioned}
    for name in list(used):
        used |= {m for m in names_in(definitions[name]) if m in definitions}
    chunks = []
    if imports:
        chunks.append("\n".join(imports))
    chunks += [src for name, src in definitions.items() if name in used and src not in tail]
    chunks += [c for c in tail if c.strip()]
    return chunks
