"""tree-sitter over (neutralized) notebook Python: the parser, and pure
walks of a tree's nodes: the names a node reads and binds, what a statement
is, a definition's summary. Each thread gets its own parser. The walks are
iterative: deeply nested code cannot exhaust the interpreter's stack."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Tree

LANGUAGE = Language(tree_sitter_python.language())
_local = threading.local()


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = Parser(LANGUAGE)
    return parser


def parse(text: str) -> Tree:
    """A tree for already-neutral Python text."""
    return _parser().parse(text.encode("utf-8"))


def count_errors(root: Node) -> int:
    """ERROR and MISSING nodes under ``root`` (0: it parses)."""
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


def node_text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def classify(node: Node) -> tuple[str, frozenset[str]]:
    t = node.type
    if t in ("import_statement", "import_from_statement", "future_import_statement"):
        return "import", frozenset(_imported_names(node))
    definition = node.child_by_field_name("definition") if t == "decorated_definition" else node
    if definition is not None and definition.type in ("function_definition", "class_definition"):
        name = definition.child_by_field_name("name")
        return "def", frozenset([node_text(name)] if name is not None else [])
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
                yield node_text(alias)
        elif child.type == "dotted_name":
            parts = [node_text(c) for c in child.named_children]
            # "import a.b" binds "a"; "from m import b" binds "b".
            yield parts[0] if node.type == "import_statement" else parts[-1]
    for child in node.named_children:
        if child.type == "wildcard_import":
            yield "*"


def _targets(assignment: Node) -> Iterator[str]:
    """Names bound by an assignment chain (``a = b = 1``; ``x, (y, z) = ...``)."""
    current: Node | None = assignment
    while current is not None:
        left = current.child_by_field_name("left")
        if left is not None:
            yield from _pattern_names(left)
        right = current.child_by_field_name("right")
        current = right if right is not None and right.type == "assignment" else None


_PATTERNS = ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list")
_WRAPPED = ("list_splat_pattern", "as_pattern_target")


def _pattern_names(node: Node) -> Iterator[str]:
    """The identifiers of an assignment target, in source order."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "identifier":
            yield node_text(cur)
        elif cur.type in _PATTERNS or cur.type in _WRAPPED:
            stack.extend(reversed(cur.named_children))


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
                yield node_text(name)
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


def local_names(node: Node) -> Iterator[str]:
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
            yield node_text(name)
    body = definition.child_by_field_name("body")
    if body is not None:
        yield from _bound_inside(body)


def names_read(node: Node) -> Iterator[str]:
    """Identifiers read by ``node``: attribute names and keyword-argument names
    are not variables and are skipped."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if cur.type == "identifier":
            name = node_text(cur)
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


def summary(node: Node, raw: bytes) -> str | None:
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
