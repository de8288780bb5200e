"""Describing the live kernel's state (table-driven), without ever running user code."""

from __future__ import annotations

import collections
import dataclasses
import json
import sys
import types
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from jupyter_codegen.kernel import live
from jupyter_codegen.kernel.live import (
    LiveContext,
    describe_live,
    describe_value,
    function_signature,
    live_context,
    live_source,
    names_in,
    pick_names,
)


def plain(a, b: int = 2, *args, c=None, d: str = "x", **kw) -> float:
    return 0.0


def keyword_only(x, *, scale: float, big=np.zeros(3)):  # noqa: B008
    return x


@dataclasses.dataclass
class Point:
    x_coord: float
    label: str = "p"


Point.__module__ = "__main__"  # as if defined in the notebook


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (3, "x: int = 3"),
        (2.5, "x: float = 2.5"),
        (None, "x: NoneType = None"),
        (10**40, "x: int (large)"),
        ("hi", "x: str = 'hi'"),
        ("a" * 100, "x: str = '" + "a" * 57 + "...'"),
        ([1, 2, "a"], "x: list of length 3 of int/str"),
        ((), "x: tuple of length 0"),
        ({"a": 1}, "x: dict of length 1, keys {'a': int}"),
        (
            {"cfg": {"lr": 0.1, "n": [1]}, 7: "s"},
            "x: dict of length 2, keys {'cfg': dict {'lr': float, 'n': list}, 7: str}",
        ),
        ({(1, 2): 3}, "x: dict of length 1"),  # keys other than str/int are not shown
        ({str(i): i for i in range(500)}, "x: dict of length 500"),  # not a small dict
        (
            [{"id": 1, "Name ü": "a"}, {"id": 2}],
            "x: list of length 2 of dict, first item keys {'id': int, 'Name ü': str}",
        ),
        (np.zeros((2, 3), dtype="float32"), "x: numpy ndarray, shape (2, 3), dtype float32"),
        (pd.Series([1, 2], name="n"), "x: pandas Series 'n', dtype int64, length 2"),
        (
            pd.DataFrame({"Unit Price (€)": [1.5], "qty#": [1]}),
            "x: pandas DataFrame, shape (1, 2), columns {'Unit Price (€)': float64, 'qty#': int64}",
        ),
        (
            pd.DataFrame({"s": [1, 2], "v": [3, 4]}).groupby("s").agg({"v": ["mean", "max"]}),
            "x: pandas DataFrame, shape (2, 2), "
            "columns {('v', 'mean'): float64, ('v', 'max'): int64}",
        ),
        (
            pd.DataFrame({("a", 1.5): [1], ("b", "c", "d", "e", "f"): [2]}),
            "x: pandas DataFrame, shape (1, 2), columns {<tuple>: int64, <tuple>: int64}",
        ),
        (
            pl.DataFrame({"Ä x": [1], "flag": [True]}),
            "x: polars DataFrame, shape (1, 2), columns {'Ä x': Int64, 'flag': Boolean}",
        ),
        (pl.Series("s 1", [1.0, 2.0]), "x: polars Series 's 1', dtype Float64, length 2"),
        (pl.LazyFrame({"a": [1]}), "x: polars LazyFrame"),
        (plain, "x: function(a, b: int = 2, *args, c=None, d: str = 'x', **kw) -> float"),
        (keyword_only, "x: function(x, *, scale: float, big=...)"),
        (Point, "x: class __main__.Point(x_coord: float, label: str = 'p')"),
        (Point(1.0), "x: __main__.Point with attributes {x_coord: float, label: str}"),
        (
            types.SimpleNamespace(alpha=1, _h=2),
            "x: types.SimpleNamespace with attributes {alpha: int}",
        ),
        (types, "x: module"),
        (
            collections.namedtuple("Row", ["sku code", "n"], rename=True),
            f"x: class {__name__}.Row, fields _0, n",
        ),
    ],
)
def test_describe_value(obj: object, expected: str) -> None:
    assert describe_value("x", obj) == expected


