"""tree-sitter parsing of notebook Python.

Notebook cells are not quite Python: IPython adds ``%line`` and ``%%cell``
magics, ``!shell`` lines and ``obj?`` help. :func:`neutralize` turns those into
Python that parses, keeping every line's length in bytes, so that positions in
the tree are positions in the cell. Parses are cached by cell source, because
the frontend re-sends the whole notebook on every keystroke.

Everything here is pure and safe to call from any thread (each thread gets its
own parser).
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Tree

LANGUAGE = Language(tree_sitter_python.language())
_local = threading.local()

#: Cell magics whose body is Python; any other cell magic (bash, sql, html,
#: writefile...) makes the cell foreign: it is kept as text, not analysed.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun"})
#: Line magics whose argument is a Python statement (``%time x = f()``).
PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit", "mprun"})

COMPOUND = frozenset(
    {
        "function_definition",
        "class_definition",
        "if_statement",
        "elif_clause",
        "else_clause",
        "for_statement",
        "while_statement",
        "with_statement",
        "try_statement",
        "except_clause",
        "except_group_clause",
        "finally_clause",
        "match_statement",
        "case_clause",
    }
)
_HEADER_KEYWORDS = re.compile(
    r"^\s*(async\s+)?(def|class|if|elif|else|for|while|with|try|except|finally|match|case)\b"
)

_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
_LINE_MAGIC = re.compile(r"^(\s*)(%{1,2}(\w*)|!|\?{1,2})")
_ASSIGN_MAGIC = re.compile(
    r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)(%|!(?!=))(\w*)"
)
_HELP_SUFFIX = re.compile(r"^\s*[A-Za-z_][\w.\[\]'\"()]*(\?{1,2})\s*$")


PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython", "ipython3"})


def is_python(language: str) -> bool:
    """Whether a request's language is the Python this module parses."""
    return language.lower() in PYTHON_LANGUAGES


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(LANGUAGE)
    return parser


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _placeholder(text: str) -> str:
    """``_`` padded to the byte length of ``text``: a statement that parses."""
    return "_" + " " * (_nbytes(text) - 1) if text else ""


def _neutralize_line(line: str) -> str:
    m = _ASSIGN_MAGIC.match(line)
    if m:
        head = m.group(1)
        return head + _placeholder(line[len(head) :])
    m = _LINE_MAGIC.match(line)
    if m:
        indent, token, name = m.group(1), m.group(2), m.group(3) or ""
        rest = line[len(indent) + len(token) :]
        if token.startswith("%") and name in PYTHON_LINE_MAGICS and rest.strip():
            # "%time x = f()" -> "_;    x = f()": the statement stays visible.
            return indent + "_;" + " " * (_nbytes(token) - 2) + rest
        return indent + _placeholder(line[len(indent) :])
    m = _HELP_SUFFIX.match(line)
    if m:
        start, end = m.span(1)
        return line[:start] + " " * (end - start) + line[end:]
    return line


@dataclass(frozen=True)
class Neutralized:
    text: str
    #: False for a foreign cell magic (``%%bash``, ``%%sql``...).
    python: bool
    magic: str | None


def neutralize(source: str) -> Neutralized:
    """IPython syntax replaced by Python with the same byte length on every line."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    magic = None
    if first is not None:
        m = _CELL_MAGIC.match(lines[first])
        if m:
            magic = m.group(1)
            if magic not in PYTHON_CELL_MAGICS:
                text = "\n".join(" " * _nbytes(line) for line in lines)
                return Neutralized(text, False, magic)
            lines[first] = _placeholder(lines[first])
    return Neutralized("\n".join(_neutralize_line(line) for line in lines), True, magic)


# -- analysed cells ----------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a cell."""

    index: int
    kind: str  # "import" | "def" | "assign" | "other"
    start: int  # byte offsets into the cell's UTF-8 source
    end: int
    text: str
    defines: frozenset[str]
    uses: frozenset[str]
    #: For a long definition: its header and docstring with the body elided.
    summary: str | None = None


@dataclass(frozen=True)
class CellSyntax:
    source: str
    python: bool
    has_error: bool
    statements: tuple[Statement, ...]

    @property
    def defines(self) -> frozenset[str]:
        return frozenset().union(*(s.defines for s in self.statements))

    @property
    def uses(self) -> frozenset[str]:
        return frozenset().union(*(s.uses for s in self.statements))


