"""The reader of one lookup (:class:`Reader`): it dispatches each value to the
reader of its kind (scalars, builtin containers, functions, classes, the
notebook's instances, library objects), and describes it in one bounded line.
Every step follows the rule of :mod:`jupyter_codegen.kernel.live`."""

from __future__ import annotations

import types
from typing import Any

from jupyter_codegen.kernel.live.frames import PandasReader
from jupyter_codegen.kernel.live.limits import MAX_LINE_CHARS
from jupyter_codegen.kernel.live.objects import scalar_text
from jupyter_codegen.kernel.live.registry import KIND_NAMES
from jupyter_codegen.kernel.live.trusted import CONTAINERS, SCALARS, clean, guarded, one_of


class Reader(PandasReader):
    """One lookup: every reader, and the dispatch between them."""

    def describe(self, obj: Any) -> str:
        scalar = scalar_text(obj)
        if scalar is not None:
            return scalar
        role = self.reg.role(obj)
        if role is not None and role in KIND_NAMES:
            return self.describe_library(role, obj)
        cls = type(obj)
        if cls is dict or one_of(cls, CONTAINERS):
            return self.describe_container(obj)
        if cls is types.FunctionType:
            return f"function{self.signature(obj) or '(...)'}"
        if cls is types.ModuleType:
            return "module"
        if cls is type:  # a class (one with a metaclass is shown by name only)
            return self.describe_class(obj)
        if cls is types.SimpleNamespace or self.is_user_class(cls):
            return self.describe_instance(obj)
        return self.type_name(obj)

    def is_data(self, obj: Any) -> bool:
        """Data worth describing unasked: frames, arrays, containers, scalars."""
        cls = type(obj)
        return (
            self.reg.is_kind(obj)
            or cls is dict
            or cls is str
            or one_of(cls, CONTAINERS)
            or one_of(cls, SCALARS)
            or cls is types.SimpleNamespace
            or self.is_user_class(cls)
        )

    def describe_library(self, kind: str, obj: Any) -> str:
        if kind == "pandas DataFrame":
            return self.pandas_frame(obj)
        if kind == "pandas Series":
            return self.pandas_series(obj)
        if kind == "polars DataFrame":
            return self.polars_frame(obj)
        if kind == "polars Series":
            return self.polars_series(obj)
        if kind == "polars LazyFrame":
            return kind  # its schema may have to run the query plan
        if kind == "numpy ndarray":
            return self.numpy_array(obj)
        return self.torch_tensor(obj)


@guarded
def function_signature(fn: types.FunctionType, *, skip_first: bool = False) -> str:
    """``(a, b=1, *args, c: int, **kw)`` of a plain Python function, read from
    its code object: no ``__signature__``/``__wrapped__`` is followed and no
    default value or annotation is shown unless it is a plain value or a class.
    ``(...)`` when its defaults are not an exact tuple and dict."""
    try:
        return Reader().signature(fn, skip_first=skip_first) or "(...)"
    except Exception:
        return "(...)"


@guarded
def describe_value(name: str, obj: Any) -> str:
    """One line describing ``obj``, at most :data:`MAX_LINE_CHARS` long."""
    return describe_line(Reader(), name, obj)


def describe_line(reader: Reader, name: str, obj: Any) -> str:
    try:
        text = reader.describe(obj)
    except Exception:  # a library attribute that fails must not break the lookup
        text = reader.type_name(obj)
    line = f"{name}: {text}"
    line = line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."
    return clean(line)
