"""The trap corpus of the live-kernel lookup (``jupyter_codegen.kernel.live``).

Every object here records any call of its code into ``CALLS``; a lookup that
keeps its promise ("never calls user code") leaves ``CALLS`` empty. The file is
run as the notebook's own code: tests/unit/test_live_traps.py executes it with
``__name__ == "__main__"`` (so every class is ``__main__``'s, as in a kernel),
and tests/server/test_live_traps_kernel.py executes it in a real kernel.

``TRAPS``: (variable name, object, the expected line or None when only "no
call" is promised). Each trap is also bound to its name in this namespace.
``ENVIRONMENT``: traps on the lookup as a whole (the namespace's own keys,
builtins, ``sys.modules``, ``user_ns_hidden``, torch modes, polars extension
types): ``install(name, ns)`` sets one up, ``uninstall(name, ns)`` undoes it.

Add a row for every new reader (and every type it trusts).
"""

import builtins
import collections
import datetime
import enum
import gc
import sys
import types

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import torch
from pandas.api.extensions import ExtensionArray, ExtensionDtype
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

CALLS: list[str] = []
#: What recorded methods return (enough for a careless reader to go on).
_RESULTS = {
    "__repr__": "TRAP",
    "__str__": "TRAP",
    "__format__": "TRAP",
    "__len__": 1,
    "__length_hint__": 1,
    "__bool__": True,
    "__eq__": False,
    "__ne__": True,
    "__lt__": False,
    "__le__": False,
    "__gt__": False,
    "__ge__": False,
    "__contains__": False,
    "__int__": 1,
    "__index__": 1,
    "__float__": 1.0,
    "__complex__": 1j,
    "__sizeof__": 0,
    "__dir__": [],
    "__call__": None,
    "__enter__": None,
    "__exit__": None,
    "__instancecheck__": False,
    "__subclasscheck__": False,
}
#: Methods that raise after recording (what a missing feature would do).
_RAISING = {
    "__getattr__": AttributeError,
    "__getitem__": KeyError,
    "__reduce__": TypeError,
    "__reduce_ex__": TypeError,
    "__copy__": TypeError,
    "__deepcopy__": TypeError,
    "__getstate__": TypeError,
    "__array__": TypeError,
    "__fspath__": TypeError,
}
_ALL = (*_RESULTS, *_RAISING, "__hash__", "__iter__", "__next__", "__reversed__")


def _recorded(name, inherited=None):
    def method(self, *args, **kwargs):
        CALLS.append(f"{type(self).__qualname__}.{name}")
        if inherited is not None:
            return inherited(self, *args, **kwargs)
        if name in _RAISING:
            raise _RAISING[name](name)
        if name == "__hash__":
            return 7
        if name in ("__iter__", "__reversed__"):
            return iter(())
        if name == "__next__":
            raise StopIteration
        return _RESULTS[name]

    method.__name__ = name
    return method


def recording(base=object, names=_ALL):
    """The methods of a class that records every call of them (a subclass of
    a builtin records and then does what the builtin does)."""
    methods = {}
    for name in names:
        inherited = None if base is object else getattr(base, name, None)
        if base is not object and inherited is None:
            continue
        methods[name] = _recorded(name, inherited)
    return methods


def _getattribute(self, name):
    CALLS.append(f"{type(self).__qualname__}.__getattribute__({name})")
    return object.__getattribute__(self, name)


Recorder = type("Recorder", (), recording())
Sneaky = type("Sneaky", (Recorder,), {"__getattribute__": _getattribute})
#: An element for containers, labels and arrays: no sequence methods (numpy and
#: pandas would unpack those when they build their arrays).
Item = type(
    "Item",
    (),
    recording(
        names=("__repr__", "__str__", "__format__", "__eq__", "__ne__", "__hash__", "__bool__",
               "__getattr__", "__reduce__", "__reduce_ex__", "__copy__", "__deepcopy__")
    ),
)  # fmt: skip
_BUILTIN_METHODS = (
    *_ALL,
    "__getattribute__",
    "get",
    "items",
    "keys",
    "values",
    "startswith",
    "isidentifier",
    "isprintable",
    "translate",
    "count",
    "index",
    "__add__",
    "__mul__",
    "__mod__",
    "__neg__",
    "__abs__",
    "__round__",
    "__trunc__",
    "__missing__",
)


