"""Sphinx directives that generate reference tables from the code, so they cannot drift.

``traits-table``: the configurable traits of a traitlets class (name, type, default, help),
read from ``cls.class_traits(config=True)``: every trait, its own and those it inherits.
The argument is the class's dotted path (``package.module.Class``), or a package that is a
Jupyter server extension (``jupyter_codegen``): then the class is the app that its
``_jupyter_server_extension_points()`` names, wherever in the package it lives.
``group`` picks which ones go into this table:

- ``own`` (the default): traits defined outside the frameworks (traitlets, jupyter_core,
  jupyter_server), in declaration order;
- ``inherited``: those the frameworks define (ExtensionApp, Application...), with the first
  paragraph of their help;
- ``all``: both.

``jupyterlab-settings``: the properties of a JupyterLab settings schema (a JSON file, its path
relative to the repository root): name, type, default, title and description.

Usage in MyST Markdown::

    ```{traits-table} jupyter_codegen
    :group: own
    ```

    ```{jupyterlab-settings} schema/plugin.json
    ```

The pure functions (``config_traits``, ``traits_table``, ``settings_table``) build docutils
nodes without Sphinx, so tests can call them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import textwrap
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

#: Top-level packages whose traits count as inherited, not the extension's own.
FRAMEWORKS = frozenset({"traitlets", "jupyter_core", "jupyter_server"})

#: The repository root (docs/_ext/ is two levels below it).
REPO_ROOT = Path(__file__).resolve().parents[2]

_TYPE_NAMES = {
    "Unicode": "str",
    "Bytes": "bytes",
    "Int": "int",
    "Integer": "int",
    "Float": "float",
    "Bool": "bool",
    "List": "list",
    "Tuple": "tuple",
    "Set": "set",
    "Dict": "dict",
}


def import_object(path: str) -> Any:
    """``package.module.Name`` -> that object; a server extension's package -> its app."""
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name != path:  # a module that exists failed to import: say so
            raise
        module = None
    if module is not None:
        points = getattr(module, "_jupyter_server_extension_points", None)
        if points is None:
            raise ValueError(f"{path!r} is a module, but not a Jupyter server extension")
        return points()[0]["app"]
    parent, _, name = path.rpartition(".")
    if not parent:
        raise ValueError(f"not a dotted path to a class: {path!r}")
    return getattr(importlib.import_module(parent), name)


def _defined_by_framework(trait: Any) -> bool:
    owner = getattr(trait, "this_class", None)
    package = (getattr(owner, "__module__", "") or "").split(".", 1)[0]
    return package in FRAMEWORKS


def _declaration_order(cls: type) -> dict[str, int]:
    """Trait names in the order their classes declare them, base classes first."""
    order: dict[str, int] = {}
    for klass in reversed(cls.__mro__):
        for name in vars(klass):
            order.setdefault(name, len(order))
    return order


def config_traits(cls: type, group: str = "own") -> list[tuple[str, Any]]:
    """The configurable traits of ``cls`` (``class_traits(config=True)``) in ``group``."""
    if group not in ("own", "inherited", "all"):
        raise ValueError(f"group must be own, inherited or all, not {group!r}")
    traits = cls.class_traits(config=True)  # type: ignore[attr-defined]
    order = _declaration_order(cls)
    picked = [
        (name, trait)
        for name, trait in traits.items()
        if group == "all" or _defined_by_framework(trait) == (group == "inherited")
    ]
    return sorted(picked, key=lambda item: (order.get(item[0], len(order)), item[0]))


def trait_type(trait: Any) -> str:
    """A short type for readers: ``str``, ``int``..., or the values of an enum."""
    values = getattr(trait, "values", None)
    if values is not None and not isinstance(values, str):
        return "one of " + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values)
    kind = type(trait).__name__
    return _TYPE_NAMES.get(kind, kind)


def trait_default(cls: type, name: str, trait: Any) -> str:
    """The default as Python would write it; a default computed at start-up says so."""
    if any(name in getattr(k, "_trait_default_generators", {}) for k in cls.__mro__):
        return "computed at start-up (see its help)"
    return str(trait.default_value_repr())


