"""Reading pandas frames and series: their block manager, axes, blocks and
dtypes are read only when every object that pandas' code would touch (each
index and its array, each column's array and its dtype, a dtype's time zone,
categories or fill value) passed the rule of :mod:`jupyter_codegen.kernel.live`."""

from __future__ import annotations

from typing import Any

from jupyter_codegen.kernel.live.libraries import LibraryReader
from jupyter_codegen.kernel.live.limits import MAX_COLUMNS
from jupyter_codegen.kernel.live.trusted import SCALARS, one_of


class PandasReader(LibraryReader):
    """A :class:`LibraryReader` that also reads pandas objects."""

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
            if not (one_of(type(fill), SCALARS) or self.reg.role(fill) == "numpy scalar"):
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
