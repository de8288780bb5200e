"""The package's version (a leaf: it imports nothing of the package)."""

try:
    from jupyter_codegen._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