def help_paragraphs(help_text: str, *, summary: bool = False) -> list[str]:
    """The help split into paragraphs, each on one line; ``summary``: the first only."""
    text = textwrap.dedent(help_text or "").strip()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    if summary and len(paragraphs) > 1:
        return [paragraphs[0] + " (…)"]
    return paragraphs


#: `code` or a 'value' without spaces: shown as code (and kept from smart quotes).
_CODE = re.compile(r"`([^`]+)`|(?<![\w'])'([^'\s]+)'(?![\w'])")


def _inline(text: str) -> list[nodes.Node]:
    """Plain text, with `backquoted` and 'quoted' values as code; nothing else is markup."""
    parts: list[nodes.Node] = []
    pieces = _CODE.split(text)
    # split() gives text, then the two groups (one of them None), then text, ...
    for i, piece in enumerate(pieces):
        if piece is None:
            continue
        if i % 3 == 0:
            if piece:
                parts.append(nodes.Text(piece))
        else:
            parts.append(nodes.literal(piece, piece))
    return parts


def _cell(*children: nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    entry.extend(children)
    return entry


def _paragraph(text: str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    paragraph.extend(_inline(text))
    return paragraph


def _literal(text: str) -> nodes.paragraph:
    return nodes.paragraph("", "", nodes.literal(text, text))


def _table(headers: list[str], widths: list[int], rows: list[list[nodes.entry]]) -> nodes.table:
    # colwidths-given: the HTML writer sets the widths below instead of leaving them to the
    # browser, which gave the help column the least room.
    table = nodes.table(classes=["generated-reference", "colwidths-given"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for title in headers:
        row += _cell(nodes.paragraph(text=title))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        row.extend(cells)
        body += row
    return table


def traits_table(cls: type, group: str = "own") -> nodes.table:
    """The table of ``cls``'s configurable traits in ``group``: name, type, default, help."""
    summary = group == "inherited"
    rows = []
    for name, trait in config_traits(cls, group):
        paragraphs = help_paragraphs(trait.help, summary=summary) or ["(no help)"]
        rows.append(
            [
                _cell(_literal(name)),
                _cell(_paragraph(trait_type(trait))),
                _cell(_literal(trait_default(cls, name, trait))),
                _cell(*(_paragraph(p) for p in paragraphs)),
            ]
        )
    return _table(["name", "type", "default", "help"], [20, 13, 17, 50], rows)


def settings_table(schema_path: Path) -> nodes.table:
    """The table of a JupyterLab settings schema's properties."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind = str(prop.get("type", ""))
        if "enum" in prop:
            kind = "one of " + ", ".join(f"`{json.dumps(v).strip(chr(34))}`" for v in prop["enum"])
        description = " ".join(str(prop.get("description", "")).split())
        rows.append(
            [
                _cell(_literal(name)),
                _cell(_paragraph(kind)),
                _cell(_literal(json.dumps(prop.get("default")))),
                _cell(_paragraph(str(prop.get("title", "")))),
                _cell(_paragraph(description or "(no description)")),
            ]
        )
    return _table(["key", "type", "default", "title", "description"], [17, 14, 15, 17, 37], rows)


def _add_static_path(app: Any) -> None:
    app.config.html_static_path.append(str(Path(__file__).parent / "static"))


class TraitsTable(SphinxDirective):
    required_arguments = 1
    option_spec = {"group": lambda arg: directives.choice(arg, ("own", "inherited", "all"))}

    def run(self) -> list[nodes.Node]:
        cls = import_object(self.arguments[0])
        # Rebuild this page when a module that defines one of the classes changes.
        for klass in cls.__mro__:
            package = klass.__module__.split(".", 1)[0]
            if package not in FRAMEWORKS and package != "builtins":
                source = inspect.getsourcefile(klass)
                if source:
                    self.env.note_dependency(source)
        return [traits_table(cls, self.options.get("group", "own"))]


class JupyterLabSettings(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = REPO_ROOT / self.arguments[0]
        self.env.note_dependency(str(path))
        return [settings_table(path)]


def setup(app: Any) -> dict[str, Any]:
    app.add_css_file("generated-reference.css")
    app.connect("builder-inited", _add_static_path)
    app.add_directive("traits-table", TraitsTable)
    app.add_directive("jupyterlab-settings", JupyterLabSettings)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