TRUSTED_ARRAYS = {
    "int": [1, 2],
    "float32": np.array([1.5, 2.5], dtype="float32"),
    "str": ["a", "b"],
    "string": pd.array(["a", None], dtype="string"),
    "object": [object(), None],
    "bool": [True, False],
    "Int64": pd.array([1, None], dtype="Int64"),
    "boolean": pd.array([True, None], dtype="boolean"),
    "category": pd.Categorical(["u", "v"]),
    "datetime": pd.to_datetime(["2020-01-01", "2020-01-02"]),
    "utc": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"),
    "zoneinfo": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("Europe/Paris"),
    "timedelta": pd.to_timedelta([1, 2], unit="s"),
    "period": pd.period_range("2020", periods=2, freq="D"),
    "interval": pd.interval_range(0, 2),
    "sparse": pd.arrays.SparseArray([0, 1]),
    "arrow": pd.array([1, 2], dtype="int64[pyarrow]"),
}


@pytest.mark.parametrize("values", TRUSTED_ARRAYS.values(), ids=list(TRUSTED_ARRAYS))
def test_a_trusted_column_is_described_as_pandas_shows_its_dtype(values: Any) -> None:
    series = pd.Series(values, name="s")
    frame = pd.DataFrame({"c": values, "n": [1, 2]})
    assert describe_value("x", series) == f"x: pandas Series 's', dtype {series.dtype}, length 2"
    assert describe_value("x", frame) == (
        f"x: pandas DataFrame, shape (2, 2), columns {{'c': {frame.dtypes.iloc[0]}, 'n': int64}}"
    )


TRUSTED_DTYPES = [
    "float64",
    ">i4",
    "U5",
    "S3",
    "M8[ns]",
    "m8[s]",
    "O",
    "V8",
    "c16",
    ("f8", (2, 3)),
    [("a", "f8"), ("b", "i4", (2,))],
    [("a", [("x", "u1"), ("y", "f4")])],
    {"names": ["a", "b"], "formats": ["f8", "i4"], "offsets": [0, 12], "itemsize": 24},
    np.dtypes.StringDType(),
]


@pytest.mark.parametrize("dtype", TRUSTED_DTYPES, ids=[str(d) for d in TRUSTED_DTYPES])
def test_a_trusted_numpy_dtype_is_described_as_numpy_shows_it(dtype: Any) -> None:
    array = np.zeros(2, dtype=dtype)
    aligned = np.zeros(2, dtype=np.dtype(dtype, align=True))
    for arr in (array, aligned):
        assert describe_value("a", arr) == (
            f"a: numpy ndarray, shape {arr.shape!r}, dtype {arr.dtype}"
        )


def test_numpy_without_its_dtypes_module_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy before 1.25 has no numpy.dtypes: its dtype classes come from numpy
    arrays = [np.zeros(2, dtype=d) for d in TRUSTED_DTYPES[:-1]]
    expected = [describe_value("a", a) for a in arrays]
    monkeypatch.delitem(sys.modules, "numpy.dtypes")
    assert [describe_value("a", a) for a in arrays] == expected
    assert all("numpy.dtypes" not in line for line in expected)


def test_a_wide_dataframe_lists_its_first_columns_then_a_count() -> None:
    df = pd.DataFrame({f"c{i}": [i] for i in range(50)})
    line = describe_value("wide", df)
    assert "'c39': int64, ... 10 more}" in line and "'c40'" not in line


def test_descriptions_are_bounded_text_and_names_together() -> None:
    df = pd.DataFrame({"x" * 70 + str(i): [i] for i in range(40)})
    assert len(describe_value("df", df)) == live.MAX_LINE_CHARS
    ns: dict[str, Any] = {f"v{i}": {"k" * 50 + str(j): j for j in range(20)} for i in range(40)}
    # names as long as a described name may be, and one far longer
    longest = live.MAX_NAME_CHARS
    ns.update({"n" * (longest - 3) + f"{i:03}": i for i in range(30)})
    ns["x" * 3_000_000] = 1
    for max_chars in (10, 200, 3000, 20_000):
        for source in ("", " ".join(ns)):
            text, names = describe_live(ns, source, max_chars=max_chars)
            assert len(text) + sum(len(n) for n in names) <= max_chars
            assert all(len(n) <= longest for n in names)
            assert len(text.splitlines()) == len(names) <= live.MAX_VARIABLES
            if max_chars >= 3000:
                assert len(names) > 0
    assert describe_live(ns, "", max_chars=10) == ("", [])


