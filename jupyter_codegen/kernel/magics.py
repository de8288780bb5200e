"""IPython magics: ``%%codegen``, ``%explain`` / ``%%explain`` and ``%codegen_status``.

Load them with ``%load_ext jupyter_codegen``. In a kernel launched by a Jupyter
server that runs the jupyter-codegen extension, every request goes to that
server's loaded model: the kernel never loads a model itself. Elsewhere (plain
IPython, nbconvert, papermill, a remote kernel) the engine is loaded in this
process once, with the same configuration, and the magics say so.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from jupyter_codegen.kernel.client import Client, CodegenError, InProcessClient, connect
from jupyter_codegen.kernel.live import describe_value
from jupyter_codegen.kernel.magic_context import MagicContext, magic_context

CODEGEN_USAGE = (
    "Usage: %%codegen [-r] [--no-insert] [-t N] [--show-context], then your request on the "
    "next lines; or %codegen <request> on one line. %codegen? lists the options."
)


def _show_markdown(text: str) -> None:
    """Rendered in notebooks (sanitized by the frontend), plain in terminals."""
    display({"text/markdown": text, "text/plain": text}, raw=True)


def _fail(message: str) -> None:
    print(f"jupyter-codegen: {message}", file=sys.stderr)


@magics_class
class CodegenMagics(Magics):
    def __init__(self, shell: Any):
        super().__init__(shell)
        self._client: Client | None = None

    # -- plumbing -----------------------------------------------------------

    @property
    def sh(self) -> Any:
        assert self.shell is not None, "the magics are registered with a shell"
        return self.shell

    def client(self) -> Client:
        if self._client is None:
            self._client = connect()
            if self._client is None:
                print(
                    "jupyter-codegen: no Jupyter server with the extension launched this "
                    "kernel; loading the model in this process (once per session).",
                    file=sys.stderr,
                )
                self._client = InProcessClient()
        return self._client

    def _context(self, text: str, *, variables: bool = True) -> MagicContext:
        """The executed history and, with ``variables``, the live variables
        for ``text``: what the frontend would send (see magic_context)."""
        from jupyter_codegen.api.schemas import MAX_CELLS  # pydantic: not at %load_ext

        return magic_context(self.sh, text, MAX_CELLS, variables=variables)

    # -- %%codegen ----------------------------------------------------------

    @magic_arguments()
    @argument("-r", "--run", action="store_true", help="Run the generated code after showing it.")
    @argument(
        "--no-insert",
        action="store_true",
        help="Do not put the code into the next cell.",
    )
    @argument("-t", "--max-tokens", type=int, default=None, help="Most tokens to generate.")
    @argument(
        "--show-context",
        action="store_true",
        help="Also print how many history cells, and which variables, were sent as context.",
    )
    @argument("request", nargs="*", help="The request, when used as a line magic.")
    @line_cell_magic
    def codegen(self, line: str, cell: str | None = None) -> None:
        """Generate Python code from a request in natural language.

        Usage::

            %%codegen [-r] [--no-insert] [-t N] [--show-context]
            plot the monthly totals of df as a bar chart

            %codegen plot the monthly totals of df as a bar chart

        The request is answered with the notebook's context, as in JupyterLab:
        the executed history, from which the server selects what matters to
        the request (the definitions it uses, the imports, the recent cells),
        and the types, shapes and dataframe columns of the live variables that
        the request, then the history, use. The code is shown and put into the
        next cell for you to review; it is run only with ``--run``.
        """
        args = parse_argstring(self.codegen, line)
        request = (cell if cell is not None else " ".join(args.request)).strip()
        if not request:
            print(CODEGEN_USAGE)
            return
        context = self._context(request)
        if args.show_context:
            count = len(context.cells)
            print(f"Context sent: {count} history cell{'' if count == 1 else 's'}")
            print("\nVariables:\n" + (context.namespace or "(none)"))
        body: dict[str, Any] = {
            "instruction": request,
            "cells_before": context.cells_before,
            "namespace": context.namespace,
        }
        if args.max_tokens:
            body["max_tokens"] = args.max_tokens
        try:
            reply = self.client().generate(body)
        except CodegenError as exc:
            _fail(str(exc))
            return
        code = reply["code"]
        if not code.strip():
            _fail("the model returned no code.")
            return
        _show_markdown(f"```python\n{code}\n```")
        if not args.no_insert:
            self.sh.set_next_input(code, replace=False)
        if args.run:
            self.sh.run_cell(code, store_history=True)

    # -- %explain / %%explain -------------------------------------------------

    def _explain(self, code: str, question: str | None) -> None:
        context = self._context(code, variables=False)
        body: dict[str, Any] = {"code": code, "cells_before": context.cells_before}
        if question:
            body["question"] = question
        try:
            reply = self.client().explain(body)
        except CodegenError as exc:
            _fail(str(exc))
            return
        _show_markdown(reply["explanation"])

    @line_cell_magic
    def explain(self, line: str, cell: str | None = None) -> None:
        """Explain a live object, or the code in the cell.

        Usage::

            %explain name_or_expression
            %%explain [question]
            code to explain

        ``%explain`` uses the object's source when Python can find it
        (functions and classes defined in the session too), and otherwise its
        type, shape, columns and docstring.
        """
        if cell is not None:
            if not cell.strip():
                print("Usage: %%explain [question], then the code to explain in the cell.")
                return
            self._explain(cell, line.strip() or None)
            return
        expr = line.strip()
        if not expr:
            print("Usage: %explain name_or_expression   (or %%explain with code in the cell)")
            return
        ns = self.sh.user_ns
        try:
            obj = ns[expr] if expr in ns else eval(expr, ns)  # the user asked for this expression
        except Exception as exc:
            _fail(f"cannot evaluate {expr!r}: {type(exc).__name__}: {exc}")
            return
        self._explain(*_object_source(expr, obj))

    # -- %codegen_status ------------------------------------------------------

    @line_magic
    def codegen_status(self, line: str = "") -> None:
        """Say which server and model answer the magics."""
        try:
            client = self.client()
            status = client.status()
        except CodegenError as exc:
            _fail(str(exc))
            return
        lines = [
            f"Answered by {client.where}",
            f"model: {status.get('model')} ({status.get('state')})",
        ]
        if status.get("device"):
            lines.append(f"device: {status['device']}, dtype: {status.get('dtype')}")
        if status.get("error"):
            lines.append(f"error: {status['error']}")
        elif status.get("detail"):
            lines.append(f"detail: {status['detail']}")
        print("\n".join(lines))


def _object_source(expr: str, obj: Any) -> tuple[str, str]:
    """(code, question) describing ``obj`` for an explanation."""
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError):
        source = ""
    if source:
        return source, f"What does `{expr}` do?"
    parts = [describe_value(expr, obj)]
    doc = inspect.getdoc(obj) if not isinstance(obj, (str, int, float, list, dict, tuple)) else None
    if doc:
        parts.append('"""' + doc[:1500] + '"""')
    return "\n".join(parts), f"Explain what `{expr}` is and how to use it."
