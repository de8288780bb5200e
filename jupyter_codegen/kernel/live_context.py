"""What the live kernel knows, as prompt context: for the magics, and for the
frontend's silent lookup (:func:`live_context`).

Everything here runs inside the user's kernel and reads the user's namespace.
It never runs code that the user (or a package other than the few below)
defined. The rule that every reader in this module follows:

**A value is read only through steps that are each one of these:**

1. ``type(x)``, ``is``, ``id(x)`` and ``callable(x)`` (a test of the type's
   call slot): they never call anything.
2. C code of an *exact* builtin type on an object of exactly that type:
   ``len``, iteration and slicing of an exact ``list``/``tuple``/``dict``/
   ``set``/``frozenset``/``str``; ``repr`` of an exact ``str``/``int``/
   ``float``/``complex``/``bool``/``None``; hashing and ``==`` between exact
   ``str``/``int``. A subclass of any of them is untrusted: it may override
   all of that. Truth tests, ``in``, ``isinstance`` (which asks
   ``obj.__class__``) and ``getattr`` are never applied to untrusted objects.
3. The C getters of ``type``, functions, code objects, descriptors and
   modules, called through the descriptor itself (``type.__dict__["__mro__"]
   .__get__(cls)``), so that no metaclass and no ``__getattribute__`` is
   involved. An instance's ``__dict__`` is read through the ``__dict__``
   descriptor that ``type`` made for its class, never through ``getattr``.
4. Library code (numpy, pandas, polars, torch, pyarrow) on an object whose
   class *is* (by identity) a class that the library's own module exports,
   and only after every object that this code touches has passed this same
   rule: each pandas column's array and its dtype, each index and its array,
   numpy dtypes (a structured dtype's field names and field dtypes, never its
   titles), polars with no Python extension type registered, torch with
   every ``__torch_function__`` (modes and subclasses) disabled.

Dict lookups are the subtle case: ``key in d`` compares ``key`` with every
stored key of the same hash, and a ``str`` subclass key compares with its own
``__eq__``. So nothing is looked up in a dict whose keys are not all trusted
(the namespace, ``user_ns_hidden``, ``sys.modules``, module, class and
instance dicts, ``__kwdefaults__``, annotations, numpy's ``fields``): such a
dict is scanned once, and only its exact ``str`` keys are used (from a copy).

What does not pass is described by its type's name only (or less: a frame
whose index is not trusted by its kind, a function whose defaults are not an
exact tuple by ``function(...)``). Every public function runs with the cyclic
garbage collector paused and warnings ignored, so that no finalizer of the
user's garbage, ``gc.callbacks`` or ``warnings.showwarning`` runs in a lookup.
The reply is bounded as a whole (text and names together) and reaches the
frontend as ``application/json``, which no ``text/plain`` formatter (``rich``)
changes.

Outside the rule: a library that the user changed (a pandas method replaced
at runtime, or ``sys.modules["pandas"]`` replaced by a real module of their
own), and hooks that run for any Python code (``sys.settrace``/``setprofile``,
audit hooks, signal handlers). The trap corpus, tests/live_traps.py, gets a
row for every new reader and every type it trusts.
"""

from __future__ import annotations

import ast
import builtins
import datetime
import functools
import gc
import itertools
import json
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

MAX_VARIABLES = 20
MAX_COLUMNS = 40
MAX_KEYS = 20
#: Dicts larger than this show no keys ("small dicts" only).
MAX_DICT_LEN = 200
#: The longest description of one value, in characters.
MAX_LINE_CHARS = 1000
#: Longer names are not described (nor listed): no one types them.
MAX_NAME_CHARS = 100
#: The most that :func:`live_context` returns, text and names together.
MAX_REPLY_CHARS = 20_000
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIP = {"In", "Out", "exit", "quit", "get_ipython"}

