"""Schemathesis fuzzes every operation of the OpenAPI document against a real
Jupyter server (a subprocess) on the tiny model: no 5xx, only documented
statuses, JSON (or server-sent events) that match their schemas.

The run is derandomized (the same examples every time) and bounded: 60
generated examples per operation, besides schemathesis's own coverage cases
(its boundaries, missing token, other methods): about 1,000 requests, 20-60 s
on two cores. A deeper run, or another seed, for a look around::

    CODEGEN_FUZZ_EXAMPLES=1000 CODEGEN_FUZZ_SEED=7 pytest tests/server/test_fuzz_api.py

What it found is kept in ``CORPUS``: each case a request and the status it must
get, run against the same server, kept after its fix. The server's log must
hold no traceback (a failure inside a stream is answered in-band, 200).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openai_upstream import free_port
from test_openapi import ROUTES

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"token {TOKEN}"}
#: Statuses seen per operation (for the summary and the checks below).
SEEN: dict[str, Counter[int]] = {}
MAX_EXAMPLES = int(os.environ.get("CODEGEN_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("CODEGEN_FUZZ_SEED", "21"))
CONFIG = """
c.ServerApp.jpserver_extensions = {{"jupyter_codegen": True}}
c.IdentityProvider.token = {token!r}
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = {port}
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True
c.ServerApp.root_dir = {root!r}
c.CodegenApp.model = {model!r}
c.CodegenApp.device = "cpu"
c.CodegenApp.dtype = "float32"
c.CodegenApp.cache_dir = {cache!r}
c.CodegenApp.completion_max_tokens = 3
c.CodegenApp.explain_max_tokens = 3
c.CodegenApp.max_candidates = 2
c.CodegenApp.context_tokens = 512
c.CodegenApp.max_request_bytes = 1024 * 1024
"""


@dataclass
class Server:
    url: str

    def request(
        self,
        route: str,
        body: bytes | None = None,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, bytes]:
        """``(status, headers, body)``; ``headers`` add to (or replace) the token's."""
        req = urllib.request.Request(
            f"{self.url}jupyter-codegen/{route}",
            data=body,
            headers={**AUTH, **(headers or {})},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def fuzz_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ``jupyter server`` with the extension on the tiny model, once ready."""
    tmp = tmp_path_factory.mktemp("fuzz-server")
    config_dir, root, port = tmp / "config", tmp / "root", free_port()
    config_dir.mkdir()
    root.mkdir()
    (config_dir / "jupyter_server_config.py").write_text(
        CONFIG.format(
            token=TOKEN, port=port, root=str(root), model=str(tiny_model_dir), cache=str(tmp)
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        PYTHONPATH=os.pathsep.join(sys.path),
    )
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server"], env=env, stdout=log, stderr=log
        )
    server = Server(f"http://127.0.0.1:{port}/")
    try:
        deadline = time.monotonic() + 120
        state = None
        while state != "ready":
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, (state, log_path.read_text()[-3000:])
            time.sleep(0.3)
            try:
                code, _, body = server.request("status", method="GET")
            except OSError:
                continue
            state = json.loads(body).get("state") if code == 200 else None
            assert state != "error", body
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-5000:]


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server) -> Any:
    """The document as the server serves it (loaded from its text: schemathesis
    leaves out the operation that serves a document it loads by URL)."""
    code, _, body = fuzz_server.request("openapi.json", method="GET")
    assert code == 200, body
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # Show max_tokens in reports ("token" is one of the default markers).
            "output": {"sanitization": {"sensitive-markers": ["password", "secret"]}},
            "checks": {
                # It wants 401 for a missing Authorization header; Jupyter answers 403.
                "missing_required_header": {"enabled": False},
                # A body over max_request_bytes is refused by its size first.
                "negative_data_rejection": {"expected-statuses": [400, 403, 413]},
                "positive_data_acceptance": {"expected-statuses": ["2xx", 403, 413, 429]},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(json.loads(body), config=config)
    schema.config.update(base_url=fuzz_server.url.rstrip("/"), headers=AUTH)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 reads the node's ``_nodeid``, which pytest 9.2 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_under_fuzzing(case: Any) -> None:
    response = case.call_and_validate(headers=AUTH)
    SEEN.setdefault(case.operation.label, Counter())[response.status_code] += 1


def test_the_fuzzing_reached_every_operation_and_its_outcomes() -> None:
    """The run above got replies and refusals from every operation (not, say,
    403 for everything), and not one 5xx."""
    if not SEEN:
        pytest.skip("summarizes test_every_operation_under_fuzzing, which did not run")
    print("\nfuzzing: statuses per operation", {op: dict(n) for op, n in SEEN.items()})
    # every route of the API (the OpenAPI test's list): the two GETs, the rest POSTs
    assert sorted(SEEN) == sorted(
        f"{'GET' if route in ('status', 'openapi.json') else 'POST'} /jupyter-codegen/{route}"
        for route in ROUTES
    )
    for op, counts in SEEN.items():
        assert counts[200] > 0 and counts[403] > 0 and counts[405] > 0, (op, counts)
        assert op.startswith("GET") or counts[400] > 0, (op, counts)
        assert not [status for status in counts if status >= 500], (op, counts)


# -- the corpus: what the fuzzing found, kept as cases ---------------------

VALID = {
    "complete": {"prefix": "x = ", "max_tokens": 2},
    "explain": {"code": "x = 1", "max_tokens": 2},
    "generate": {"instruction": "add one", "max_tokens": 2},
    "cancel": {"request_id": "r1"},
}
#: (what was found, method, route, extra headers, body, the status it must get).
#: Found by schemathesis; each kept after its fix.
CORPUS: list[tuple[str, str, str, dict[str, str], Any, int]] = [
    # JSON Schema's integer includes 2.0; the strict models refused it (400).
    ("n an integral float", "POST", "complete", {}, {**VALID["complete"], "n": 2.0}, 200),
    ("max_tokens an integral float", "POST", "explain", {}, {"code": "x", "max_tokens": 3.0}, 200),
    (
        "max_tokens a huge integral float",
        "POST",
        "generate",
        {},
        {"instruction": "a", "max_tokens": 1e300},
        200,
    ),
    ("n a fraction, still refused", "POST", "complete", {}, {"prefix": "x", "n": 2.5}, 400),
    (
        "max_tokens NaN, still refused",
        "POST",
        "explain",
        {},
        b'{"code": "x", "max_tokens": NaN}',
        400,
    ),
    # A method an endpoint lacks: 405 without the Allow header that RFC 9110 asks for.
    ("TRACE", "TRACE", "complete", {}, None, 405),
    ("PUT", "PUT", "complete", {}, VALID["complete"], 405),
    ("GET on a POST endpoint", "GET", "cancel", {}, None, 405),
    ("DELETE", "DELETE", "status", {}, None, 405),
    # A GET whose Content-Type names a form it does not hold: 400 (undocumented then);
    # the endpoints read their bodies as they stream in, so no form is parsed: 200.
    (
        "GET with a bare multipart type",
        "GET",
        "status",
        {"Content-Type": "multipart/form-data"},
        None,
        200,
    ),
    ("and the document", "GET", "openapi.json", {"Content-Type": "multipart/form-data"}, None, 400),
    # Over maxItems: 413 under a small max_request_bytes (refused by size), else 400.
    (
        "2,001 cells",
        "POST",
        "complete",
        {},
        {"prefix": "x", "cells_before": [{"cell_type": "code", "source": ""}] * 2001},
        400,
    ),
    # A missing Authorization header: 403 (schemathesis expects 401; Jupyter answers 403).
    ("no token", "POST", "complete", {"Authorization": ""}, VALID["complete"], 403),
    ("no token for the document", "GET", "openapi.json", {"Authorization": ""}, None, 403),
]


@pytest.mark.parametrize(
    ("method", "route", "headers", "body", "status"),
    [case[1:] for case in CORPUS],
    ids=[case[0] for case in CORPUS],
)
def test_what_the_fuzzing_found(
    fuzz_server: Server, method: str, route: str, headers: dict, body: Any, status: int
) -> None:
    raw = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    code, reply_headers, reply = fuzz_server.request(route, raw, method=method, headers=headers)
    assert code == status, reply
    assert reply_headers["Content-Type"].startswith("application/json")
    payload = json.loads(reply)
    if status >= 400:
        assert isinstance(payload["message"], str), payload
    if status == 405:
        assert reply_headers["Allow"] == ("GET, OPTIONS" if route == "status" else "POST, OPTIONS")
