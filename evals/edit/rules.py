"""Checks that an edit followed its instruction, read from the edited cell's
syntax tree (``ast``): no loop left after "vectorize", annotations after "add
type hints", the new name after "rename"... Each rule returns None when the
cell follows it, or a short reason."""

from __future__ import annotations

import ast
from dataclasses import dataclass

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _tree(source: str) -> ast.Module | str:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        return f"the cell does not parse: {exc.msg} (line {exc.lineno})"


def _dotted(node: ast.AST) -> str:
    """``np.linalg.norm`` for the expression ``np.linalg.norm``, "" otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else f"?.{node.attr}"
    return ""


def _function(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


@dataclass(frozen=True)
class Rule:
    """Base: ``check(source)`` is None when ``source`` follows the rule."""

    def check(self, source: str) -> str | None:
        tree = _tree(source)
        if isinstance(tree, str):
            return tree
        return self.check_tree(tree)

    def check_tree(self, tree: ast.Module) -> str | None:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class NoLoops(Rule):
    """No ``for``/``while`` loop; with ``comprehensions``, no comprehension
    either (Python-level iteration of any kind)."""

    comprehensions: bool = True

    def check_tree(self, tree: ast.Module) -> str | None:
        kinds = _LOOPS + (_COMPREHENSIONS if self.comprehensions else ())
        for node in ast.walk(tree):
            if isinstance(node, kinds):
                return f"a {type(node).__name__} is left (line {getattr(node, 'lineno', '?')})"
        return None


@dataclass(frozen=True)
class Uses(Rule):
    """A node of this kind (an ``ast`` class name: ``DictComp``, ``JoinedStr``,
    ``With``, ``Try``...) is in the cell."""

    node: str

    def check_tree(self, tree: ast.Module) -> str | None:
        kind = getattr(ast, self.node)
        if any(isinstance(n, kind) for n in ast.walk(tree)):
            return None
        return f"no {self.node} in the cell"


@dataclass(frozen=True)
class Calls(Rule):
    """A call whose callee ends with ``name``, part by part: ``groupby``
    matches ``df.groupby(...)``, ``np.where`` matches ``np.where(...)``."""

    name: str

    def check_tree(self, tree: ast.Module) -> str | None:
        want = self.name.split(".")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if _dotted(node.func).split(".")[-len(want) :] == want:
                    return None
        return f"no call of {self.name}"


@dataclass(frozen=True)
class NoCalls(Rule):
    """No call of a method or function with one of these last names."""

    names: tuple[str, ...]

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                last = _dotted(node.func).rsplit(".", 1)[-1]
                if last in self.names:
                    return f"{last}() is still called (line {node.lineno})"
        return None


@dataclass(frozen=True)
class NoName(Rule):
    """The name is nowhere: no variable, argument, function or attribute."""

    name: str

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            found = (
                (isinstance(node, ast.Name) and node.id == self.name)
                or (isinstance(node, ast.arg) and node.arg == self.name)
                or (
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and node.name == self.name
                )
                or (isinstance(node, ast.Attribute) and _dotted(node) == self.name)
            )
            if found:
                return f"{self.name} is still there (line {getattr(node, 'lineno', '?')})"
        return None


@dataclass(frozen=True)
class HasName(Rule):
    """The name is used or bound (a variable or an argument)."""

    name: str

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Name) and node.id == self.name) or (
                isinstance(node, ast.arg) and node.arg == self.name
            ):
                return None
        return f"no {self.name} in the cell"


@dataclass(frozen=True)
class Annotated(Rule):
    """Every argument of the function (but ``self``) and its return value
    have annotations."""

    function: str

    def check_tree(self, tree: ast.Module) -> str | None:
        fn = _function(tree, self.function)
        if fn is None:
            return f"no function {self.function}"
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        args += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
        missing = [a.arg for a in args if a.annotation is None and a.arg not in ("self", "cls")]
        if missing:
            return f"{self.function}: no annotation for {', '.join(missing)}"
        if fn.returns is None:
            return f"{self.function}: no return annotation"
        return None


@dataclass(frozen=True)
class Docstring(Rule):
    """The function has a docstring that holds each of ``words``."""

    function: str
    words: tuple[str, ...] = ()

    def check_tree(self, tree: ast.Module) -> str | None:
        fn = _function(tree, self.function)
        if fn is None:
            return f"no function {self.function}"
        doc = ast.get_docstring(fn)
        if not doc:
            return f"{self.function} has no docstring"
        missing = [w for w in self.words if w not in doc]
        return f"the docstring lacks {', '.join(missing)}" if missing else None


@dataclass(frozen=True)
class Defines(Rule):
    """A function of this name is defined, and (``called``) called in the cell."""

    function: str
    called: bool = True

    def check_tree(self, tree: ast.Module) -> str | None:
        if _function(tree, self.function) is None:
            return f"no function {self.function}"
        if self.called and Calls(self.function).check_tree(tree) is not None:
            return f"{self.function} is never called"
        return None


@dataclass(frozen=True)
class Catches(Rule):
    """A ``try`` whose handler names this exception (alone or in a tuple)."""

    exception: str

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if any(_dotted(n).rsplit(".", 1)[-1] == self.exception for n in names):
                    return None
        return f"no except {self.exception}"


@dataclass(frozen=True)
class NoOldFormatting(Rule):
    """No ``%`` formatting of a string literal and no ``.format()`` call."""

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)
            ):
                return f"% formatting is left (line {node.lineno})"
            if isinstance(node, ast.Call) and _dotted(node.func).endswith(".format"):
                return f".format() is left (line {node.lineno})"
        return None


@dataclass(frozen=True)
class OpenInWith(Rule):
    """Every ``open()`` call is a ``with`` statement's context expression."""

    def check_tree(self, tree: ast.Module) -> str | None:
        in_with = {
            id(item.context_expr)
            for node in ast.walk(tree)
            if isinstance(node, (ast.With, ast.AsyncWith))
            for item in node.items
        }
        opens = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _dotted(n.func) == "open"]
        if not opens and not in_with:
            return "no open() in a with statement"
        for node in opens:
            if id(node) not in in_with:
                return f"open() outside a with statement (line {node.lineno})"
        return None


@dataclass(frozen=True)
class NoAttribute(Rule):
    """No use of this dotted attribute (``os.path``)."""

    dotted: str

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _dotted(node) == self.dotted:
                return f"{self.dotted} is still used (line {node.lineno})"
        return None


@dataclass(frozen=True)
class MaxStatements(Rule):
    """At most ``n`` top-level statements in the cell (a chain, not steps)."""

    n: int

    def check_tree(self, tree: ast.Module) -> str | None:
        count = len(tree.body)
        return None if count <= self.n else f"{count} statements, not at most {self.n}"


@dataclass(frozen=True)
class NoChainedAssignment(Rule):
    """No assignment to a subscript of a subscript (``df[mask]["col"] = ...``)."""

    def check_tree(self, tree: ast.Module) -> str | None:
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript):
                    return f"chained assignment (line {getattr(node, 'lineno', '?')})"
        return None