def _identity_eq(self, other):
    CALLS.append(f"{type(self).__qualname__}.__eq__")
    return self is other


def _identity_ne(self, other):
    CALLS.append(f"{type(self).__qualname__}.__ne__")
    return self is not other


#: A str subclass: equal only to itself, with the hash of the plain str, so
#: that as a dict key it sits next to the plain name and a lookup of that name
#: compares the two (with its __eq__).
KeyStr = type(
    "KeyStr",
    (str,),
    {**recording(str, _BUILTIN_METHODS), "__eq__": _identity_eq, "__ne__": _identity_ne},
)
TupleTrap = type("TupleTrap", (tuple,), recording(tuple, _BUILTIN_METHODS))
ListTrap = type("ListTrap", (list,), recording(list, _BUILTIN_METHODS))
DictTrap = type("DictTrap", (dict,), recording(dict, _BUILTIN_METHODS))
SetTrap = type("SetTrap", (set,), recording(set, _BUILTIN_METHODS))
IntTrap = type("IntTrap", (int,), recording(int, _BUILTIN_METHODS))
FloatTrap = type("FloatTrap", (float,), recording(float, _BUILTIN_METHODS))


def _meta_getattribute(cls, name):
    CALLS.append(f"RecordingMeta.__getattribute__({name})")
    return type.__getattribute__(cls, name)


def _meta_call(cls, *args, **kwargs):
    CALLS.append("RecordingMeta.__call__")
    return type.__call__(cls, *args, **kwargs)


#: A metaclass: its classes' comparisons, hashing, attributes, repr,
#: isinstance and issubclass checks, calls and iteration are its code.
RecordingMeta = type(
    "RecordingMeta",
    (type,),
    {
        **recording(names=_ALL),
        "__getattribute__": _meta_getattribute,
        "__call__": _meta_call,
    },
)


class WithMeta(metaclass=RecordingMeta):
    def __init__(self, a, b=1):
        pass


class Descriptor:
    """A data descriptor: reading the attribute runs ``__get__``."""

    def __get__(self, obj, cls=None):
        CALLS.append("Descriptor.__get__")
        return {}

    def __set__(self, obj, value):
        CALLS.append("Descriptor.__set__")


class DictProperty:
    @property
    def __dict__(self):  # type: ignore[override]
        CALLS.append("DictProperty.__dict__")
        return {"x": 1}


class DictDescriptor:
    __dict__ = Descriptor()  # type: ignore[assignment]


class ClassProperty:
    """``isinstance`` asks ``obj.__class__``: here, a property."""

    def __init__(self):
        self.value = 1

    @property
    def __class__(self):  # type: ignore[override]
        CALLS.append("ClassProperty.__class__")
        return dict


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = Recorder()
        self.b = 1


class Plain:
    def __init__(self):
        self.size = 3
        self.item = Recorder()


def _plain_with_trap_keys():
    obj = Plain()
    obj.__dict__[KeyStr("size")] = 4  # collides with "size"
    return obj


def _namespace_with_trap_keys():
    ns = types.SimpleNamespace(alpha=1)
    vars(ns)[KeyStr("alpha")] = 2
    return ns


class Color(enum.Enum):
    RED = 1


class TrapModule(types.ModuleType):
    def __getattr__(self, name):
        CALLS.append(f"TrapModule.__getattr__({name})")
        raise AttributeError(name)


# -- functions and classes ---------------------------------------------------------