def parse(text: str) -> Tree:
    """A tree for already-neutral Python text."""
    return _parser().parse(text.encode("utf-8"))


@lru_cache(maxsize=4096)
def parse_cell(source: str) -> CellSyntax:
    """The cell's statements with the names they define and use (cached by source)."""
    neutral = neutralize(source)
    if not neutral.python:
        return CellSyntax(source, False, False, ())
    tree = parse(neutral.text)
    raw = source.encode("utf-8")
    neutral_raw = neutral.text.encode("utf-8")
    statements: list[Statement] = []
    for node in tree.root_node.named_children:
        if node.type == "comment":
            continue
        # A neutralized magic ends the line with padding: its text runs to the line end.
        end = node.end_byte
        line_end = raw.find(b"\n", end)
        line_end = len(raw) if line_end < 0 else line_end
        if not neutral_raw[end:line_end].strip():
            end = len(raw[:line_end].rstrip())
        kind, defines = _classify(node)
        uses: frozenset[str] = frozenset()
        if kind != "import":
            uses = frozenset(_uses(node)) - defines - frozenset(_locals(node))
        statements.append(
            Statement(
                index=len(statements),
                kind=kind,
                start=node.start_byte,
                end=end,
                text=raw[node.start_byte : end].decode("utf-8", "replace"),
                defines=defines,
                uses=uses,
                summary=_summary(node, raw),
            )
        )
    return CellSyntax(source, True, tree.root_node.has_error, tuple(statements))


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _classify(node: Node) -> tuple[str, frozenset[str]]:
    t = node.type
    if t in ("import_statement", "import_from_statement", "future_import_statement"):
        return "import", frozenset(_imported_names(node))
    definition = node.child_by_field_name("definition") if t == "decorated_definition" else node
    if definition is not None and definition.type in ("function_definition", "class_definition"):
        name = definition.child_by_field_name("name")
        return "def", frozenset([_text(name)] if name is not None else [])
    if t == "expression_statement" and node.named_children:
        first = node.named_children[0]
        if first.type in ("assignment", "augmented_assignment"):
            return "assign", frozenset(_targets(first))
    return "other", frozenset(_bound_inside(node))


def _imported_names(node: Node) -> Iterator[str]:
    if node.type == "future_import_statement":
        return
    for child in node.children_by_field_name("name"):
        if child.type == "aliased_import":
            alias = child.child_by_field_name("alias")
            if alias is not None:
                yield _text(alias)
        elif child.type == "dotted_name":
            parts = [_text(c) for c in child.named_children]
            # "import a.b" binds "a"; "from m import b" binds "b".
            yield parts[0] if node.type == "import_statement" else parts[-1]
    for child in node.named_children:
        if child.type == "wildcard_import":
            yield "*"


def _targets(assignment: Node) -> Iterator[str]:
    """Names bound by an assignment chain (``a = b = 1``; ``x, (y, z) = ...``)."""
    left = assignment.child_by_field_name("left")
    if left is not None:
        yield from _pattern_names(left)
    right = assignment.child_by_field_name("right")
    if right is not None and right.type == "assignment":
        yield from _targets(right)


def _pattern_names(node: Node) -> Iterator[str]:
    if node.type == "identifier":
        yield _text(node)
    elif node.type in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"):
        for child in node.named_children:
            yield from _pattern_names(child)
    elif node.type in ("list_splat_pattern", "as_pattern_target"):
        for child in node.named_children:
            yield from _pattern_names(child)


def _bound_inside(node: Node) -> Iterator[str]:
    """Names a compound statement binds at its own level (loop targets, ``as``
    targets, assignments in its blocks), not inside nested functions or classes."""
    stack = [node]
    while stack:
        cur = stack.pop()
        t = cur.type
        if t in ("function_definition", "class_definition") and cur is not node:
            name = cur.child_by_field_name("name")
            if name is not None:
                yield _text(name)
            continue
        if t in ("assignment", "augmented_assignment"):
            yield from _targets(cur)
        elif t in ("for_statement", "for_in_clause"):
            left = cur.child_by_field_name("left")
            if left is not None and t == "for_statement":
                yield from _pattern_names(left)
        elif t == "as_pattern_target":
            yield from _pattern_names(cur)
        elif t in ("import_statement", "import_from_statement"):
            yield from _imported_names(cur)
        stack.extend(cur.named_children)


def _definition(node: Node) -> Node | None:
    """The function or class a (possibly decorated) statement defines."""
    if node.type == "decorated_definition":
        return node.child_by_field_name("definition")
    return node