# The C getters of the attributes of a class, of a module's dict and of
# functions: called through the descriptor, no metaclass can step in.
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_FLAGS = type.__dict__["__flags__"]
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by Python code
_MODULE_DICT = vars(types.ModuleType)["__dict__"]
_SCALARS = (bool, int, float, complex, type(None))
_CONTAINERS = (list, tuple, set, frozenset)
#: How C code stores an instance's ``__dict__``.
_SLOT_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType)
#: Characters that would break a description into lines, or hide in it.
_UNPRINTABLE = {c: "?" for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


def _one_of(cls: Any, classes: Iterable[Any]) -> bool:
    """``cls in classes`` by identity (``in`` and ``==`` could call a
    metaclass's ``__eq__``)."""
    return any(cls is c for c in classes)


def _str_items(d: Any) -> dict[str, Any]:
    """A copy of an exact dict with only its exact-``str`` keys, made by
    iterating it (a lookup in ``d`` itself could call a key's ``__eq__``)."""
    if type(d) is not dict:
        return {}
    return {k: v for k, v in d.items() if type(k) is str}


def _is_plain_dict(d: Any) -> bool:
    """An exact dict whose keys are all exact ``str``: lookups in it run no
    user code (attribute lookups of library objects go through such dicts)."""
    return type(d) is dict and all(type(k) is str for k in d)


def _mro(cls: type) -> tuple[type, ...]:
    mro = _TYPE_MRO.__get__(cls)
    return mro if type(mro) is tuple else ()


def _is_class(obj: Any) -> bool:
    """``isinstance(obj, type)`` without asking ``obj.__class__``."""
    return _one_of(type, _mro(type(obj)))


def _module_items(module: Any, names: Iterable[str] | None = None) -> dict[str, Any]:
    """A module's attributes read from its own dict (no module ``__getattr__``,
    no ``__class__`` a user assigned), only exact ``str`` names."""
    if type(module) is not types.ModuleType:
        return {}
    items = _str_items(_MODULE_DICT.__get__(module))
    if names is None:
        return items
    return {n: items[n] for n in names if n in items}


_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(fn: _F) -> _F:
    """Run ``fn`` with the cyclic garbage collector paused and warnings
    ignored: a collection would run the finalizers (``__del__``) of the user's
    garbage and ``gc.callbacks``, and a warning ``warnings.showwarning``, all
    user code, in the middle of a lookup."""

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return guarded  # type: ignore[return-value]


def _clean(text: str) -> str:
    """``text`` on one line: control and line-break characters become ``?``."""
    return text if text.isprintable() else text.translate(_UNPRINTABLE)


# -- the library classes, by identity -------------------------------------------

#: The modules whose classes are trusted, read from ``sys.modules``.
_LIBRARY_MODULES = (
    "numpy",
    "numpy.dtypes",
    "pandas",
    "pandas.arrays",
    "pandas.core.dtypes.dtypes",
    "pandas.core.internals.managers",
    "pandas.core.internals.blocks",
    "pandas.core.indexes.frozen",
    "pandas.tseries.offsets",
    "polars",
    "polars.datatypes.classes",
    "polars.datatypes.extension",
    "torch",
    "torch._C",
    "torch.nn.parameter",
    "pyarrow.lib",
    "zoneinfo",
)
_KINDS = {
    ("pandas", "DataFrame"): "pandas DataFrame",
    ("pandas", "Series"): "pandas Series",
    ("polars", "DataFrame"): "polars DataFrame",
    ("polars", "Series"): "polars Series",
    ("polars", "LazyFrame"): "polars LazyFrame",
    ("numpy", "ndarray"): "numpy ndarray",
    ("torch", "Tensor"): "torch Tensor",
    ("torch.nn.parameter", "Parameter"): "torch Tensor",
}
_KIND_NAMES = frozenset(_KINDS.values())
_PANDAS_INDEXES = (
    "Index",
    "RangeIndex",
    "MultiIndex",
    "CategoricalIndex",
    "DatetimeIndex",
    "TimedeltaIndex",
    "PeriodIndex",
    "IntervalIndex",
)
#: pandas' dtypes, with what must hold for their ``str`` to run no user code.
_PANDAS_DTYPES = {
    "CategoricalDtype": "categorical",
    "StringDtype": "plain",
    "BooleanDtype": "plain",
    "PeriodDtype": "period",
    "DatetimeTZDtype": "tz",
    "IntervalDtype": "interval",
    "SparseDtype": "sparse",
    "ArrowDtype": "arrow",
    "NumpyEADtype": "numpy",
    **{f"{k}{n}Dtype": "plain" for k in ("Int", "UInt") for n in (8, 16, 32, 64)},
    "Float32Dtype": "plain",
    "Float64Dtype": "plain",
}
#: pyarrow types whose text is their own parameters (no child types).
_ARROW_TYPES = (
    "DataType",
    "TimestampType",
    "Time32Type",
    "Time64Type",
    "DurationType",
    "Decimal128Type",
    "Decimal256Type",
    "FixedSizeBinaryType",
)


class _Registry:
    """The trusted classes of this process: ``roles[id(cls)] = (cls, role)``."""

    def __init__(self, modules: dict[str, Any]):
        self.modules = modules
        self.roles: dict[int, tuple[Any, str]] = {}
        self.disable_torch_function: Any = None
        get = {name: _module_items(module) for name, module in modules.items()}
        for (package, name), kind in _KINDS.items():
            self._add(get.get(package, {}).get(name), kind)
        numpy = get.get("numpy", {})
        for scalar in _str_items(numpy.get("sctypeDict")).values():
            self._add(scalar, "numpy scalar")
        for name in ("void", "record"):  # a structured dtype's scalar type
            self._add(numpy.get(name), "numpy void")
        # numpy's dtype classes: made by numpy itself from its type codes (numpy
        # before 1.25 exports no numpy.dtypes), then by name from numpy.dtypes
        dtype: Any = numpy.get("dtype")
        if _is_class(dtype) and not _TYPE_FLAGS.__get__(dtype) & _HEAPTYPE:
            for code in "?bBhHiIlLqQefdgFDGSUOMm":
                self._add(type(dtype(code)), "numpy dtype builtin")
            self._add(type(dtype("V")), "numpy dtype VoidDType")
        for name, cls in get.get("numpy.dtypes", {}).items():
            if name.endswith("DType"):
                self._add(cls, f"numpy dtype {name}")
        pandas = get.get("pandas", {})
        for name in _PANDAS_INDEXES:
            self._add(pandas.get(name), "pandas index")
        self._add(pandas.get("Categorical"), "pandas array")
        for cls in get.get("pandas.arrays", {}).values():
            self._add(cls, "pandas array")
        dtypes = {**get.get("pandas.core.dtypes.dtypes", {}), **pandas}
        for name, rule in _PANDAS_DTYPES.items():
            self._add(dtypes.get(name), f"pandas dtype {rule}")
        managers = get.get("pandas.core.internals.managers", {})
        for name in ("BlockManager", "SingleBlockManager"):
            self._add(managers.get(name), "pandas manager")
        for name, cls in get.get("pandas.core.internals.blocks", {}).items():
            if name.endswith("Block"):
                self._add(cls, "pandas block")
        self._add(get.get("pandas.core.indexes.frozen", {}).get("FrozenList"), "pandas list")
        for cls in get.get("pandas.tseries.offsets", {}).values():
            self._add(cls, "pandas offset")
        for name, cls in get.get("polars.datatypes.classes", {}).items():
            if "Extension" not in name:
                self._add(cls, "polars dtype")
        torch = get.get("torch", {})
        self._add(torch.get("dtype"), "torch dtype")
        self._add(torch.get("Size"), "torch size")
        disable = get.get("torch._C", {}).get("DisableTorchFunction")
        if _is_class(disable) and not _TYPE_FLAGS.__get__(disable) & _HEAPTYPE:
            self.disable_torch_function = disable  # C code, not a look-alike
        arrow = get.get("pyarrow.lib", {})
        for name in _ARROW_TYPES:
            self._add(arrow.get(name), "arrow type")
        self._add(datetime.timezone, "tz")
        self._add(get.get("zoneinfo", {}).get("ZoneInfo"), "tz")

    def _add(self, cls: Any, role: str) -> None:
        if cls is not None and _is_class(cls):
            self.roles[id(cls)] = (cls, role)

    def role(self, obj: Any) -> str | None:
        """The role of ``obj``'s exact class, if it is a trusted one."""
        return self.class_role(type(obj))

    def class_role(self, cls: Any) -> str | None:
        """The role of the class ``cls`` itself, if it is a trusted one."""
        found = self.roles.get(id(cls))
        return found[1] if found is not None and found[0] is cls else None

    def is_kind(self, obj: Any) -> bool:
        """A frame, series, array or tensor that a library reader describes."""
        role = self.role(obj)
        return role is not None and role in _KIND_NAMES

    def polars_extensions(self) -> bool:
        """Whether a Python extension type is registered with polars (then
        reading a frame's dtypes may construct one of its objects)."""
        module = self.modules.get("polars.datatypes.extension")
        if module is None:
            return False
        registry = _module_items(module, ["_REGISTRY"]).get("_REGISTRY", {})
        if type(registry) is not dict:
            return True
        return not all(type(v) is str for v in registry.values())


_REGISTRY_CACHE: list[_Registry] = []


def _registry() -> _Registry:
    """The registry for the library modules imported now (kept while they are
    the same module objects: classes a user reassigns later are not taken)."""
    modules_dict = _module_items(sys, ["modules"]).get("modules")
    wanted = set(_LIBRARY_MODULES)
    modules = {}
    if type(modules_dict) is dict:
        for name, module in modules_dict.items():
            if type(name) is str and name in wanted and type(module) is types.ModuleType:
                modules[name] = module
    if _REGISTRY_CACHE:
        cached = _REGISTRY_CACHE[0]
        if len(cached.modules) == len(modules) and all(
            cached.modules.get(name) is module for name, module in modules.items()
        ):
            return cached
    registry = _Registry(modules)
    _REGISTRY_CACHE[:] = [registry]
    return registry


# -- reading ---------------------------------------------------------------------


class _Reader:
    """One lookup: the trusted classes, and what it already read of classes."""

    def __init__(self) -> None:
        self.reg = _registry()
        self._class_dicts: dict[int, tuple[type, dict[str, Any]]] = {}
        self._class_names: dict[int, tuple[type, str]] = {}

    # classes and instances

    def class_dict(self, cls: type) -> dict[str, Any]:
        """A class's own attributes, exact ``str`` names only (a copy)."""
        found = self._class_dicts.get(id(cls))
        if found is not None and found[0] is cls:
            return found[1]
        try:
            proxy = _TYPE_DICT.__get__(cls)
            attrs = (
                {k: v for k, v in proxy.items() if type(k) is str}
                if type(proxy) is types.MappingProxyType
                else {}
            )
        except Exception:
            attrs = {}
        self._class_dicts[id(cls)] = (cls, attrs)
        return attrs

    def class_module(self, cls: type) -> str | None:
        try:
            if _TYPE_FLAGS.__get__(cls) & _HEAPTYPE:  # its module is in its dict
                module = self.class_dict(cls).get("__module__")
            else:  # a C type: from its C name
                module = _TYPE_MODULE.__get__(cls)
        except Exception:
            return None
        return module if type(module) is str else None

    def class_name(self, cls: type) -> str:
        """``module.QualName`` of a class, without running any of its code."""
        found = self._class_names.get(id(cls))
        if found is not None and found[0] is cls:
            return found[1]
        module = self.class_module(cls) or "?"
        try:
            qualname = _TYPE_QUALNAME.__get__(cls)
        except Exception:
            qualname = "?"
        qualname = qualname if type(qualname) is str else "?"
        name = qualname if module == "builtins" else f"{module}.{qualname}"
        name = _clean(name if len(name) <= 200 else name[:197] + "...")
        self._class_names[id(cls)] = (cls, name)
        return name

    def type_name(self, obj: Any) -> str:
        return self.class_name(type(obj))

    def is_user_class(self, cls: type) -> bool:
        """A class defined in the notebook (``__main__``), e.g. a dataclass."""
        return self.class_module(cls) == "__main__"

    def instance_dict(self, obj: Any) -> dict[str, Any] | None:
        """An instance's ``__dict__``, read through the ``__dict__`` descriptor
        that its class (or the base that has one) got from ``type``."""
        cls = type(obj)
        for klass in _mro(cls):
            if klass is object:
                return {}  # no instance dict (__slots__, or a C type without one)
            descriptor = self.class_dict(klass).get("__dict__")
            if descriptor is None:
                continue
            if not _one_of(type(descriptor), _SLOT_DESCRIPTORS):
                return None  # a property or another descriptor: user code
            if descriptor.__objclass__ is not klass:
                return None
            found = descriptor.__get__(obj, cls)
            return found if type(found) is dict else None
        return {}

    def library_attrs(self, obj: Any) -> dict[str, Any] | None:
        """A library object's instance dict, if its keys are all exact ``str``
        (then the library's own attribute lookups in it run no user code)."""
        attrs = self.instance_dict(obj)
        return attrs if attrs is not None and _is_plain_dict(attrs) else None

    # values

    def label(self, value: Any) -> str:
        """A column label or dict key as Python source, if it is a plain str/int."""
        if type(value) is str:
            return repr(value if len(value) <= 80 else value[:77] + "...")
        if type(value) is int and -(10**18) < value < 10**18:
            return repr(value)
        return f"<{self.type_name(value)}>"

    def describe(self, obj: Any) -> str:
        scalar = _scalar(obj)
        if scalar is not None:
            return scalar
        role = self.reg.role(obj)
        if role is not None and role in _KIND_NAMES:
            return self.describe_library(role, obj)
        cls = type(obj)
        if cls is dict or _one_of(cls, _CONTAINERS):
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
            or _one_of(cls, _CONTAINERS)
            or _one_of(cls, _SCALARS)
            or cls is types.SimpleNamespace
            or self.is_user_class(cls)
        )

    # builtin containers

    def element_types(self, values: Iterable[Any]) -> str:
        kinds = sorted({self.type_name(v) for v in values})
        return f" of {'/'.join(kinds)}" if kinds else ""

    def dict_keys(self, obj: dict[Any, Any], depth: int) -> str:
        """The keys of a small dict, each with its value's type (and, one level
        down, a nested dict's keys)."""
        if len(obj) > MAX_DICT_LEN:
            return ""
        items = []
        for key, value in list(obj.items())[:MAX_KEYS]:
            if type(key) is not str and type(key) is not int:
                return ""  # keys of other types could run code to compare or show
            inner = self.type_name(value)
            if type(value) is dict and depth > 0:
                nested = self.dict_keys(value, depth - 1)
                inner = f"dict {nested}" if nested else inner
            items.append(f"{self.label(key)}: {inner}")
        return "{" + _clip(items, len(obj), MAX_KEYS) + "}"

    def describe_container(self, obj: Any) -> str:
        cls = type(obj)
        if cls is dict:
            keys = self.dict_keys(obj, depth=1)
            return f"dict of length {len(obj)}" + (f", keys {keys}" if keys else "")
        first = list(itertools.islice(obj, 20))
        text = f"{cls.__name__} of length {len(obj)}{self.element_types(first)}"
        if (cls is list or cls is tuple) and first and type(first[0]) is dict:
            keys = self.dict_keys(first[0], depth=0)
            if keys:
                text += f", first item keys {keys}"
        return text

    # functions, classes, instances

    def signature(self, fn: types.FunctionType, skip_first: bool = False) -> str | None:
        """``(a, b=1, *args, c: int, **kw)`` of a plain Python function, read
        from its code object (no ``__signature__``/``__wrapped__``), or None
        when its defaults are not an exact tuple and dict (a subclass would
        run its own ``len``, indexing or ``in``)."""
        code = fn.__code__
        defaults = fn.__defaults__
        kwdefaults = fn.__kwdefaults__
        if type(code) is not types.CodeType:
            return None
        if defaults is None:
            defaults = ()
        elif type(defaults) is not tuple:
            return None
        if kwdefaults is not None and type(kwdefaults) is not dict:
            return None
        kw = _str_items(kwdefaults)
        annotations: dict[str, Any] = {}
        if sys.version_info < (3, 14):  # from 3.14, reading them evaluates user code
            annotations = _str_items(fn.__annotations__)
        names = code.co_varnames
        npos, nkw = code.co_argcount, code.co_kwonlyargcount
        if type(names) is not tuple or not all(type(n) is str for n in names):
            return None

        def param(name: str, default: str | None) -> str:
            ann = self.annotation(annotations.get(name))
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
            params.append(param(name, _default(kw[name]) if name in kw else None))
        if code.co_flags & 0x08:  # CO_VARKEYWORDS
            params.append("**" + names[star])
        if skip_first and params and not params[0].startswith("*"):
            params = params[1:]
        ret = self.annotation(annotations.get("return"))
        return "(" + ", ".join(params) + ")" + (f" -> {ret}" if ret else "")

    def annotation(self, value: Any) -> str:
        if type(value) is str:
            return value
        if type(value) is type:
            return self.class_name(value).removeprefix("typing.")
        return ""

    def describe_class(self, cls: type) -> str:
        own = self.class_dict(cls)
        name = self.class_name(cls)
        fields = own.get("_fields")  # a namedtuple's
        if type(fields) is tuple and all(type(f) is str for f in fields):
            return f"class {name}, fields {_clip(list(fields), len(fields), MAX_KEYS)}"
        init = own.get("__init__")
        if type(init) is types.FunctionType:
            return f"class {name}{self.signature(init, skip_first=True) or '(...)'}"
        return f"class {name}"

    def describe_instance(self, obj: Any) -> str:
        name = self.type_name(obj)
        attrs = self.instance_dict(obj)
        if not attrs:
            return name
        items = [
            f"{key}: {self.type_name(value)}"
            for key, value in attrs.items()
            if type(key) is str and not key.startswith("_")
        ]
        return f"{name} with attributes {{{_clip(items, len(items), MAX_KEYS)}}}" if items else name

    # library objects

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
            shape = obj.shape
            if type(shape) is not tuple or not all(type(d) is int for d in shape):
                return kind
            return f"{kind}, shape {shape!r}, dtype {self.numpy_dtype(obj.dtype)}"
        return self.torch_tensor(obj)

    def columns_text(self, labels: Sequence[Any], dtypes: Sequence[str], total: int) -> str:
        items = [f"{self.label(c)}: {t}" for c, t in zip(labels, dtypes, strict=False)]
        return "{" + _clip(items, total, MAX_COLUMNS) + "}"

    # numpy

    def numpy_dtype(self, dtype: Any, depth: int = 0) -> str:
        """A numpy dtype as ``str(dtype)`` when that runs no user code, else
        from its field names and field dtypes, else its type's name."""
        if self.numpy_dtype_trusted(dtype, depth):
            return str(dtype)
        role = self.reg.role(dtype)
        if role == "numpy dtype VoidDType" and depth < 3:
            names = dtype.names
            fields = {k: v for k, v in _proxy_items(dtype.fields) if type(k) is str}
            if type(names) is tuple and all(type(n) is str and n in fields for n in names):
                items = []
                for name in names[:MAX_COLUMNS]:
                    field = fields[name]
                    inner = field[0] if type(field) is tuple and len(field) >= 2 else None
                    items.append(f"({name!r}, {self.numpy_dtype(inner, depth + 1)})")
                return "[" + _clip(items, len(names), MAX_COLUMNS) + "]"
        return self.type_name(dtype)

    def numpy_dtype_trusted(self, dtype: Any, depth: int = 0) -> bool:
        """Whether numpy's own ``str(dtype)`` touches only trusted objects."""
        role = self.reg.role(dtype)
        if role is None or not role.startswith("numpy dtype") or depth > 3:
            return False
        if role == "numpy dtype StringDType":  # its NA object is shown with repr
            na = getattr(dtype, "na_object", None)
            return _one_of(type(na), _SCALARS) or type(na) is str
        if role != "numpy dtype VoidDType":
            return True
        if self.reg.class_role(dtype.type) != "numpy void":
            return False  # a user subclass of np.void
        names = dtype.names
        if names is None:
            sub = dtype.subdtype
            if sub is None:
                return True
            return (
                type(sub) is tuple
                and len(sub) == 2
                and self.numpy_dtype_trusted(sub[0], depth + 1)
                and type(sub[1]) is tuple
                and all(type(d) is int for d in sub[1])
            )
        items = _proxy_items(dtype.fields)
        if type(names) is not tuple or not all(type(k) is str for k, _ in items):
            return False
        if len(items) != len(names):
            return False  # titles are keys too: then there are more keys than names
        fields = dict(items)
        for name in names:
            field = fields.get(name) if type(name) is str else None
            if type(field) is not tuple or len(field) != 2:  # (dtype, offset[, title])
                return False
            if not self.numpy_dtype_trusted(field[0], depth + 1):
                return False
        return True

    # pandas

    def pandas_dtype(self, dtype: Any) -> str | None:
        """A pandas or numpy dtype as text, None when its ``str`` could run user
        code (a time zone, fill value or arrow type of another package)."""
        role = self.reg.role(dtype)
        if role is None:
            return None
        if role.startswith("numpy dtype"):
            return str(dtype) if self.numpy_dtype_trusted(dtype) else None
        if not role.startswith("pandas dtype"):
            return None
        rule = role.removeprefix("pandas dtype ")
        attrs = self.library_attrs(dtype)
        if rule == "categorical":
            categories = attrs.get("_categories") if attrs is not None else None
            if categories is not None and not self.pandas_index_trusted(categories):
                return None
        elif rule == "period":
            if attrs is None or self.reg.role(attrs.get("_freq")) != "pandas offset":
                return None
        elif rule == "tz":
            if attrs is None or self.reg.role(attrs.get("_tz")) != "tz":
                return None
        elif rule == "interval":
            subtype = attrs.get("_subtype") if attrs is not None else None
            if subtype is not None and self.pandas_dtype(subtype) is None:
                return None
        elif rule == "sparse":
            if attrs is None or self.pandas_dtype(attrs.get("_dtype")) is None:
                return None
            fill = attrs.get("_fill_value")
            if not (_one_of(type(fill), _SCALARS) or self.reg.role(fill) == "numpy scalar"):
                return None
        elif rule == "arrow":
            if attrs is None or self.reg.role(attrs.get("pyarrow_dtype")) != "arrow type":
                return None
        elif rule == "numpy":
            if attrs is None or not self.numpy_dtype_trusted(attrs.get("_dtype")):
                return None
        text = str(dtype)
        return text if type(text) is str else None

    def pandas_array_dtype(self, values: Any) -> str | None:
        """The dtype of a column's (or an index's) array, if the array is a
        numpy array or one of pandas' own arrays, and its dtype is trusted."""
        role = self.reg.role(values)
        if role == "numpy ndarray":
            dtype = values.dtype
            return str(dtype) if self.numpy_dtype_trusted(dtype) else None
        if role != "pandas array" or self.library_attrs(values) is None:
            return None
        return self.pandas_dtype(values.dtype)

    def pandas_index_trusted(self, index: Any, depth: int = 0) -> bool:
        if self.reg.role(index) != "pandas index" or depth > 2:
            return False
        attrs = self.library_attrs(index)
        if attrs is None:
            return False
        if "_range" in attrs:  # a RangeIndex
            return type(attrs["_range"]) is range
        if "_levels" in attrs:  # a MultiIndex: levels (indexes) and codes (arrays)
            levels: Any = attrs["_levels"]
            codes: Any = attrs.get("_codes")
            return (
                self.pandas_list(levels)
                and self.pandas_list(codes)
                and all(self.pandas_index_trusted(level, depth + 1) for level in levels)
                and all(self.reg.role(c) == "numpy ndarray" for c in codes)
            )
        return self.pandas_array_dtype(attrs.get("_data")) is not None

    def pandas_list(self, value: Any) -> bool:
        """A list, or pandas' FrozenList (a list subclass that pandas owns)."""
        return type(value) is list or self.reg.role(value) == "pandas list"

    def pandas_manager(self, obj: Any) -> tuple[Any, dict[str, Any]] | None:
        attrs = self.library_attrs(obj)
        if attrs is None:
            return None
        mgr = attrs.get("_mgr")
        if self.reg.role(mgr) != "pandas manager" or self.library_attrs(mgr) is None:
            return None
        return mgr, attrs

    def pandas_blocks(self, mgr: Any) -> list[str] | None:
        """Each block's dtype as text, or its array's class name when the
        array is not pandas' or numpy's own (its code is never run)."""
        blocks = mgr.blocks
        if type(blocks) is not tuple:
            return None
        texts = []
        for block in blocks:
            if self.reg.role(block) != "pandas block":
                return None
            values = block.values
            text = self.pandas_array_dtype(values)
            texts.append(text if text is not None else self.type_name(values))
        return texts

    def pandas_frame(self, obj: Any) -> str:
        kind = "pandas DataFrame"
        found = self.pandas_manager(obj)
        if found is None:
            return kind
        mgr = found[0]
        axes = mgr.axes
        if type(axes) is not list or len(axes) != 2:
            return kind
        columns, index = axes
        if not (self.pandas_index_trusted(columns) and self.pandas_index_trusted(index)):
            return kind
        blocks = self.pandas_blocks(mgr)
        if blocks is None:
            return kind
        ncols, nrows = len(columns), len(index)
        numbers = mgr.blknos[:MAX_COLUMNS].tolist()
        dtypes = [blocks[n] if type(n) is int and 0 <= n < len(blocks) else "?" for n in numbers]
        labels = list(columns[:MAX_COLUMNS])
        shape = (nrows, ncols)
        return f"{kind}, shape {shape!r}, columns {self.columns_text(labels, dtypes, ncols)}"

    def pandas_series(self, obj: Any) -> str:
        kind = "pandas Series"
        found = self.pandas_manager(obj)
        if found is None:
            return kind
        mgr, attrs = found
        text = f"{kind} {self.label(attrs.get('_name'))}"
        axes = mgr.axes
        blocks = self.pandas_blocks(mgr)
        if type(axes) is not list or len(axes) != 1 or not blocks:
            return text
        text += f", dtype {blocks[0]}"
        if self.pandas_index_trusted(axes[0]):
            text += f", length {len(axes[0])}"
        return text

    # polars

    def polars_frame(self, obj: Any) -> str:
        kind = "polars DataFrame"
        if self.library_attrs(obj) is None:
            return kind
        shape = obj.shape
        names = obj.columns
        if type(names) is not list or type(shape) is not tuple:
            return kind
        if self.reg.polars_extensions():
            dtypes = ["?"] * min(len(names), MAX_COLUMNS)
        else:
            dtypes = [self.polars_dtype(t) for t in obj.dtypes[:MAX_COLUMNS]]
        columns = self.columns_text(names[:MAX_COLUMNS], dtypes, len(names))
        return f"{kind}, shape {shape!r}, columns {columns}"

    def polars_series(self, obj: Any) -> str:
        kind = "polars Series"
        if self.library_attrs(obj) is None:
            return kind
        dtype = "?" if self.reg.polars_extensions() else self.polars_dtype(obj.dtype)
        return f"{kind} {self.label(obj.name)}, dtype {dtype}, length {obj.len()}"

    def polars_dtype(self, dtype: Any) -> str:
        if self.reg.role(dtype) != "polars dtype":
            return self.type_name(dtype)
        return str(dtype)

    # torch

    def torch_tensor(self, obj: Any) -> str:
        kind = "torch Tensor"
        disable = self.reg.disable_torch_function
        if disable is None:
            return kind
        with disable():  # no __torch_function__ mode or subclass runs
            shape = obj.shape
            dtype = obj.dtype
        if self.reg.role(shape) != "torch size" or self.reg.role(dtype) != "torch dtype":
            return kind
        dims = tuple(shape)
        if not all(type(d) is int for d in dims):
            return kind
        return f"{kind}, shape {dims!r}, dtype {dtype!s}"