def _function(defaults=None, kwdefaults=None, annotations=None):
    def f(a, b=1, *, c=2, d: int = 3):
        pass

    if defaults is not None:
        f.__defaults__ = defaults
    if kwdefaults is not None:
        f.__kwdefaults__ = kwdefaults
    if annotations is not None:
        f.__annotations__ = annotations
    return f


def decorated(x):
    return x


decorated.__wrapped__ = Recorder()  # type: ignore[attr-defined]
decorated.__signature__ = Recorder()  # type: ignore[attr-defined]


def with_trap_defaults(x=Recorder(), *, y: Recorder = Recorder()):  # noqa: B008
    return x


class InitDefaults:
    def __init__(self, a, b=1):
        pass


InitDefaults.__init__.__defaults__ = TupleTrap((5,))


class InitCallable:
    __init__ = Recorder()


# A class whose dict holds a key that collides with "__module__" and "__init__".
ClassTrapKeys = type(
    "ClassTrapKeys",
    (),
    {KeyStr("__init__"): Recorder(), KeyStr("_fields"): Recorder(), "__module__": "__main__"},
)
FieldsTrap = type("FieldsTrap", (tuple,), {"_fields": TupleTrap(("a", "b"))})
Row = collections.namedtuple("Row", ["sku", "n"])
QualnameTrap = type("QualnameTrap", (), {})
QualnameTrap.__qualname__ = KeyStr("QualnameTrap")
ModuleTrap = type("ModuleTrap", (), {"__module__": KeyStr("__main__")})
# Look-alikes of library classes: their modules and names say pandas, numpy, torch.
DataFrame = type("DataFrame", (Recorder,), {"__module__": "pandas.core.frame"})
ndarray = type("ndarray", (Recorder,), {"__module__": "numpy"})
Tensor = type("Tensor", (Recorder,), {"__module__": "torch"})


# -- pandas ----------------------------------------------------------------------


class TrapDtype(ExtensionDtype):
    """A third-party pandas dtype: all of its code records."""

    name = "trap"
    type = object
    na_value = None

    @classmethod
    def construct_array_type(cls):
        return TrapArray

    locals().update(recording(names=("__repr__", "__str__", "__eq__", "__hash__")))


class TrapArray(ExtensionArray):
    """A third-party ExtensionArray (as geopandas' or pint's): its ``dtype``
    and ``__len__`` are its own code, which a lookup must not run."""

    def __init__(self, values):
        object.__setattr__(self, "_values", np.asarray(values, dtype=object))

    @classmethod
    def _from_sequence(cls, scalars, *, dtype=None, copy=False):
        return cls(scalars)

    @property
    def dtype(self):
        CALLS.append("TrapArray.dtype")
        return TrapDtype()

    def __len__(self):
        CALLS.append("TrapArray.__len__")
        return len(object.__getattribute__(self, "_values"))

    def __getitem__(self, item):
        CALLS.append("TrapArray.__getitem__")
        result = object.__getattribute__(self, "_values")[item]
        return TrapArray(result) if np.ndim(result) else result

    def __iter__(self):
        CALLS.append("TrapArray.__iter__")
        return iter(object.__getattribute__(self, "_values"))

    def isna(self):
        return np.zeros(len(object.__getattribute__(self, "_values")), dtype=bool)

    def take(self, indices, allow_fill=False, fill_value=None):
        CALLS.append("TrapArray.take")
        return TrapArray(object.__getattribute__(self, "_values").take(indices))

    def copy(self):
        return TrapArray(object.__getattribute__(self, "_values").copy())

    @classmethod
    def _concat_same_type(cls, arrays):
        return cls(np.concatenate([object.__getattribute__(a, "_values") for a in arrays]))

    @property
    def nbytes(self):
        CALLS.append("TrapArray.nbytes")
        return 0

    def __repr__(self):
        CALLS.append("TrapArray.__repr__")
        return "TRAP"


