"""Questions about notebook Python: does it parse, does CPython accept it,
which names does it use and define, does a line end a block header.

:class:`ParsedCell` answers them all from one parse, for the completion
pipeline, which parses the active cell once per request. Code that is
strange in any way (nested thousands deep, a NUL byte, huge) only "does not
parse": nothing here raises on input. Pure and thread-safe.
"""

from __future__ import annotations

import ast
import re
from functools import cached_property

from tree_sitter import Tree

from jupyter_codegen.context.neutralize import Neutralized, nbytes, neutralize
from jupyter_codegen.context.statements import CellSyntax, cell_syntax, parse_cell
from jupyter_codegen.context.tree import count_errors, names_read, parse

PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython", "ipython3"})

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
_COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def is_python(language: str) -> bool:
    """Whether a request's language is the Python this module parses."""
    return language.lower() in PYTHON_LANGUAGES


class ParsedCell:
    """One parse of a cell's text, and what it tells. A foreign cell
    (``%%bash``...) has no tree: it parses, compiles, uses and defines nothing."""

    def __init__(self, source: str):
        self.source = source
        self.neutral: Neutralized = neutralize(source)
        self.tree: Tree | None = parse(self.neutral.text) if self.neutral.python else None

    @cached_property
    def errors(self) -> int:
        """ERROR and MISSING nodes (0: it parses)."""
        return count_errors(self.tree.root_node) if self.tree is not None else 0

    @cached_property
    def names_used(self) -> frozenset[str]:
        """Identifiers it reads, tolerant of the unfinished code of a cell being typed."""
        return frozenset(names_read(self.tree.root_node)) if self.tree is not None else frozenset()

    @cached_property
    def syntax(self) -> CellSyntax:
        return cell_syntax(self.source, self.neutral, self.tree)

    @property
    def names_defined(self) -> frozenset[str]:
        return self.syntax.defines

    def ends_block_header(self, end: int) -> bool:
        """Whether ``source[:end]`` ends at a block header's ``:`` (``def f():``,
        ``for x in y:``), not at a ``:`` in a dict, slice or lambda."""
        prefix = self.source[:end]
        line = prefix.rsplit("\n", 1)[-1]
        code = line.split("#", 1)[0].rstrip() if "#" in line else line.rstrip()
        if not code.endswith(":") or self.tree is None:
            return False
        line_start = nbytes(prefix[: prefix.rfind("\n") + 1])
        colon_at = line_start + nbytes(code) - 1
        node = self.tree.root_node.descendant_for_byte_range(colon_at, colon_at + 1)
        if node is None or node.type != ":":
            return bool(_HEADER_KEYWORDS.match(line))
        parent = node.parent
        if parent is not None and parent.type in COMPOUND:
            return True
        if parent is None or parent.type == "ERROR" or parent.is_error:
            # Inside broken code: fall back on the line's keyword.
            return bool(_HEADER_KEYWORDS.match(line))
        return False


def error_count(source: str) -> int:
    """ERROR and MISSING nodes in the neutralized source (0: it parses)."""
    return ParsedCell(source).errors


def parses(source: str) -> bool:
    return error_count(source) == 0


def compiles(source: str) -> bool:
    """Whether CPython accepts the neutralized cell: stricter than tree-sitter,
    which tolerates, for example, a dedent to no enclosing level. Code the
    compiler cannot take at all (a NUL byte; nesting or an expression too deep
    for it, which raise ValueError, RecursionError or MemoryError) does not."""
    neutral = neutralize(source)
    if not neutral.python:
        return True
    try:
        compile(neutral.text, "<cell>", "exec", flags=_COMPILE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def names_used(source: str) -> frozenset[str]:
    """Identifiers ``source`` reads, tolerant of the unfinished code of a cell
    being typed."""
    return ParsedCell(source).names_used


def names_defined(source: str) -> frozenset[str]:
    return parse_cell(source).defines


def ends_block_header(prefix: str) -> bool:
    """Whether the cursor (the end of ``prefix``) follows a block header's ``:``
    (``def f():``, ``for x in y:``), not a ``:`` in a dict, slice or lambda."""
    return ParsedCell(prefix).ends_block_header(len(prefix))