def _locals(node: Node) -> Iterator[str]:
    """Names local to a function: its parameters and what its body binds."""
    definition = _definition(node)
    if definition is None or definition.type != "function_definition":
        return
    params = definition.child_by_field_name("parameters")
    for param in params.named_children if params is not None else ():
        name = param.child_by_field_name("name") if param.type != "identifier" else param
        if name is None and param.named_children:
            name = param.named_children[0]
        if name is not None and name.type == "identifier":
            yield _text(name)
    body = definition.child_by_field_name("body")
    if body is not None:
        yield from _bound_inside(body)


def _uses(node: Node) -> Iterator[str]:
    """Identifiers read by ``node``: attribute names and keyword-argument names
    are not variables and are skipped."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "identifier":
            name = _text(cur)
            if name != "_":  # also the placeholder of neutralized magics
                yield name
            continue
        if cur.type == "attribute":
            obj = cur.child_by_field_name("object")
            if obj is not None:
                stack.append(obj)
            continue
        if cur.type == "keyword_argument":
            value = cur.child_by_field_name("value")
            if value is not None:
                stack.append(value)
            continue
        stack.extend(cur.named_children)


def _summary(node: Node, raw: bytes) -> str | None:
    """A function or class reduced to its header, docstring and ``...``."""
    definition = _definition(node)
    if definition is None or definition.type not in ("function_definition", "class_definition"):
        return None
    body = definition.child_by_field_name("body")
    if body is None or not body.named_children:
        return None
    head = raw[node.start_byte : body.start_byte].decode("utf-8", "replace").rstrip()
    first = body.named_children[0]
    indent = " " * first.start_point[1]
    parts = [head]
    if first.type == "expression_statement" and first.named_children[0].type == "string":
        parts.append(indent + raw[first.start_byte : first.end_byte].decode("utf-8", "replace"))
    parts.append(indent + "...")
    return "\n".join(parts)


# -- questions about the text around the cursor -----------------------------


def error_count(source: str) -> int:
    """ERROR and MISSING nodes in the neutralized source (0: it parses)."""
    neutral = neutralize(source)
    if not neutral.python:
        return 0
    root = parse(neutral.text).root_node
    if not root.has_error:
        return 0
    count = 0
    stack = [root]
    while stack:
        cur = stack.pop()
        if cur.is_error or cur.is_missing:
            count += 1
        if cur.has_error:
            stack.extend(cur.children)
    return count


def parses(source: str) -> bool:
    return error_count(source) == 0


def compiles(source: str) -> bool:
    """Whether CPython accepts the neutralized cell: stricter than tree-sitter,
    which tolerates, for example, a dedent to no enclosing level."""
    neutral = neutralize(source)
    if not neutral.python:
        return True
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        compile(neutral.text, "<cell>", "exec", flags=flags, dont_inherit=True)
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        return False
    return True


def names_used(source: str) -> frozenset[str]:
    """Identifiers ``source`` reads, tolerant of the unfinished code of a cell
    being typed."""
    neutral = neutralize(source)
    if not neutral.python:
        return frozenset()
    return frozenset(_uses(parse(neutral.text).root_node))


def names_defined(source: str) -> frozenset[str]:
    return parse_cell(source).defines


def ends_block_header(prefix: str) -> bool:
    """Whether the cursor (the end of ``prefix``) follows a block header's ``:``
    (``def f():``, ``for x in y:``), not a ``:`` in a dict, slice or lambda."""
    line = prefix.rsplit("\n", 1)[-1]
    code = line.split("#", 1)[0].rstrip() if "#" in line else line.rstrip()
    if not code.endswith(":"):
        return False
    neutral = neutralize(prefix)
    if not neutral.python:
        return False
    line_start = _nbytes(prefix[: prefix.rfind("\n") + 1])
    colon_at = line_start + _nbytes(code) - 1
    tree = parse(neutral.text)
    node = tree.root_node.descendant_for_byte_range(colon_at, colon_at + 1)
    if node is None or node.type != ":":
        return bool(_HEADER_KEYWORDS.match(line))
    parent = node.parent
    if parent is not None and parent.type in COMPOUND:
        return True
    if parent is None or parent.type == "ERROR" or parent.is_error:
        # Inside broken code: fall back on the line's keyword.
        return bool(_HEADER_KEYWORDS.match(line))
    return False
