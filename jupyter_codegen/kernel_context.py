"""What the live kernel knows, as prompt context: for the magics, and for the
frontend's silent lookup (:func:`live_context`).

Everything here runs inside the user's kernel and reads the user's namespace
without ever calling user code: no ``repr``/``str``/``len`` of unknown objects,
no attribute of an unknown class (which could be a property, or go through a
``__getattr__``). Values are recognised by their exact type: builtins by
identity, and pandas, polars, numpy and torch objects by identity with the
class that the already imported library exports (nothing is imported here).
Only then are their (library-defined) attributes read. Column labels, dict keys
and default values are shown only when they are plain ``str``/``int``/... .
The output is bounded in size.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import json
import re
import sys
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_VARIABLES = 20
MAX_COLUMNS = 40
MAX_KEYS = 20
#: Dicts larger than this show no keys ("small dicts" only).
MAX_DICT_LEN = 200
#: The longest description of one value, in characters.
MAX_LINE_CHARS = 1000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}

# The C-level getters of a class's own attributes: they cannot be overridden by
# a metaclass, so reading a class's name never runs user code.
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_MRO = type.__dict__["__mro__"]
_OBJECT_GETATTR = object.__getattribute__
_SCALARS = (bool, int, float, complex, type(None))
_SAFE_KEYS = (str, int)
_CONTAINERS = (list, tuple, set, frozenset)
#: How C code stores an instance's ``__dict__`` (reading it runs no user code).
_SLOT_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType)

#: Library classes described by their attributes: (package, exported name) -> kind.
_LIBRARY = {
    ("pandas", "DataFrame"): "pandas DataFrame",
    ("pandas", "Series"): "pandas Series",
    ("polars", "DataFrame"): "polars DataFrame",
    ("polars", "Series"): "polars Series",
    ("polars", "LazyFrame"): "polars LazyFrame",
    ("numpy", "ndarray"): "numpy ndarray",
    ("torch", "Tensor"): "torch Tensor",
}
_LIBRARY_PACKAGES = ("pandas", "polars", "numpy", "torch")


def _one_of(cls: type, classes: Iterable[type]) -> bool:
    """``cls in classes`` by identity (``in`` and ``==`` could call a
    metaclass's ``__eq__``)."""
    return any(cls is c for c in classes)


def _class_name(cls: type) -> str:
    """``module.QualName`` of a class, without running any of its code."""
    try:
        module = _TYPE_MODULE.__get__(cls)
        qualname = _TYPE_QUALNAME.__get__(cls)
    except Exception:
        return "?"
    module = module if type(module) is str else "?"
    qualname = qualname if type(qualname) is str else "?"
    return qualname if module == "builtins" else f"{module}.{qualname}"


def _type_name(obj: Any) -> str:
    return _class_name(type(obj))


def _library_kind(obj: Any) -> str | None:
    """The kind of a pandas/polars/numpy/torch object of exactly the class the
    library exports (a subclass could override anything), else None."""
    cls = type(obj)
    try:
        package = _TYPE_MODULE.__get__(cls)
    except Exception:
        return None
    if type(package) is not str:
        return None
    package = package.split(".")[0]
    if package not in _LIBRARY_PACKAGES or package not in sys.modules:
        return None
    module = sys.modules[package]
    for (pkg, name), kind in _LIBRARY.items():
        if pkg == package and getattr(module, name, None) is cls:
            return kind
    if package == "torch":  # nn.Parameter is a Tensor that the library defines
        nn = getattr(module, "nn", None)
        if getattr(nn, "Parameter", None) is cls:
            return "torch Tensor"
    return None


def _label(value: Any) -> str:
    """A column label or dict key as Python source, if it is a plain str/int."""
    if type(value) is str:
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if type(value) is int and -(10**18) < value < 10**18:
        return repr(value)
    return f"<{_type_name(value)}>"


def _dtype(dtype: Any) -> str:
    """A dtype as text, only if the dtype is the library's own (a user-defined
    pandas extension dtype would run user code in ``str``)."""
    try:
        module = _TYPE_MODULE.__get__(type(dtype))
    except Exception:
        return "?"
    if type(module) is str and module.split(".")[0] in _LIBRARY_PACKAGES:
        return str(dtype)
    return _type_name(dtype)


def _scalar(obj: Any) -> str | None:
    if _one_of(type(obj), _SCALARS):
        if type(obj) is int and not -(10**30) < obj < 10**30:
            return "int (large)"
        return f"{type(obj).__name__} = {obj!r}"
    if type(obj) is str:
        shown = obj if len(obj) <= 60 else obj[:57] + "..."
        return f"str = {shown!r}"
    return None


def _clip(items: list[str], total: int, limit: int) -> str:
    text = ", ".join(items[:limit])
    more = total - min(limit, len(items))
    return text + (f", ... {more} more" if more > 0 else "")


def _columns(labels: Sequence[Any], dtypes: Sequence[Any], total: int) -> str:
    items = [f"{_label(c)}: {_dtype(t)}" for c, t in zip(labels, dtypes, strict=False)]
    return "{" + _clip(items, total, MAX_COLUMNS) + "}"


def _describe_library(kind: str, obj: Any) -> str:
    if kind == "pandas DataFrame":
        ncols = obj.shape[1]
        labels = list(obj.columns[:MAX_COLUMNS])
        dtypes = list(obj.dtypes.iloc[:MAX_COLUMNS])
        return f"{kind}, shape {tuple(obj.shape)}, columns {_columns(labels, dtypes, ncols)}"
    if kind == "pandas Series":
        return f"{kind} {_label(obj.name)}, dtype {_dtype(obj.dtype)}, length {obj.shape[0]}"
    if kind == "polars DataFrame":
        names = obj.columns
        dtypes = obj.dtypes[:MAX_COLUMNS]
        return (
            f"{kind}, shape {tuple(obj.shape)}, columns "
            f"{_columns(names[:MAX_COLUMNS], dtypes, len(names))}"
        )
    if kind == "polars Series":
        return f"{kind} {_label(obj.name)}, dtype {_dtype(obj.dtype)}, length {obj.len()}"
    if kind == "polars LazyFrame":
        return kind  # its schema may have to run the query plan
    return f"{kind}, shape {tuple(obj.shape)}, dtype {_dtype(obj.dtype)}"


def _element_types(values: Iterable[Any]) -> str:
    kinds = sorted({_type_name(v) for v in values})
    return f" of {'/'.join(kinds)}" if kinds else ""


def _dict_keys(obj: dict[Any, Any], depth: int) -> str:
    """The keys of a small dict, each with its value's type (and, one level
    down, a nested dict's keys)."""
    if len(obj) > MAX_DICT_LEN:
        return ""
    items = []
    for key, value in list(obj.items())[:MAX_KEYS]:
        if not _one_of(type(key), _SAFE_KEYS):
            return ""  # keys of other types could run code to compare or show
        inner = _type_name(value)
        if type(value) is dict and depth > 0:
            nested = _dict_keys(value, depth - 1)
            inner = f"dict {nested}" if nested else inner
        items.append(f"{_label(key)}: {inner}")
    return "{" + _clip(items, len(obj), MAX_KEYS) + "}"


def _describe_container(obj: Any) -> str:
    cls = type(obj)
    if cls is dict:
        keys = _dict_keys(obj, depth=1)
        return f"dict of length {len(obj)}" + (f", keys {keys}" if keys else "")
    first = list(itertools.islice(obj, 20))
    text = f"{cls.__name__} of length {len(obj)}{_element_types(first)}"
    if (cls is list or cls is tuple) and first and type(first[0]) is dict:
        keys = _dict_keys(first[0], depth=0)
        if keys:
            text += f", first item keys {keys}"
    return text


def _annotation(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is type:
        return _class_name(value).removeprefix("typing.")
    return ""


def _default(value: Any) -> str:
    if _one_of(type(value), _SCALARS) or (type(value) is str and len(value) <= 40):
        return repr(value)
    return "..."


def function_signature(fn: types.FunctionType, *, skip_first: bool = False) -> str:
    """``(a, b=1, *args, c: int, **kw)`` of a plain Python function, read from
    its code object: no ``__signature__``/``__wrapped__`` is followed and no
    default value or annotation is shown unless it is a plain value or a class."""
    code = fn.__code__
    names = code.co_varnames
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    defaults = fn.__defaults__ or ()
    kwdefaults = fn.__kwdefaults__ or {}
    annotations: dict[str, Any] = {}
    if sys.version_info < (3, 14):  # from 3.14, reading them evaluates user code
        raw = fn.__annotations__
        annotations = raw if type(raw) is dict else {}

    def param(name: str, default: str | None) -> str:
        ann = _annotation(annotations.get(name))
        text = f"{name}: {ann}" if ann else name
        if default is not None:
            text += f" = {default}" if ann else f"={default}"
        return text

    params = []
    first_default = npos - len(defaults)
    for i in range(npos):
        default = _default(defaults[i - first_default]) if i >= first_default else None
        params.append(param(names[i], default))
    star = npos + nkw
    if code.co_flags & 0x04:  # CO_VARARGS
        params.append("*" + names[star])
        star += 1
    elif nkw:
        params.append("*")
    for i in range(npos, npos + nkw):
        name = names[i]
        params.append(param(name, _default(kwdefaults[name]) if name in kwdefaults else None))
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        params.append("**" + names[star])
    if skip_first and params and not params[0].startswith("*"):
        params = params[1:]
    ret = _annotation(annotations.get("return"))
    return "(" + ", ".join(params) + ")" + (f" -> {ret}" if ret else "")


def _class_attributes(cls: type) -> dict[str, Any] | None:
    try:
        return dict(_TYPE_DICT.__get__(cls))
    except Exception:
        return None


def _describe_class(cls: type) -> str:
    own = _class_attributes(cls) or {}
    fields = own.get("_fields")  # a namedtuple's
    if type(fields) is tuple and all(type(f) is str for f in fields):
        return f"class {_class_name(cls)}, fields {_clip(list(fields), len(fields), MAX_KEYS)}"
    init = own.get("__init__")
    if type(init) is types.FunctionType:
        return f"class {_class_name(cls)}{function_signature(init, skip_first=True)}"
    return f"class {_class_name(cls)}"


def _instance_attributes(obj: Any) -> dict[str, Any] | None:
    """An instance's ``__dict__``, if its class (and every base) leaves attribute
    access as ``object`` does it, so that reading it runs no user code."""
    try:
        mro = _TYPE_MRO.__get__(type(obj))
    except Exception:
        return None
    for klass in mro:
        if klass is object:
            continue
        attrs = _class_attributes(klass)
        if attrs is None:
            return None
        getattribute = attrs.get("__getattribute__")  # a C slot is the generic lookup
        if getattribute is not None and type(getattribute) is not types.WrapperDescriptorType:
            return None
        slot = attrs.get("__dict__")
        if slot is not None and not _one_of(type(slot), _SLOT_DESCRIPTORS):
            return None
    try:
        found = _OBJECT_GETATTR(obj, "__dict__")
    except Exception:
        return None
    return found if type(found) is dict else None


def _describe_instance(obj: Any) -> str:
    name = _type_name(obj)
    attrs = _instance_attributes(obj)
    if not attrs:
        return name
    items = [
        f"{key}: {_type_name(value)}"
        for key, value in attrs.items()
        if type(key) is str and not key.startswith("_")
    ]
    return f"{name} with attributes {{{_clip(items, len(items), MAX_KEYS)}}}" if items else name


def describe_value(name: str, obj: Any) -> str:
    """One line describing ``obj``, at most :data:`MAX_LINE_CHARS` long."""
    try:
        text = _describe(obj)
    except Exception:  # a library attribute that fails must not break the lookup
        text = _type_name(obj)
    line = f"{name}: {text}"
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."


def _describe(obj: Any) -> str:
    scalar = _scalar(obj)
    if scalar is not None:
        return scalar
    kind = _library_kind(obj)
    if kind is not None:
        return _describe_library(kind, obj)
    cls = type(obj)
    if cls is dict or _one_of(cls, _CONTAINERS):
        return _describe_container(obj)
    if cls is types.FunctionType:
        return f"function{function_signature(obj)}"
    if cls is types.ModuleType:
        return "module"
    if cls is type:  # a class (one with a metaclass is shown by name only)
        return _describe_class(obj)
    if cls is types.SimpleNamespace or _is_user_class(cls):
        return _describe_instance(obj)
    return _type_name(obj)


def _is_user_class(cls: type) -> bool:
    """A class defined in the notebook (``__main__``), e.g. a dataclass."""
    try:
        module = _TYPE_MODULE.__get__(cls)
    except Exception:
        return False
    return type(module) is str and module == "__main__"


def names_in(text: str) -> list[str]:
    """Identifiers in ``text`` (natural language or code), in first-seen order."""
    return list(dict.fromkeys(_WORD.findall(text)))


def _is_data(obj: Any) -> bool:
    """Data worth describing unasked: frames, arrays, containers, scalars."""
    cls = type(obj)
    return (
        _library_kind(obj) is not None
        or cls is dict
        or _one_of(cls, _CONTAINERS)
        or _one_of(cls, _SCALARS)
        or cls is str
        or cls is types.SimpleNamespace
        or _is_user_class(cls)
    )


def _skipped(name: str, obj: Any, hidden: Mapping[str, Any]) -> bool:
    return (
        name.startswith("_")
        or name in _SKIP
        or name in hidden
        or type(obj) is types.ModuleType
        or hasattr(builtins, name)
    )


def relevant_variables(
    namespace: Mapping[str, Any], request: str, recent_cells: Sequence[str]
) -> list[str]:
    """Names of live data the request mentions, then those recent cells used."""
    wanted = names_in(request) + [n for cell in reversed(recent_cells) for n in names_in(cell)]
    picked = []
    for name in dict.fromkeys(wanted):
        if name not in namespace:
            continue
        obj = namespace[name]
        if _skipped(name, obj, {}) or issubclass(type(obj), type):
            continue
        if type(obj) is types.FunctionType or (callable(obj) and _library_kind(obj) is None):
            continue  # functions come in as definitions, from the history
        picked.append(name)
        if len(picked) >= MAX_VARIABLES:
            break
    return picked


def describe_namespace(namespace: Mapping[str, Any], names: Iterable[str]) -> str:
    return "\n".join(describe_value(n, namespace[n]) for n in names)


def pick_names(
    namespace: Mapping[str, Any],
    source: str,
    hidden: Mapping[str, Any] | None = None,
    limit: int = MAX_VARIABLES,
) -> list[str]:
    """The user's names to describe for ``source``: those it uses, in the
    order it first uses them (any kind: data, functions, classes), then other
    data variables, newest first."""
    hidden = hidden or {}
    picked: list[str] = []
    for name in names_in(source):
        if name in namespace and not _skipped(name, namespace[name], hidden):
            picked.append(name)
            if len(picked) >= limit:
                return picked
    chosen = set(picked)
    for name in reversed(list(namespace)):
        if type(name) is not str or name in chosen:  # globals()[1] = ... is possible
            continue
        obj = namespace[name]
        if not _skipped(name, obj, hidden) and _is_data(obj):
            picked.append(name)
            if len(picked) >= limit:
                break
    return picked


def describe_live(
    namespace: Mapping[str, Any],
    source: str,
    max_chars: int = 3000,
    hidden: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """The description lines (whole lines, at most ``max_chars`` characters in
    all) and the names they describe."""
    lines: list[str] = []
    names: list[str] = []
    used = 0
    for name in pick_names(namespace, source, hidden):
        line = describe_value(name, namespace[name])
        cost = len(line) + (1 if lines else 0)
        if used + cost > max_chars:
            continue  # a shorter one further down may still fit
        lines.append(line)
        names.append(name)
        used += cost
    return "\n".join(lines), names


class LiveContext:
    """The result of :func:`live_context`: its ``repr`` is one line of JSON,
    which is what a ``user_expressions`` request returns as ``text/plain``."""

    def __init__(self, text: str, names: list[str], execution_count: int):
        self.text = text
        self.names = names
        self.execution_count = execution_count

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "names": self.names, "execution_count": self.execution_count}

    def __repr__(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=True)


def live_context(source: str, max_chars: int = 3000) -> LiveContext:
    """Describe the kernel's variables that ``source`` (the active cell first,
    then the notebook's other code) uses, then other data variables, in at most
    ``max_chars`` characters. Runs in the user's IPython kernel; see
    :mod:`jupyter_codegen.kernel_context` for what it never does."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return LiveContext("", [], 0)
    max_chars = max(0, min(int(max_chars), 20_000))
    hidden = getattr(shell, "user_ns_hidden", {}) or {}
    text, names = describe_live(shell.user_ns, str(source)[:200_000], max_chars, hidden)
    return LiveContext(text, names, int(shell.execution_count))


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
