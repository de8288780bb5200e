"""The package's version (a leaf: it imports nothing of the package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyter_codegen")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
