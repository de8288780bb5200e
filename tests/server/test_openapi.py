"""The OpenAPI document: kept in the repository exactly as the schemas generate
it, a valid OpenAPI 3.1 document, and served (authenticated) by the server."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import schemathesis
from tornado.httpclient import HTTPClientError

from jupyter_codegen.api import openapi, schemas

REPO = Path(__file__).resolve().parents[2]
KEPT = REPO / "jupyter_codegen" / "api" / "openapi.json"
ROUTES = [
    "status",
    "openapi.json",
    "complete",
    "explain",
    "generate",
    "fix",
    "edit",
    "prefetch",
    "prefetch/fix",
    "prefetch/edit",
    "prefetch/explain",
    "cancel",
]
#: Not loading the model: these tests need only the routes.
NO_MODEL = [{"load_on_start": False}]


def test_the_kept_document_is_what_the_schemas_generate() -> None:
    fresh = openapi.render(openapi.openapi_document())
    stale = (
        "jupyter_codegen/api/openapi.json is stale: python -m jupyter_codegen.api.openapi --write"
    )
    assert KEPT.read_text(encoding="utf-8") == fresh, stale


def test_the_check_fails_on_a_stale_document_until_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "openapi.json"
    document.write_text('{"openapi": "3.1.0"}\n')
    monkeypatch.setattr(openapi, "DOCUMENT_PATH", document)

    assert openapi.main(["--check"]) == 1
    assert "--write" in capsys.readouterr().out
    assert openapi.main(["--write"]) == 0
    assert openapi.main(["--check"]) == 0
    assert json.loads(document.read_text()) == openapi.openapi_document()


def test_the_document_is_valid_openapi_3_1_with_valid_json_schemas() -> None:
    document = openapi.load()
    schemathesis.openapi.from_dict(document).validate()  # the OpenAPI 3.1 meta-schema
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)  # raises, naming the fault


def test_every_route_is_documented_with_its_errors_and_the_token() -> None:
    document = openapi.load()
    assert sorted(document["paths"]) == sorted(f"/jupyter-codegen/{r}" for r in ROUTES)
    assert document["security"] == [{"token": []}]
    scheme = document["components"]["securitySchemes"]["token"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    for route in ("complete", "explain", "generate", "fix", "edit"):
        post = document["paths"][f"/jupyter-codegen/{route}"]["post"]
        assert set(post["responses"]) == {
            "200",
            "400",
            "403",
            "413",
            "429",
            "500",
            "502",
            "503",
            "504",
        }
        assert set(post["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
        assert post["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    for path in document["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                if status != "200":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }


def test_the_models_are_the_schemas_json_schemas() -> None:
    components = openapi.load()["components"]["schemas"]
    for model in openapi.REQUESTS:
        expected = model.model_json_schema(ref_template=openapi.REF)
        expected.pop("$defs", None)
        assert components[model.__name__] == expected
    # The nested models come along, and the structural limits with them.
    assert components["Cell"]["properties"]["cell_type"]["enum"] == ["code", "markdown", "raw"]
    props = components["CompleteRequest"]["properties"]
    assert props["cells_before"]["maxItems"] == schemas.MAX_CELLS
    assert components["CompleteRequest"]["required"] == ["prefix"]


@pytest.mark.parametrize("codegen_overrides", NO_MODEL)
async def test_the_server_serves_the_kept_document(jp_fetch, jp_base_url: str) -> None:
    resp = await jp_fetch("jupyter-codegen", "openapi.json")
    assert resp.headers["Content-Type"] == "application/json"
    served = json.loads(resp.body)
    # Under a base URL other than "/", servers names it (pytest-jupyter's is "/a%40b/").
    assert served.pop("servers") == [{"url": jp_base_url.rstrip("/")}]
    assert served == openapi.load()


@pytest.mark.parametrize("codegen_overrides", NO_MODEL)
async def test_the_document_needs_a_token(jp_fetch) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-codegen", "openapi.json", headers={"Authorization": ""})
    assert info.value.code == 403


@pytest.mark.parametrize("codegen_overrides", NO_MODEL)
@pytest.mark.parametrize(
    ("route", "method", "allowed"),
    [
        ("complete", "PUT", "POST, OPTIONS"),
        ("cancel", "GET", "POST, OPTIONS"),
        ("status", "DELETE", "GET, OPTIONS"),
        ("openapi.json", "PATCH", "GET, OPTIONS"),
    ],
)
async def test_a_method_an_endpoint_lacks_gets_405_naming_those_it_has(
    jp_fetch, route: str, method: str, allowed: str
) -> None:
    body = None if method in ("GET", "DELETE") else "{}"
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-codegen", route, method=method, body=body, allow_nonstandard_methods=True
        )
    assert info.value.code == 405
    assert info.value.response is not None
    assert info.value.response.headers["Allow"] == allowed
    assert json.loads(info.value.response.body)["message"] == "Method Not Allowed"