class TrapTZ(datetime.tzinfo):
    """A time zone of the user's: pandas shows it with ``str``."""

    def utcoffset(self, dt):
        CALLS.append("TrapTZ.utcoffset")
        return datetime.timedelta(0)

    def dst(self, dt):
        CALLS.append("TrapTZ.dst")
        return datetime.timedelta(0)

    def tzname(self, dt):
        CALLS.append("TrapTZ.tzname")
        return "TRAP"

    locals().update(recording(names=("__repr__", "__str__", "__eq__", "__hash__", "__reduce__")))


class SubFrame(pd.DataFrame):
    """A subclass of a library class may override anything."""

    @property
    def shape(self):
        CALLS.append("SubFrame.shape")
        return (0, 0)


def _frame_with_attrs():
    df = pd.DataFrame({"a": [1]})
    df.attrs["trap"] = Recorder()  # pandas deep-copies attrs in some operations
    return df


def _frame_with_trap_dict_key():
    df = pd.DataFrame({"a": [1]})
    df.__dict__[KeyStr("_mgr")] = Recorder()  # collides with pandas' own "_mgr"
    return df


def _frame_with_trap_columns():
    return pd.DataFrame([[1, 2]], columns=pd.Index(TrapArray(["a", "b"])))


def _frame_with_trap_index():
    return pd.DataFrame({"a": [1, 2]}, index=pd.Index(TrapArray(["x", "y"])))


def _categories_trap():
    return pd.Series(pd.Categorical(["a"], categories=pd.Index(TrapArray(["a"]))))


class TrapArrowType(pa.ExtensionType):
    """A pyarrow extension type of the user's: its text is its own code."""

    def __init__(self):
        super().__init__(pa.int64(), "trap.arrow")

    def __arrow_ext_serialize__(self):
        CALLS.append("TrapArrowType.__arrow_ext_serialize__")
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls()

    locals().update(recording(names=("__repr__", "__str__", "__eq__", "__hash__")))


def _arrow_extension():
    storage = pa.array([1, 2])
    array = pa.ExtensionArray.from_storage(TrapArrowType(), storage)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _interval_tz():
    return pd.Series(pd.interval_range(start=pd.Timestamp("2020-01-01", tz=TrapTZ()), periods=2))


def _tz_trap():
    return pd.Series(pd.DatetimeIndex(["2020-01-01"]).tz_localize(TrapTZ()))


# -- numpy -----------------------------------------------------------------------


class Title(Item):
    """A structured dtype's field title: numpy shows it with ``repr``."""


class TrapVoid(np.void):
    pass


class TrapNdarray(np.ndarray):
    def __array_finalize__(self, obj):
        CALLS.append("TrapNdarray.__array_finalize__")

    @property
    def shape(self):
        CALLS.append("TrapNdarray.shape")
        return (0,)


def _titled():
    return np.zeros(2, dtype=[((Title(), "a"), "f8"), ("b", "i4")])


def _trap_field_names():
    return np.zeros(2, dtype=[(KeyStr("a"), "f8"), (("t", "b"), "i4")])


def _trap_str_title():
    return np.zeros(1, dtype=[((KeyStr("title"), "a"), "f8")])


def _na_object():
    return np.array(["x"], dtype=np.dtypes.StringDType(na_object=Recorder()))


def _object_array():
    arr = np.empty(2, dtype=object)
    arr[0] = Item()
    return arr


# -- torch -----------------------------------------------------------------------


class RecordingTorchMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        CALLS.append(f"RecordingTorchMode({getattr(func, '__name__', '?')})")
        return func(*args, **(kwargs or {}))


