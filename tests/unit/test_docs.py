"""The README documents every setting the server extension has."""

from __future__ import annotations

from pathlib import Path

from jupyter_codegen.server.app import CodegenApp

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_trait_is_in_the_readme_configuration_table() -> None:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    traits = CodegenApp.class_own_traits(config=True)
    assert len(traits) >= 10
    missing = [name for name in traits if f"| `{name}` |" not in table]
    assert missing == []


def test_every_trait_has_help() -> None:
    for name, trait in CodegenApp.class_own_traits(config=True).items():
        assert trait.help and len(trait.help) > 20, name