def test_a_reply_is_bounded_whatever_the_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    class Shell:
        user_ns = {"x" * 3_000_000: 1, "y" * 500: [1], "ok": 1, **{f"v{i}": i for i in range(50)}}
        user_ns_hidden: dict[str, Any] = {}
        execution_count = 3

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    for max_chars in (100, 3000, 10**9):
        reply = live_context("ok " + "x" * 3_000_000, max_chars=max_chars)
        size = len(json.dumps(reply.to_json()))
        assert size <= min(max_chars, live.MAX_REPLY_CHARS) + 100
        assert "ok" in reply.names


def test_only_identifiers_are_described() -> None:
    ns = {"a b": 1, "\n": 2, "ok": 3, "données": 4, "x" * 101: 5}
    assert pick_names(ns, "") == ["données", "ok"]
    assert pick_names(ns, "ok données a b") == ["ok", "données"]  # the source's, then data


def test_a_description_is_one_line_whatever_the_names_in_it() -> None:
    odd = type("A\nB\u2028C", (), {})

    def f(x: int = 1) -> None:
        pass

    f.__annotations__["x"] = "int\nimport os"  # the line must not end the comment

    for line in (describe_value("k", odd()), describe_value("f", f), describe_value("c", odd)):
        assert len(line.splitlines()) == 1 and "\n" not in line and "\u2028" not in line


# -- never calling user code -------------------------------------------------

CALLS: list[str] = []


class Recorder:
    """Every special method and attribute hook records its call and fails."""

    def _hit(self, what: str) -> Any:
        CALLS.append(what)
        raise AssertionError(f"user code called: {what}")

    def __repr__(self) -> str:
        return self._hit("__repr__")

    def __str__(self) -> str:
        return self._hit("__str__")

    def __len__(self) -> int:
        return self._hit("__len__")

    def __iter__(self) -> Any:
        return self._hit("__iter__")

    def __eq__(self, other: object) -> bool:
        return self._hit("__eq__")

    def __hash__(self) -> int:
        return self._hit("__hash__")

    def __getattr__(self, name: str) -> Any:
        return self._hit(f"__getattr__({name})")

    @property
    def shape(self) -> Any:
        return self._hit("shape")

    @property
    def dtype(self) -> Any:
        return self._hit("dtype")

    @property
    def columns(self) -> Any:
        return self._hit("columns")


class Sneaky(Recorder):
    def __getattribute__(self, name: str) -> Any:
        CALLS.append(f"__getattribute__({name})")
        raise AssertionError("user code called: __getattribute__")


class DictProperty:
    @property
    def __dict__(self) -> Any:  # type: ignore[override]
        CALLS.append("__dict__")
        raise AssertionError("user code called: __dict__")


DictProperty.__module__ = "__main__"
Sneaky.__module__ = "__main__"


class Meta(type):
    def __eq__(cls, other: object) -> bool:
        CALLS.append("Meta.__eq__")
        return False

    def __hash__(cls) -> int:
        CALLS.append("Meta.__hash__")
        return 0

    def __getattribute__(cls, name: str) -> Any:
        CALLS.append(f"Meta.__getattribute__({name})")
        return type.__getattribute__(cls, name)


class WithMeta(metaclass=Meta):
    pass


class DataFrame(Recorder):  # a look-alike: not pandas' class
    pass


DataFrame.__module__ = "pandas.core.frame"


class SubFrame(pd.DataFrame):
    """A subclass of a library class may override anything."""

    @property
    def shape(self) -> Any:  # type: ignore[override]
        CALLS.append("SubFrame.shape")
        raise AssertionError("user code called: SubFrame.shape")


class Weird:
    def __repr__(self) -> str:
        CALLS.append("label __repr__")
        return "weird"

    def __hash__(self) -> int:
        return 1


