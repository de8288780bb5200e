"""Sphinx configuration: MyST Markdown pages, the PyData theme, nothing fetched at build time.

Build (from the repository root; warnings fail the build, as in CI):

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# The reference tables are generated from this checkout's code (docs/_ext/traits_table.py),
# not from whatever copy of jupyter_codegen happens to be installed.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

_package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))

project = "jupyter-codegen"
author = _package["author"]["name"]
copyright = f"jupyter-codegen contributors, {_package['license']}"
release = version = _package["version"]

extensions = ["myst_parser", "traits_table"]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]

# Heading anchors as GitHub makes them, so that `page.md#a-heading` links work both here
# and when the Markdown is read on GitHub.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

# No intersphinx and nothing else that reaches the network.
html_theme = "pydata_sphinx_theme"
html_title = "jupyter-codegen"
html_theme_options = {
    "github_url": _package["homepage"],  # a link in the header; nothing is fetched
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