def _proxy_items(proxy: Any) -> list[tuple[Any, Any]]:
    """The items behind a read-only mappingproxy (numpy's ``dtype.fields``),
    by iterating it: copying it into a dict would hash every key."""
    if type(proxy) is not types.MappingProxyType:
        return []
    return list(proxy.items())


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


def _default(value: Any) -> str:
    if _one_of(type(value), _SCALARS) or (type(value) is str and len(value) <= 40):
        return repr(value)
    return "..."


@_guarded
def function_signature(fn: types.FunctionType, *, skip_first: bool = False) -> str:
    """``(a, b=1, *args, c: int, **kw)`` of a plain Python function, read from
    its code object: no ``__signature__``/``__wrapped__`` is followed and no
    default value or annotation is shown unless it is a plain value or a class.
    ``(...)`` when its defaults are not an exact tuple and dict."""
    try:
        return _Reader().signature(fn, skip_first=skip_first) or "(...)"
    except Exception:
        return "(...)"


@_guarded
def describe_value(name: str, obj: Any) -> str:
    """One line describing ``obj``, at most :data:`MAX_LINE_CHARS` long."""
    return _describe_line(_Reader(), name, obj)


def _describe_line(reader: _Reader, name: str, obj: Any) -> str:
    try:
        text = reader.describe(obj)
    except Exception:  # a library attribute that fails must not break the lookup
        text = reader.type_name(obj)
    line = f"{name}: {text}"
    line = line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 3] + "..."
    return _clean(line)