class Pair(tuple):
    """A tuple subclass as a column label: its methods are user code."""

    def __new__(cls, *parts: str) -> Pair:
        return super().__new__(cls, parts)

    def __len__(self) -> int:
        CALLS.append("Pair.__len__")
        return 2

    def __iter__(self) -> Any:
        CALLS.append("Pair.__iter__")
        return iter(("b", "c"))

    def __getitem__(self, i: Any) -> Any:
        CALLS.append("Pair.__getitem__")
        return "b"

    def __repr__(self) -> str:
        CALLS.append("Pair.__repr__")
        return "Pair"


class SeriesWithLabel:
    pass


def decorated(x):
    return x


decorated.__wrapped__ = Recorder()  # type: ignore[attr-defined]
decorated.__signature__ = Recorder()  # type: ignore[attr-defined]


def with_user_default(x=Recorder(), *, y: Recorder = Recorder()):  # noqa: B008
    return x


M = __name__
TRAPS: list[tuple[str, Any, str]] = [
    ("recorder", Recorder(), f"recorder: {M}.Recorder"),
    ("sneaky", Sneaky(), "sneaky: __main__.Sneaky"),
    ("dict_property", DictProperty(), "dict_property: __main__.DictProperty"),
    ("meta_instance", WithMeta(), f"meta_instance: {M}.WithMeta"),
    ("meta_class", WithMeta, f"meta_class: {M}.Meta"),
    ("lookalike", DataFrame(), "lookalike: pandas.core.frame.DataFrame"),
    ("sub", SubFrame({"a": [1]}), f"sub: {M}.SubFrame"),
    ("items", [Recorder(), Sneaky()], f"items: list of length 2 of __main__.Sneaky/{M}.Recorder"),
    ("keyed", {Weird(): 1}, "keyed: dict of length 1"),
    ("valued", {"a": Recorder()}, f"valued: dict of length 1, keys {{'a': {M}.Recorder}}"),
    (
        "labels",
        pd.DataFrame({Weird(): [1]}),
        f"labels: pandas DataFrame, shape (1, 1), columns {{<{M}.Weird>: int64}}",
    ),
    (
        "tuple_labels",
        pd.DataFrame(
            [[1, 2]],
            columns=pd.Index([("a", Weird()), Pair("b", "c")], dtype=object, tupleize_cols=False),
        ),
        "tuple_labels: pandas DataFrame, shape (1, 2), columns "
        f"{{<tuple>: int64, <{M}.Pair>: int64}}",
    ),
    (
        "named",
        pd.Series([1], name=Weird()),
        f"named: pandas Series <{M}.Weird>, dtype int64, length 1",
    ),
    ("decorated", decorated, "decorated: function(x)"),
    ("defaults", with_user_default, "defaults: function(x=..., *, y: Recorder = ...)"),
    ("aset", {Weird()}, f"aset: set of length 1 of {M}.Weird"),
]


@pytest.mark.parametrize(("name", "obj", "expected"), TRAPS, ids=[t[0] for t in TRAPS])
def test_describing_never_calls_user_code(name: str, obj: Any, expected: str) -> None:
    CALLS.clear()
    assert describe_value(name, obj) == expected
    assert CALLS == []


def test_a_whole_namespace_of_traps_is_described_without_calling_any() -> None:
    ns = {name: obj for name, obj, _ in TRAPS}
    source = " ".join(ns)
    CALLS.clear()
    text, names = describe_live(ns, source)
    assert names == list(ns) and text.splitlines() == [e for _, _, e in TRAPS]
    assert pick_names(ns, source) == list(ns)  # any kind, in the source's order
    assert CALLS == []


# -- which names -------------------------------------------------------------


def test_pick_names_takes_used_names_in_order_then_other_data_newest_first() -> None:
    ns = {
        "old": pd.DataFrame({"a": [1]}),
        "helper": plain,
        "np": np,  # a module: the source imports it
        "Point": Point,
        "_private": 1,
        "hidden_by_ipython": 2,
        "print": 5,  # shadows a builtin: skipped
        "obj": Recorder(),  # not data, not used: left out
        "sales": pd.DataFrame({"b": [1]}),
        "newest": {"k": 1},
    }
    source = "helper(sales)\nPoint(1)\nnp.mean(old)"
    hidden = {"hidden_by_ipython": 2}
    assert pick_names(ns, source, hidden) == ["helper", "sales", "Point", "old", "newest"]
    assert pick_names(ns, source, hidden, limit=2) == ["helper", "sales"]
    assert pick_names(ns, "", hidden) == ["newest", "sales", "old"]
    assert pick_names({**ns, 1: "a key that is not a name"}, "", hidden)[0] == "newest"


