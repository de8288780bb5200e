"""jupyter-codegen: a local code model beside the notebook."""

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-codegen"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    from .app import CodegenApp

    return [{"module": "jupyter_codegen", "app": CodegenApp}]
