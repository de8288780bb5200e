"""The trusted primitives of the live lookup: the C getters of ``type``,
modules and descriptors, exact-type checks, dict copies that run no key's
code, and :func:`guarded`, which every public function of
:mod:`jupyter_codegen.kernel.live` runs under. Each step here is one of the
steps that the package's rule allows. Stdlib only."""

from __future__ import annotations

import functools
import gc
import types
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

# The C getters of the attributes of a class, of a module's dict and of
# functions: called through the descriptor, no metaclass can step in.
TYPE_MODULE = type.__dict__["__module__"]
TYPE_QUALNAME = type.__dict__["__qualname__"]
TYPE_DICT = type.__dict__["__dict__"]
TYPE_MRO = type.__dict__["__mro__"]
TYPE_FLAGS = type.__dict__["__flags__"]
HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by Python code
MODULE_DICT = vars(types.ModuleType)["__dict__"]
SCALARS = (bool, int, float, complex, type(None))
CONTAINERS = (list, tuple, set, frozenset)
#: How C code stores an instance's ``__dict__``.
SLOT_DESCRIPTORS = (types.GetSetDescriptorType, types.MemberDescriptorType)
#: Characters that would break a description into lines, or hide in it.
_UNPRINTABLE = {c: "?" for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


def one_of(cls: Any, classes: Iterable[Any]) -> bool:
    """``cls in classes`` by identity (``in`` and ``==`` could call a
    metaclass's ``__eq__``)."""
    return any(cls is c for c in classes)


def str_items(d: Any) -> dict[str, Any]:
    """A copy of an exact dict with only its exact-``str`` keys, made by
    iterating it (a lookup in ``d`` itself could call a key's ``__eq__``)."""
    if type(d) is not dict:
        return {}
    return {k: v for k, v in d.items() if type(k) is str}


def is_plain_dict(d: Any) -> bool:
    """An exact dict whose keys are all exact ``str``: lookups in it run no
    user code (attribute lookups of library objects go through such dicts)."""
    return type(d) is dict and all(type(k) is str for k in d)


def mro(cls: type) -> tuple[type, ...]:
    found = TYPE_MRO.__get__(cls)
    return found if type(found) is tuple else ()


def is_class(obj: Any) -> bool:
    """``isinstance(obj, type)`` without asking ``obj.__class__``."""
    return one_of(type, mro(type(obj)))


def module_items(module: Any, names: Iterable[str] | None = None) -> dict[str, Any]:
    """A module's attributes read from its own dict (no module ``__getattr__``,
    no ``__class__`` a user assigned), only exact ``str`` names."""
    if type(module) is not types.ModuleType:
        return {}
    items = str_items(MODULE_DICT.__get__(module))
    if names is None:
        return items
    return {n: items[n] for n in names if n in items}


_F = TypeVar("_F", bound=Callable[..., Any])


def guarded(fn: _F) -> _F:
    """Run ``fn`` with the cyclic garbage collector paused and warnings
    ignored: a collection would run the finalizers (``__del__``) of the user's
    garbage and ``gc.callbacks``, and a warning ``warnings.showwarning``, all
    user code, in the middle of a lookup."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return call  # type: ignore[return-value]


def clean(text: str) -> str:
    """``text`` on one line: control and line-break characters become ``?``."""
    return text if text.isprintable() else text.translate(_UNPRINTABLE)


def proxy_items(proxy: Any) -> list[tuple[Any, Any]]:
    """The items behind a read-only mappingproxy (numpy's ``dtype.fields``),
    by iterating it: copying it into a dict would hash every key."""
    if type(proxy) is not types.MappingProxyType:
        return []
    return list(proxy.items())