class RecordingDispatchMode(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        CALLS.append(f"RecordingDispatchMode({func})")
        return func(*args, **(kwargs or {}))


class TrapTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        CALLS.append(f"TrapTensor({getattr(func, '__name__', '?')})")
        return super().__torch_function__(func, types, args, kwargs or {})


# -- polars ----------------------------------------------------------------------


class TrapExtension(pl.BaseExtension):
    """A Python extension type registered with polars: reading a frame's
    dtypes constructs it (``ext_from_params``) and shows it (``__repr__``)."""

    @classmethod
    def ext_from_params(cls, name, storage, metadata):
        CALLS.append("TrapExtension.ext_from_params")
        return super().ext_from_params(name, storage, metadata)

    def __repr__(self):
        CALLS.append("TrapExtension.__repr__")
        return "TRAP"

    def _string_repr(self):
        CALLS.append("TrapExtension._string_repr")
        return "trap"


# -- the table ---------------------------------------------------------------------

TRAPS = [
    # plain objects and their hooks
    ("recorder", Recorder(), "recorder: __main__.Recorder"),
    ("sneaky", Sneaky(), "sneaky: __main__.Sneaky"),
    ("dict_property", DictProperty(), "dict_property: __main__.DictProperty"),
    ("dict_descriptor", DictDescriptor(), "dict_descriptor: __main__.DictDescriptor"),
    (
        "class_property",
        ClassProperty(),
        "class_property: __main__.ClassProperty with attributes {value: int}",
    ),
    ("slotted", Slotted(), "slotted: __main__.Slotted"),
    ("plain_trap_keys", _plain_with_trap_keys(), None),
    ("namespace_trap_keys", _namespace_with_trap_keys(), None),
    ("meta_instance", WithMeta(1), "meta_instance: __main__.WithMeta"),
    ("meta_class", WithMeta, "meta_class: __main__.RecordingMeta"),
    ("color", Color.RED, None),
    ("trap_module", TrapModule("trap_module"), "trap_module: __main__.TrapModule"),
    ("lookalike_frame", DataFrame(), "lookalike_frame: pandas.core.frame.DataFrame"),
    ("lookalike_array", ndarray(), "lookalike_array: numpy.ndarray"),
    ("lookalike_tensor", Tensor(), "lookalike_tensor: torch.Tensor"),
    # builtin containers and subclasses of builtins
    (
        "items",
        [Recorder(), Sneaky()],
        "items: list of length 2 of __main__.Recorder/__main__.Sneaky",
    ),
    ("a_set", {Recorder()}, "a_set: set of length 1 of __main__.Recorder"),
    ("keyed", {Recorder(): 1}, "keyed: dict of length 1"),
    ("str_keys", {KeyStr("a"): 1, "a": 2}, "str_keys: dict of length 2"),
    (
        "nested_str_keys",
        {"cfg": {KeyStr("lr"): 1}},
        "nested_str_keys: dict of length 1, keys {'cfg': dict}",
    ),
    ("valued", {"a": Recorder()}, "valued: dict of length 1, keys {'a': __main__.Recorder}"),
    ("first_item_trap", [DictTrap(a=1)], "first_item_trap: list of length 1 of __main__.DictTrap"),
    ("tuple_sub", TupleTrap((1, 2)), "tuple_sub: __main__.TupleTrap"),
    ("list_sub", ListTrap([1]), "list_sub: __main__.ListTrap"),
    ("dict_sub", DictTrap(a=1), "dict_sub: __main__.DictTrap"),
    ("set_sub", SetTrap({1}), "set_sub: __main__.SetTrap"),
    ("str_sub", KeyStr("text"), "str_sub: __main__.KeyStr"),
    ("int_sub", IntTrap(3), "int_sub: __main__.IntTrap"),
    ("float_sub", FloatTrap(1.5), "float_sub: __main__.FloatTrap"),
    # functions and classes (signatures read from code objects)
    ("decorated", decorated, "decorated: function(x)"),
    (
        "trap_defaults",
        with_trap_defaults,
        "trap_defaults: function(x=..., *, y: __main__.Recorder = ...)",
    ),
    ("defaults_sub", _function(defaults=TupleTrap((5,))), "defaults_sub: function(...)"),
    ("kwdefaults_sub", _function(kwdefaults=DictTrap(c=5)), "kwdefaults_sub: function(...)"),
    (
        "kwdefaults_keys",
        _function(kwdefaults={KeyStr("c"): 5, "d": 6}),
        "kwdefaults_keys: function(a, b=1, *, c, d: int = 6)",
    ),
    (
        "annotations_sub",
        _function(annotations=DictTrap(a=int)),
        "annotations_sub: function(a, b=1, *, c=2, d=3)",
    ),
    (
        "annotations_keys",
        _function(annotations={KeyStr("d"): int, "a": str}),
        "annotations_keys: function(a: str, b=1, *, c=2, d=3)",
    ),
    ("init_defaults", InitDefaults, "init_defaults: class __main__.InitDefaults(...)"),
    ("init_callable", InitCallable, "init_callable: class __main__.InitCallable"),
    ("class_trap_keys", ClassTrapKeys, "class_trap_keys: class __main__.ClassTrapKeys"),
    ("fields_trap", FieldsTrap, "fields_trap: class __main__.FieldsTrap"),
    ("row", Row, "row: class __main__.Row, fields sku, n"),
    ("qualname_trap", QualnameTrap, "qualname_trap: class __main__.?"),
    ("module_trap", ModuleTrap, "module_trap: class ?.ModuleTrap"),
    # pandas: what a frame holds decides what is read
    (
        "ext_frame",
        pd.DataFrame({"n": [1, 2], "x": TrapArray(["a", "b"])}),
        "ext_frame: pandas DataFrame, shape (2, 2), columns {'n': int64, 'x': __main__.TrapArray}",
    ),
    (
        "ext_series",
        pd.Series(TrapArray(["a", "b"]), name="x"),
        "ext_series: pandas Series 'x', dtype __main__.TrapArray, length 2",
    ),
    ("ext_columns", _frame_with_trap_columns(), "ext_columns: pandas DataFrame"),
    ("ext_index", _frame_with_trap_index(), "ext_index: pandas DataFrame"),
    (
        "ext_categories",
        _categories_trap(),
        "ext_categories: pandas Series <NoneType>, dtype pandas.Categorical, length 1",
    ),
    (
        "user_tz",
        _tz_trap(),
        "user_tz: pandas Series <NoneType>, dtype pandas.arrays.DatetimeArray, length 1",
    ),
    (
        "frame_attrs",
        _frame_with_attrs(),
        "frame_attrs: pandas DataFrame, shape (1, 1), columns {'a': int64}",
    ),
    ("frame_dict_key", _frame_with_trap_dict_key(), "frame_dict_key: pandas DataFrame"),
    (
        "labels",
        pd.DataFrame({Item(): [1]}),
        "labels: pandas DataFrame, shape (1, 1), columns {<__main__.Item>: int64}",
    ),
    (
        "named",
        pd.Series([1], name=Item()),
        "named: pandas Series <__main__.Item>, dtype int64, length 1",
    ),
    ("objects", pd.Series([Item()]), "objects: pandas Series <NoneType>, dtype object, length 1"),
    ("sub_frame", SubFrame({"a": [1]}), "sub_frame: __main__.SubFrame"),
    (
        "sparse_fill",
        pd.Series(pd.arrays.SparseArray([1.0, 2.0], fill_value=FloatTrap(0.0))),
        "sparse_fill: pandas Series <NoneType>, dtype pandas.arrays.SparseArray, length 2",
    ),
    (
        "arrow_extension",
        _arrow_extension(),
        "arrow_extension: pandas Series <NoneType>, dtype pandas.arrays.ArrowExtensionArray,"
        " length 2",
    ),
    (
        "interval_tz",
        _interval_tz(),
        "interval_tz: pandas Series <NoneType>, dtype pandas.arrays.IntervalArray, length 2",
    ),
    (
        "category_columns",
        pd.DataFrame([[1]], columns=pd.CategoricalIndex([Item()])),
        "category_columns: pandas DataFrame, shape (1, 1), columns {<__main__.Item>: int64}",
    ),
    # numpy: dtypes are read from names and field dtypes, never titles
    (
        "titled",
        _titled(),
        "titled: numpy ndarray, shape (2,), dtype [('a', float64), ('b', int32)]",
    ),
    (
        "field_names",
        _trap_field_names(),
        "field_names: numpy ndarray, shape (2,), dtype numpy.dtypes.VoidDType",
    ),
    (
        "str_title",
        _trap_str_title(),
        "str_title: numpy ndarray, shape (1,), dtype [('a', float64)]",
    ),
    (
        "void_sub",
        np.zeros(1, dtype=(TrapVoid, [("a", "f8")])),
        "void_sub: numpy ndarray, shape (1,), dtype [('a', float64)]",
    ),
    (
        "na_object",
        _na_object(),
        "na_object: numpy ndarray, shape (1,), dtype numpy.dtypes.StringDType",
    ),
    ("object_array", _object_array(), "object_array: numpy ndarray, shape (2,), dtype object"),
    (
        "subarray_titled",
        np.zeros(1, dtype=np.dtype((np.dtype([((Title(), "a"), "f8")]), (2,)))),
        "subarray_titled: numpy ndarray, shape (1, 2), dtype [('a', float64)]",
    ),
    ("ndarray_sub", np.zeros(3).view(TrapNdarray), "ndarray_sub: __main__.TrapNdarray"),
    # torch
    ("tensor", torch.zeros(2, 3), "tensor: torch Tensor, shape (2, 3), dtype torch.float32"),
    (
        "parameter",
        torch.nn.Parameter(torch.zeros(2)),
        "parameter: torch Tensor, shape (2,), dtype torch.float32",
    ),
    ("tensor_sub", torch.zeros(2).as_subclass(TrapTensor), "tensor_sub: __main__.TrapTensor"),
    # polars
    ("lazy", pl.LazyFrame({"a": [1]}), "lazy: polars LazyFrame"),
    (
        "pl_object_frame",
        pl.DataFrame({"o": pl.Series([Item()], dtype=pl.Object)}),
        "pl_object_frame: polars DataFrame, shape (1, 1), columns {'o': Object}",
    ),
    (
        "pl_objects",
        pl.Series("o", [Item()], dtype=pl.Object),
        "pl_objects: polars Series 'o', dtype Object, length 1",
    ),
]
globals().update({name: obj for name, obj, _ in TRAPS})
#: Names a lookup may be asked about, and the source that asks for all of them.
SOURCE = " ".join(name for name, _, _ in TRAPS)


# -- traps on the lookup as a whole --------------------------------------------------

_ACTIVE: dict[str, object] = {}


def _install_namespace_keys(ns):
    # str subclass keys whose hash is that of names the source uses: a lookup
    # of the name in the namespace compares it with them (their __eq__).
    for name in ("recorder", "tensor", "titled", "ext_frame"):
        obj = ns.pop(name)
        ns[KeyStr(name)] = 0
        ns[name] = obj


def _uninstall_namespace_keys(ns):
    for key in [k for k in ns if type(k) is KeyStr]:
        del ns[key]


def _install_builtins(ns):
    vars(builtins)["__getattr__"] = _recorded("__getattr__")
    vars(builtins)[KeyStr("tensor")] = 0  # collides with a name the source uses


def _uninstall_builtins(ns):
    del vars(builtins)["__getattr__"]
    for key in [k for k in vars(builtins) if type(k) is KeyStr]:
        del vars(builtins)[key]


def _install_modules(ns):
    # Modules replaced by look-alikes whose attributes are their code, and a str
    # subclass key probed before the real "polars" (removed and put back after
    # it). Such a key runs its __eq__ on every import of that name, by anyone:
    # it takes a package whose code the readers call but that never imports
    # itself again (numpy's does).
    for name in ("pandas.arrays", "torch"):
        _ACTIVE[name] = sys.modules[name]
        sys.modules[name] = TrapModule(name)
    real = sys.modules.pop("polars")
    sys.modules[KeyStr("polars")] = TrapModule("polars")
    sys.modules["polars"] = real


def _uninstall_modules(ns):
    for name in ("pandas.arrays", "torch"):
        sys.modules[name] = _ACTIVE.pop(name)  # type: ignore[assignment]
    for key in [k for k in sys.modules if type(k) is KeyStr]:
        del sys.modules[key]


def _install_torch_mode(ns):
    mode = RecordingTorchMode()
    mode.__enter__()
    _ACTIVE["torch mode"] = mode


def _uninstall_torch_mode(ns):
    _ACTIVE.pop("torch mode").__exit__(None, None, None)  # type: ignore[attr-defined]


def _install_dispatch_mode(ns):
    mode = RecordingDispatchMode()
    mode.__enter__()
    _ACTIVE["dispatch mode"] = mode


def _uninstall_dispatch_mode(ns):
    _ACTIVE.pop("dispatch mode").__exit__(None, None, None)  # type: ignore[attr-defined]


def _install_polars_extension(ns):
    pl.register_extension_type("trap.ext", TrapExtension)
    frame = pl.DataFrame({"n": [1, 2]})
    before = len(CALLS)
    ns["pl_extension"] = frame.with_columns(
        pl.col("n").ext.to(TrapExtension("trap.ext", pl.Int64)).alias("e")
    )
    del CALLS[before:]


def _uninstall_polars_extension(ns):
    ns.pop("pl_extension", None)
    from polars.datatypes.extension import unregister_extension_type

    unregister_extension_type("trap.ext")


def _install_hidden(ns):
    hidden = ns.get("__trap_hidden__")
    if hidden is not None:
        hidden[KeyStr("recorder")] = 0


def _uninstall_hidden(ns):
    hidden = ns.get("__trap_hidden__")
    if hidden is not None:
        for key in [k for k in hidden if type(k) is KeyStr]:
            del hidden[key]


def _in_lookup():
    """Whether the lookup (the code of jupyter_codegen.kernel.live, any of its
    modules) is running: the collector may also run for the test's own code,
    which is not the lookup's doing."""
    frame = sys._getframe(1)
    while frame is not None:
        if "/jupyter_codegen/kernel/live/" in frame.f_code.co_filename.replace("\\", "/"):
            return True
        frame = frame.f_back
    return False


class Cycle:
    """Garbage in a reference cycle: only the cyclic collector frees it, and
    its ``__del__`` runs then."""

    def __init__(self):
        self.me = self

    def __del__(self):
        if _in_lookup():
            CALLS.append("Cycle.__del__")


def _gc_callback(phase, info):
    if _in_lookup():
        CALLS.append(f"gc.callbacks({phase})")


def _install_gc(ns):
    # The collector runs at every allocation, and finds the user's garbage
    _ACTIVE["gc threshold"] = gc.get_threshold()
    gc.collect()
    gc.set_threshold(1, 1, 1)
    gc.callbacks.append(_gc_callback)
    gc.disable()  # the garbage stays until the lookup
    for _ in range(100):
        Cycle()
    gc.enable()


def _uninstall_gc(ns):
    gc.callbacks.remove(_gc_callback)
    gc.set_threshold(*_ACTIVE.pop("gc threshold"))  # type: ignore[misc]
    gc.collect()


ENVIRONMENT = {
    "namespace_keys": (_install_namespace_keys, _uninstall_namespace_keys),
    "builtins": (_install_builtins, _uninstall_builtins),
    "sys_modules": (_install_modules, _uninstall_modules),
    "torch_function_mode": (_install_torch_mode, _uninstall_torch_mode),
    "torch_dispatch_mode": (_install_dispatch_mode, _uninstall_dispatch_mode),
    "polars_extension": (_install_polars_extension, _uninstall_polars_extension),
    "hidden_keys": (_install_hidden, _uninstall_hidden),
    "gc_finalizers": (_install_gc, _uninstall_gc),
}


def install(name, ns):
    ENVIRONMENT[name][0](ns)


def uninstall(name, ns):
    ENVIRONMENT[name][1](ns)


del CALLS[:]  # building the corpus ran its code: that is the user's own doing
