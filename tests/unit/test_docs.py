"""The documentation's configuration reference lists every setting the server extension has.

The reference (docs/user-guide/configuration.md) is generated when the docs are built, by the
``traits-table`` directive of docs/_ext/traits_table.py; these tests call the same functions.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

from traitlets import Int

import jupyter_codegen

# The server extension's app, wherever in the package it is defined.
CodegenApp = jupyter_codegen._jupyter_server_extension_points()[0]["app"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# The directive's argument on the configuration page: the package, whose app it documents.
APP = "jupyter_codegen"


def _load_extension() -> ModuleType:
    path = DOCS / "_ext" / "traits_table.py"
    spec = importlib.util.spec_from_file_location("traits_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("traits_table", module)
    spec.loader.exec_module(module)
    return module


ext = _load_extension()


def _own_traits() -> dict:
    """The settings jupyter-codegen itself defines, wherever in the package they live."""
    return dict(ext.config_traits(CodegenApp, "own"))


def _rendered(cls: type, group: str) -> str:
    return ext.traits_table(cls, group).astext()


def test_the_extension_has_its_own_settings() -> None:
    own = _own_traits()
    assert len(own) >= 10
    assert {"model", "device", "dtype", "quantize", "remote_url"} <= set(own)
    # None of jupyter_server's or traitlets' settings is counted as ours.
    assert not {"open_browser", "log_level", "config_file"} & set(own)


def test_every_trait_has_help() -> None:
    for name, trait in _own_traits().items():
        assert trait.help and len(trait.help) > 20, name


def test_the_generated_reference_lists_every_trait() -> None:
    traits = CodegenApp.class_traits(config=True)
    own = _rendered(CodegenApp, "own")
    inherited = _rendered(CodegenApp, "inherited")
    missing = [name for name in traits if name not in own and name not in inherited]
    assert missing == []
    words = _words(own)
    for name, trait in _own_traits().items():
        assert name in own
        # Its help is there too (quoted values are rendered as code, without the quotes).
        assert _words(trait.help) in words, name


def _words(text: str) -> str:
    return " ".join(text.replace("'", "").replace("`", "").split())


def test_the_reference_shows_types_and_defaults() -> None:
    rows = {name: trait for name, trait in ext.config_traits(CodegenApp, "own")}
    assert ext.trait_type(rows["draft_tokens"]) == "int"
    assert ext.trait_type(rows["dtype"]).startswith("one of 'auto', 'bfloat16'")
    assert ext.trait_default(CodegenApp, "draft_tokens", rows["draft_tokens"]) == "6"
    assert "embedded:qwen2.5-coder-1.5b-instruct" in ext.trait_default(
        CodegenApp, "model", rows["model"]
    )
    # A default computed at start-up is not shown as this machine's value.
    assert "computed" in ext.trait_default(CodegenApp, "cache_dir", rows["cache_dir"])


def test_a_new_setting_appears_in_the_reference() -> None:
    class Extended(CodegenApp):
        a_setting_added_later = Int(3, help="A setting that only this test defines.").tag(
            config=True
        )
        not_a_setting = Int(4, help="A trait without config=True.")

    text = _rendered(Extended, "own")
    assert "a_setting_added_later" in text
    assert "A setting that only this test defines." in text
    assert "not_a_setting" not in text
    assert "a_setting_added_later" not in _rendered(Extended, "inherited")


def test_the_configuration_page_uses_the_directive_on_the_app() -> None:
    page = (DOCS / "user-guide" / "configuration.md").read_text()
    assert f"```{{traits-table}} {APP}\n:group: own\n```" in page
    assert f"```{{traits-table}} {APP}\n:group: inherited\n```" in page
    assert ext.import_object(APP) is CodegenApp
    assert CodegenApp.__name__ == "CodegenApp"
    # A dotted path to the class works too.
    assert ext.import_object(f"{CodegenApp.__module__}.CodegenApp") is CodegenApp


def test_the_readme_settings_exist_with_their_defaults() -> None:
    # The README keeps a short selection of settings; each must exist, with its default.
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, re.MULTILINE)
    assert len(rows) >= 5
    traits = CodegenApp.class_traits(config=True)
    for name, default in rows:
        assert name in traits, name
        assert default.strip("\"'") == traits[name].default_value_repr().strip("\"'"), name
    assert "docs/user-guide/configuration.md" in section


def test_the_jupyterlab_settings_table_lists_every_setting() -> None:
    schema = json.loads((ROOT / "schema" / "plugin.json").read_text())
    text = ext.settings_table(ROOT / "schema" / "plugin.json").astext()
    assert len(schema["properties"]) >= 5
    missing = [key for key in schema["properties"] if key not in text]
    assert missing == []
    assert (
        "```{jupyterlab-settings} schema/plugin.json\n```"
        in (DOCS / "user-guide" / "jupyterlab.md").read_text()
    )
