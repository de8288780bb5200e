"""Reading Python's own objects: classes (their dicts, modules and names,
through ``type``'s getters), instances (their ``__dict__`` through the
descriptor that ``type`` made), labels, the exact builtin containers, plain
functions' signatures (from their code objects), classes and the notebook's
instances. Every step follows the rule of :mod:`jupyter_codegen.kernel.live`."""

from __future__ import annotations

import itertools
import sys
import types
from collections.abc import Iterable
from typing import Any

from jupyter_codegen.kernel.live.limits import MAX_DICT_LEN, MAX_KEYS, MAX_LABEL_PARTS
from jupyter_codegen.kernel.live.registry import current_registry
from jupyter_codegen.kernel.live.trusted import (
    HEAPTYPE,
    SCALARS,
    SLOT_DESCRIPTORS,
    TYPE_DICT,
    TYPE_FLAGS,
    TYPE_MODULE,
    TYPE_QUALNAME,
    clean,
    is_plain_dict,
    mro,
    one_of,
    str_items,
)


def scalar_text(obj: Any) -> str | None:
    if one_of(type(obj), SCALARS):
        if type(obj) is int and not -(10**30) < obj < 10**30:
            return "int (large)"
        return f"{type(obj).__name__} = {obj!r}"
    if type(obj) is str:
        shown = obj if len(obj) <= 60 else obj[:57] + "..."
        return f"str = {shown!r}"
    return None


def clip(items: list[str], total: int, limit: int) -> str:
    text = ", ".join(items[:limit])
    more = total - min(limit, len(items))
    return text + (f", ... {more} more" if more > 0 else "")


def default_text(value: Any) -> str:
    if one_of(type(value), SCALARS) or (type(value) is str and len(value) <= 40):
        return repr(value)
    return "..."


class ObjectReader:
    """One lookup: the trusted classes, and what it already read of classes.
    The readers of library objects (and the dispatch) extend it."""

    def __init__(self) -> None:
        self.reg = current_registry()
        self._class_dicts: dict[int, tuple[type, dict[str, Any]]] = {}
        self._class_names: dict[int, tuple[type, str]] = {}

    # classes and instances

    def class_dict(self, cls: type) -> dict[str, Any]:
        """A class's own attributes, exact ``str`` names only (a copy)."""
        found = self._class_dicts.get(id(cls))
        if found is not None and found[0] is cls:
            return found[1]
        try:
            proxy = TYPE_DICT.__get__(cls)
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
            if TYPE_FLAGS.__get__(cls) & HEAPTYPE:  # its module is in its dict
                module = self.class_dict(cls).get("__module__")
            else:  # a C type: from its C name
                module = TYPE_MODULE.__get__(cls)
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
            qualname = TYPE_QUALNAME.__get__(cls)
        except Exception:
            qualname = "?"
        qualname = qualname if type(qualname) is str else "?"
        name = qualname if module == "builtins" else f"{module}.{qualname}"
        name = clean(name if len(name) <= 200 else name[:197] + "...")
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
        for klass in mro(cls):
            if klass is object:
                return {}  # no instance dict (__slots__, or a C type without one)
            descriptor = self.class_dict(klass).get("__dict__")
            if descriptor is None:
                continue
            if not one_of(type(descriptor), SLOT_DESCRIPTORS):
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
        return attrs if attrs is not None and is_plain_dict(attrs) else None

    # values

    def label(self, value: Any) -> str:
        """A column label or dict key as Python source, if it is a plain str/int,
        or an exact tuple of up to four of them (a MultiIndex column, as
        ``groupby().agg`` with lists makes: ``('sales', 'max')``)."""
        if type(value) is tuple and 0 < len(value) <= MAX_LABEL_PARTS:
            parts = [self.plain_label(part) for part in value]
            if all(parts):
                return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return self.plain_label(value) or f"<{self.type_name(value)}>"

    @staticmethod
    def plain_label(value: Any) -> str:
        if type(value) is str:
            return repr(value if len(value) <= 80 else value[:77] + "...")
        if type(value) is int and -(10**18) < value < 10**18:
            return repr(value)
        return ""

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
        return "{" + clip(items, len(obj), MAX_KEYS) + "}"

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
        kw = str_items(kwdefaults)
        annotations: dict[str, Any] = {}
        if sys.version_info < (3, 14):  # from 3.14, reading them evaluates user code
            annotations = str_items(fn.__annotations__)
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
            default = default_text(defaults[i - first_default]) if i >= first_default else None
            params.append(param(names[i], default))
        star = npos + nkw
        if code.co_flags & 0x04:  # CO_VARARGS
            params.append("*" + names[star])
            star += 1
        elif nkw:
            params.append("*")
        for i in range(npos, npos + nkw):
            name = names[i]
            params.append(param(name, default_text(kw[name]) if name in kw else None))
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
            return f"class {name}, fields {clip(list(fields), len(fields), MAX_KEYS)}"
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
        return f"{name} with attributes {{{clip(items, len(items), MAX_KEYS)}}}" if items else name