def names_in(text: str) -> list[str]:
    """Identifiers in ``text`` (natural language or code), in first-seen order."""
    return list(dict.fromkeys(_WORD.findall(text)))


def _user_names(namespace: Any) -> dict[str, Any]:
    """The namespace's variables whose names are exact ``str`` (a copy: a
    lookup in the namespace itself could call a ``str`` subclass key's
    ``__eq__``). A namespace that is not an exact dict is not read."""
    return _str_items(namespace)


def _builtin_names() -> dict[str, Any]:
    return _module_items(builtins)


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


@_guarded
def relevant_variables(
    namespace: Mapping[str, Any], request: str, recent_cells: Sequence[str]
) -> list[str]:
    """Names of live data the request mentions, then those recent cells used."""
    reader = _Reader()
    names = _user_names(namespace)
    builtin_names = _builtin_names()
    wanted = names_in(request) + [n for cell in reversed(recent_cells) for n in names_in(cell)]
    picked = []
    for name in dict.fromkeys(wanted):
        if name not in names:
            continue
        obj = names[name]
        if _skipped(name, obj, {}, builtin_names) or _is_class(obj):
            continue
        if type(obj) is types.FunctionType or (callable(obj) and not reader.reg.is_kind(obj)):
            continue  # functions come in as definitions, from the history
        picked.append(name)
        if len(picked) >= MAX_VARIABLES:
            break
    return picked


