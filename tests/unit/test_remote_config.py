"""CodegenApp's remote settings: traits, the environment, and what stays secret."""

from __future__ import annotations

import pytest

from jupyter_codegen.server.app import CodegenApp


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JUPYTER_CODEGEN_REMOTE_URL", "JUPYTER_CODEGEN_API_KEY", "JUPYTER_CODEGEN_MODEL"):
        monkeypatch.delenv(name, raising=False)


def test_no_remote_url_means_a_local_model() -> None:
    assert CodegenApp().remote_settings() is None


def test_traits_configure_the_remote_engine() -> None:
    app = CodegenApp(
        remote_url="http://vllm:8000/v1",
        model="Qwen/Qwen2.5-Coder-7B-Instruct",
        remote_api_key="sk-trait",
        remote_connect_timeout=2.0,
        remote_read_timeout=30.0,
        tokenizer_file="/opt/tok.json",
    )
    settings = app.remote_settings()
    assert settings is not None
    assert (settings.url, settings.model, settings.api_key) == (
        "http://vllm:8000/v1",
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        "sk-trait",
    )
    assert (settings.connect_timeout, settings.read_timeout) == (2.0, 30.0)
    assert settings.tokenizer_file == "/opt/tok.json"
    assert "sk-trait" not in repr(settings)


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_CODEGEN_REMOTE_URL", "http://env:8000/v1")
    monkeypatch.setenv("JUPYTER_CODEGEN_API_KEY", "sk-env")
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", "served-model")
    settings = CodegenApp(remote_url="http://trait/v1", remote_api_key="sk-trait").remote_settings()
    assert settings is not None
    assert (settings.url, settings.api_key, settings.model) == (
        "http://env:8000/v1",
        "sk-env",
        "served-model",
    )


def test_the_embedded_default_means_the_servers_first_model() -> None:
    settings = CodegenApp(remote_url="http://vllm:8000/v1").remote_settings()
    assert settings is not None and settings.model is None
    host = CodegenApp(remote_url="http://u:p@vllm:8000/v1").build_service().host
    assert host.name == "http://vllm:8000/v1"  # no credentials in the name


def test_the_remote_budget_settings() -> None:
    settings = CodegenApp(remote_url="http://vllm:8000/v1").remote_settings()
    assert settings is not None
    assert (settings.context_fallback, settings.reply_tokens) == (4096, 256)
    assert settings.measure_prefill  # the budget is sized by the server's speed
    app = CodegenApp(
        remote_url="http://vllm:8000/v1",
        remote_context_fallback=2048,
        completion_max_tokens=128,
        context_tokens=1024,
        suffix_tokens=64,
    )
    settings = app.remote_settings()
    assert settings is not None
    assert (settings.context_fallback, settings.reply_tokens) == (2048, 128)
    assert not settings.measure_prefill  # both budgets are set: nothing to size
