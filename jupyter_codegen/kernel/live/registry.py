"""The library classes that a lookup trusts, by identity: the classes that
numpy, pandas, polars, torch, pyarrow and zoneinfo export, read from the
modules already in ``sys.modules`` (nothing is imported here), each with its
role (a frame, a dtype, an index...). Part 4 of the rule of
:mod:`jupyter_codegen.kernel.live`."""

from __future__ import annotations

import datetime
import sys
import types
from typing import Any

from jupyter_codegen.kernel.live.trusted import (
    HEAPTYPE,
    TYPE_FLAGS,
    is_class,
    module_items,
    str_items,
)

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
KIND_NAMES = frozenset(_KINDS.values())
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


class Registry:
    """The trusted classes of this process: ``roles[id(cls)] = (cls, role)``."""

    def __init__(self, modules: dict[str, Any]):
        self.modules = modules
        self.roles: dict[int, tuple[Any, str]] = {}
        self.disable_torch_function: Any = None
        get = {name: module_items(module) for name, module in modules.items()}
        for (package, name), kind in _KINDS.items():
            self._add(get.get(package, {}).get(name), kind)
        numpy = get.get("numpy", {})
        for scalar in str_items(numpy.get("sctypeDict")).values():
            self._add(scalar, "numpy scalar")
        for name in ("void", "record"):  # a structured dtype's scalar type
            self._add(numpy.get(name), "numpy void")
        # numpy's dtype classes: made by numpy itself from its type codes (numpy
        # before 1.25 exports no numpy.dtypes), then by name from numpy.dtypes
        dtype: Any = numpy.get("dtype")
        if is_class(dtype) and not TYPE_FLAGS.__get__(dtype) & HEAPTYPE:
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
        if is_class(disable) and not TYPE_FLAGS.__get__(disable) & HEAPTYPE:
            self.disable_torch_function = disable  # C code, not a look-alike
        arrow = get.get("pyarrow.lib", {})
        for name in _ARROW_TYPES:
            self._add(arrow.get(name), "arrow type")
        self._add(datetime.timezone, "tz")
        self._add(get.get("zoneinfo", {}).get("ZoneInfo"), "tz")

    def _add(self, cls: Any, role: str) -> None:
        if cls is not None and is_class(cls):
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
        return role is not None and role in KIND_NAMES

    def polars_extensions(self) -> bool:
        """Whether a Python extension type is registered with polars (then
        reading a frame's dtypes may construct one of its objects)."""
        module = self.modules.get("polars.datatypes.extension")
        if module is None:
            return False
        registry = module_items(module, ["_REGISTRY"]).get("_REGISTRY", {})
        if type(registry) is not dict:
            return True
        return not all(type(v) is str for v in registry.values())


_REGISTRY_CACHE: list[Registry] = []


def current_registry() -> Registry:
    """The registry for the library modules imported now (kept while they are
    the same module objects: classes a user reassigns later are not taken)."""
    modules_dict = module_items(sys, ["modules"]).get("modules")
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
    registry = Registry(modules)
    _REGISTRY_CACHE[:] = [registry]
    return registry
