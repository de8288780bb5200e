"""What the live kernel knows, as prompt context: for the magics, and for the
frontend's silent lookup (:func:`live_context`).

Everything here runs inside the user's kernel and reads the user's namespace.
It never runs code that the user (or a package other than the few below)
defined. The rule that every reader in this package follows:

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

The modules, each following the rule: :mod:`.trusted` (the primitives
above, :func:`~.trusted.guarded`), :mod:`.registry` (the library classes, by
identity), :mod:`.objects` (classes, instances, builtin containers,
functions), :mod:`.libraries` (numpy, polars, torch), :mod:`.frames`
(pandas), :mod:`.reader` (the dispatch, one line per value), and
:mod:`.namespace` (which names, the bounded reply, :func:`live_context`).
Importing the package imports the standard library only.
"""

from __future__ import annotations

from jupyter_codegen.kernel.live.limits import (
    LIVE_CHARS,
    MAX_COLUMNS,
    MAX_DICT_LEN,
    MAX_KEYS,
    MAX_LINE_CHARS,
    MAX_LIVE_SOURCE_CHARS,
    MAX_NAME_CHARS,
    MAX_REPLY_CHARS,
    MAX_SOURCE_CHARS,
    MAX_VARIABLES,
)
from jupyter_codegen.kernel.live.namespace import (
    LiveContext,
    describe_live,
    live_context,
    live_source,
    names_in,
    pick_names,
)
from jupyter_codegen.kernel.live.reader import describe_value, function_signature

__all__ = [
    "LIVE_CHARS",
    "MAX_COLUMNS",
    "MAX_DICT_LEN",
    "MAX_KEYS",
    "MAX_LINE_CHARS",
    "MAX_LIVE_SOURCE_CHARS",
    "MAX_NAME_CHARS",
    "MAX_REPLY_CHARS",
    "MAX_SOURCE_CHARS",
    "MAX_VARIABLES",
    "LiveContext",
    "describe_live",
    "describe_value",
    "function_signature",
    "live_context",
    "live_source",
    "names_in",
    "pick_names",
]