def test_describe_live_skips_a_line_that_does_not_fit_but_keeps_later_ones() -> None:
    ns = {"big": {f"key_{i}": i for i in range(20)}, "small": 1}
    text, names = describe_live(ns, "big small", max_chars=50)
    assert names == ["small"] and text == "small: int = 1"


def test_live_context_repr_is_one_line_of_json(monkeypatch: pytest.MonkeyPatch) -> None:
    class Shell:
        user_ns = {"df": pd.DataFrame({"Ünit": [1]}), "x": 1, "In": [], "_": None}
        user_ns_hidden = {"In": []}
        execution_count = 7

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    result = live_context("df.head()")
    assert isinstance(result, LiveContext)
    text = repr(result)
    assert "\n" not in text
    assert json.loads(text) == {
        "text": "df: pandas DataFrame, shape (1, 1), columns {'Ünit': int64}\nx: int = 1",
        "names": ["df", "x"],
        "execution_count": 7,
    }
    assert json.loads(repr(live_context("df", max_chars=5)))["text"] == ""
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert json.loads(repr(live_context("df"))) == {"text": "", "names": [], "execution_count": 0}


def test_the_reply_is_json_whatever_formats_text() -> None:
    from IPython.core.formatters import BaseFormatter, DisplayFormatter

    class Colouring(BaseFormatter):  # what `%load_ext rich` does to text/plain
        format_type = "text/plain"

        def __call__(self, obj: Any) -> str:
            return "\x1b[1;33m" + repr(obj)[:30] + "\x1b[0m\n  ..."

    result = LiveContext("df: int = 1\nx: str = 'é'", ["df", "x"], 4)
    formatter = DisplayFormatter()
    formatter.formatters["text/plain"] = Colouring()
    # IPython formats a user expression's value as the frontend receives it
    data, _ = formatter.format(result)
    assert data["application/json"] == result.to_json()
    assert json.loads(data["text/plain"]) == result.to_json()  # the bundle's own, kept
    # Every formatter but text/plain off: the bundle still carries the JSON
    formatter.active_types = ["text/plain"]
    assert formatter.format(result)[0]["application/json"] == result.to_json()
    # No bundles at all: the JSON formatter reads it
    formatter.active_types = formatter.format_types
    formatter.mimebundle_formatter.enabled = False
    data, _ = formatter.format(result)
    assert data["application/json"] == result.to_json()
    assert "\n" not in repr(result) and json.loads(repr(result)) == result.to_json()


def test_function_signature_reads_the_code_object_only() -> None:
    def f(a, /, b, *, c=1, **rest):
        pass

    assert function_signature(f) == "(a, b, *, c=1, **rest)"
    assert (
        function_signature(Point.__init__, skip_first=True) == "(x_coord: float, label: str = 'p')"
    )


# -- the source the names are chosen from --------------------------------------


def test_live_source_puts_the_active_text_first_then_the_others_that_fit() -> None:
    # Given the active text and other code, nearest first (one empty, one too long)
    others = ["near = 1", "  ", "far = 2", "x" * live.MAX_LIVE_SOURCE_CHARS, "farthest = 3"]
    # Then each whole, in that order, the empty and the too long left out
    assert live_source("act", others) == "act\nnear = 1\nfar = 2\nfarthest = 3"
    assert live_source("", []) == ""
    # And the active text is clipped to the bound, and then nothing else fits
    long = "a" * (live.MAX_LIVE_SOURCE_CHARS + 5)
    assert live_source(long, ["b = 1"]) == long[: live.MAX_LIVE_SOURCE_CHARS]
    assert len(live_source("a" * 10, ["b" * 100] * 1000)) <= live.MAX_LIVE_SOURCE_CHARS


def test_names_in() -> None:
    assert names_in("plot df['a'] vs df2 (3x)") == ["plot", "df", "a", "vs", "df2", "x"]
