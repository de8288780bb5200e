"""Reading numpy arrays and dtypes, polars frames and series, and torch
tensors, whose classes the registry trusts by identity: library code runs
only on objects that passed the rule of :mod:`jupyter_codegen.kernel.live`
(numpy dtypes by their fields, polars with no Python extension type, torch
with every ``__torch_function__`` disabled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jupyter_codegen.kernel.live.limits import MAX_COLUMNS
from jupyter_codegen.kernel.live.objects import ObjectReader, clip
from jupyter_codegen.kernel.live.trusted import SCALARS, one_of, proxy_items


class LibraryReader(ObjectReader):
    """An :class:`ObjectReader` that also reads numpy, polars and torch objects."""

    def numpy_array(self, obj: Any) -> str:
        kind = "numpy ndarray"
        shape = obj.shape
        if type(shape) is not tuple or not all(type(d) is int for d in shape):
            return kind
        return f"{kind}, shape {shape!r}, dtype {self.numpy_dtype(obj.dtype)}"

    def columns_text(self, labels: Sequence[Any], dtypes: Sequence[str], total: int) -> str:
        items = [f"{self.label(c)}: {t}" for c, t in zip(labels, dtypes, strict=False)]
        return "{" + clip(items, total, MAX_COLUMNS) + "}"

    # numpy

    def numpy_dtype(self, dtype: Any, depth: int = 0) -> str:
        """A numpy dtype as ``str(dtype)`` when that runs no user code, else
        from its field names and field dtypes, else its type's name."""
        if self.numpy_dtype_trusted(dtype, depth):
            return str(dtype)
        role = self.reg.role(dtype)
        if role == "numpy dtype VoidDType" and depth < 3:
            names = dtype.names
            fields = {k: v for k, v in proxy_items(dtype.fields) if type(k) is str}
            if type(names) is tuple and all(type(n) is str and n in fields for n in names):
                items = []
                for name in names[:MAX_COLUMNS]:
                    field = fields[name]
                    inner = field[0] if type(field) is tuple and len(field) >= 2 else None
                    items.append(f"({name!r}, {self.numpy_dtype(inner, depth + 1)})")
                return "[" + clip(items, len(names), MAX_COLUMNS) + "]"
        return self.type_name(dtype)

    def numpy_dtype_trusted(self, dtype: Any, depth: int = 0) -> bool:
        """Whether numpy's own ``str(dtype)`` touches only trusted objects."""
        role = self.reg.role(dtype)
        if role is None or not role.startswith("numpy dtype") or depth > 3:
            return False
        if role == "numpy dtype StringDType":  # its NA object is shown with repr
            na = getattr(dtype, "na_object", None)
            return one_of(type(na), SCALARS) or type(na) is str
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
        items = proxy_items(dtype.fields)
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