@_guarded
def describe_namespace(namespace: Mapping[str, Any], names: Iterable[str]) -> str:
    reader = _Reader()
    found = _user_names(namespace)
    return "\n".join(_describe_line(reader, n, found[n]) for n in names if n in found)


@_guarded
def pick_names(
    namespace: Mapping[str, Any],
    source: str,
    hidden: Mapping[str, Any] | None = None,
    limit: int = MAX_VARIABLES,
) -> list[str]:
    """The user's names to describe for ``source``: those it uses, in the
    order it first uses them (any kind: data, functions, classes), then other
    data variables, newest first."""
    return _pick(_Reader(), _user_names(namespace), source, _str_items(hidden), limit)


def _pick(
    reader: _Reader, names: dict[str, Any], source: str, hidden: dict[str, Any], limit: int
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


@_guarded
def describe_live(
    namespace: Mapping[str, Any],
    source: str,
    max_chars: int = 3000,
    hidden: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """The description lines (whole lines) and the names they describe, in at
    most ``max_chars`` characters together: ``len(text) + sum(map(len,
    names))`` (each name is also in its line, so a name cannot make the reply
    larger than twice the text)."""
    reader = _Reader()
    names = _user_names(namespace)
    lines: list[str] = []
    described: list[str] = []
    used = 0
    for name in _pick(reader, names, source, _str_items(hidden), MAX_VARIABLES):
        line = _describe_line(reader, name, names[name])
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

    @_guarded
    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "names": self.names, "execution_count": self.execution_count}

    @_guarded
    def __repr__(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=True)

    @_guarded
    def _repr_json_(self) -> dict[str, Any]:
        return self.to_json()

    @_guarded
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"application/json": self.to_json(), "text/plain": repr(self)}


@_guarded
def live_context(source: str, max_chars: int = 3000) -> LiveContext:
    """Describe the kernel's variables that ``source`` (the active cell first,
    then the notebook's other code) uses, then other data variables, in at most
    ``max_chars`` characters (text and names together). Runs in the user's
    IPython kernel; see :mod:`jupyter_codegen.kernel.live_context` for the rule it
    follows."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return LiveContext("", [], 0)
    if type(max_chars) is not int:
        max_chars = 3000
    max_chars = max(0, min(max_chars, MAX_REPLY_CHARS))
    source = source[:200_000] if type(source) is str else ""
    namespace = shell.user_ns
    hidden = getattr(shell, "user_ns_hidden", None)
    text, names = describe_live(namespace, source, max_chars, hidden)
    count = shell.execution_count
    return LiveContext(text, names, count if type(count) is int else 0)


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
