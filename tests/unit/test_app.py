"""CodegenApp settings that are checked when they are set."""

from __future__ import annotations

import pytest
from traitlets import TraitError

from jupyter_codegen.server.app import CodegenApp


def test_fim_family_is_checked() -> None:
    assert CodegenApp(fim_family="starcoder").fim_family == "starcoder"
    with pytest.raises(TraitError, match=r"fim_family must be one of auto, qwen2\.5-coder"):
        CodegenApp(fim_family="gpt")


def test_environment_variable_overrides_the_configured_model(monkeypatch) -> None:
    app = CodegenApp(model="Qwen/Qwen2.5-Coder-7B")
    monkeypatch.delenv("JUPYTER_CODEGEN_MODEL", raising=False)
    assert app.model_spec() == "Qwen/Qwen2.5-Coder-7B"
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", "embedded:qwen2.5-coder-0.5b-instruct")
    assert app.model_spec() == "embedded:qwen2.5-coder-0.5b-instruct"


def test_the_settings_schema_offers_what_the_server_allows_by_default() -> None:
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).parents[2] / "schema" / "plugin.json").read_text())
    props = schema["properties"]
    app = CodegenApp()
    assert props["maxTokens"]["maximum"] == app.completion_max_tokens
    assert props["maxTokens"]["default"] == app.completion_default_tokens
    assert props["candidates"]["maximum"] == app.max_candidates
    assert props["explainMaxTokens"]["maximum"] == app.explain_max_tokens
    assert props["explainMaxTokens"]["default"] == app.explain_default_tokens
