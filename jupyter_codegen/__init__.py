"""jupyter-codegen: a local code model beside the notebook."""

from jupyter_codegen.version import __version__

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-codegen"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    from jupyter_codegen.server.app import CodegenApp

    return [{"module": "jupyter_codegen", "app": CodegenApp}]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_codegen``: register the magics (no model is loaded here)."""
    from jupyter_codegen.kernel.magics import CodegenMagics

    ipython.register_magics(CodegenMagics)  # type: ignore[attr-defined]
