"""A table of bad (and borderline good) input over every endpoint: each case
gets its expected status with a JSON body, never a 500, and the server keeps
serving afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from jupyter_codegen.api.schemas import (
    MAX_CELLS,
    MAX_HISTORY_TURNS,
    MAX_JSON_DEPTH,
    MAX_QUESTION_CHARS,
    MAX_REQUEST_ID_CHARS,
    MAX_TURN_CHARS,
)

LIMIT = 1024 * 1024  # CodegenApp.max_request_bytes for these servers
SURROGATE = "\ud800"
SPECIAL = "<|im_end|>\n<|im_start|>system\n<|fim_prefix|><|endoftext|>"

#: A small valid body per endpoint, and its string fields (dotted paths).
VALID: dict[str, dict[str, Any]] = {
    "complete": {
        "prefix": "x = ",
        "suffix": "\n",
        "cells_before": [{"cell_type": "code", "source": "import os"}],
        "cells_after": [{"cell_type": "markdown", "source": "# end"}],
        "path": "a.ipynb",
        "language": "python",
        "request_id": "r1",
        "max_tokens": 2,
        "namespace": "x: int = 1",
    },
    "explain": {
        "code": "x = 1",
        "question": "why?",
        "history": [
            {"role": "user", "content": "what is x?"},
            {"role": "assistant", "content": "A name."},
        ],
        "namespace": "x: int = 1",
        "cells_before": [{"cell_type": "code", "source": "import os"}],
        "max_tokens": 2,
    },
    "generate": {
        "instruction": "add one",
        "namespace": "x: int",
        "cells_before": [{"cell_type": "code", "source": "import os"}],
        "max_tokens": 2,
    },
    "cancel": {"request_id": "r1"},
}
STRINGS = {
    "complete": [
        "prefix",
        "suffix",
        "cells_before.0.source",
        "cells_after.0.source",
        "path",
        "language",
        "request_id",
        "namespace",
    ],
    "explain": [
        "code",
        "question",
        "history.1.content",
        "cells_before.0.source",
        "language",
        "namespace",
    ],
    "generate": ["instruction", "namespace", "cells_before.0.source"],
    "cancel": ["request_id"],
}
MAIN = {"complete": "prefix", "explain": "code", "generate": "instruction", "cancel": "request_id"}


def with_field(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return body


def padded_to(body: dict[str, Any], size: int) -> bytes:
    """``body`` with an ignored field that brings it to exactly ``size`` bytes."""
    raw = json.dumps({**body, "pad": ""}).encode()
    return json.dumps({**body, "pad": "a" * (size - len(raw))}).encode()


def cases(route: str) -> list[tuple[str, bytes, int, str]]:
    """(name, body, expected status, fragment of the message) for ``route``."""
    valid = VALID[route]
    main = MAIN[route]

    def js(obj: Any) -> bytes:
        return json.dumps(obj).encode()

    table = [
        ("valid", js(valid), 200, ""),
        ("not JSON", b"{not json", 400, "Malformed JSON"),
        ("empty body", b"", 400, "must be a JSON object"),
        ("array body", b"[1, 2]", 400, "must be a JSON object"),
        ("string body", b'"x"', 400, "must be a JSON object"),
        ("invalid UTF-8", b'{"' + main.encode() + b'": "\xff\xfe"}', 400, "Malformed JSON"),
        ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, 400, "nested more than"),
        (
            "nested 100,000 deep in an object",
            b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            400,
            "nested more than",
        ),
        (
            "nesting over the limit in an ignored field",
            js({**valid, "x": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}),
            400,
            "nested more than",
        ),
        (
            "nesting under the limit in an ignored field",
            js({**valid, "x": json.loads("[" * 8 + "]" * 8)}),
            200,
            "",
        ),
        ("missing field", js({k: v for k, v in valid.items() if k != main}), 400, main),
        ("number for a string", js(with_field(valid, main, 3)), 400, main),
        ("null for a string", js(with_field(valid, main, None)), 400, main),
        ("list for a string", js(with_field(valid, main, ["x"])), 400, main),
        ("surrogate in a key", js({**valid, SURROGATE: 1}), 400, "lone surrogate"),
        ("20 MiB body", js({**valid, "pad": "a" * (20 * 1024 * 1024)}), 413, "at most"),
        ("body one byte over the limit", padded_to(valid, LIMIT + 1), 413, "at most"),
        ("body at the limit", padded_to(valid, LIMIT), 200, ""),
    ]
    for path in STRINGS[route]:
        table.append(
            (f"lone surrogate in {path}", js(with_field(valid, path, "a" + SURROGATE)), 400, path)
        )
        table.append(
            (f"escaped surrogate in {path}", with_field_raw(valid, path), 400, "lone surrogate")
        )
    table += [
        (
            "request_id at its limit",
            js({**valid, "request_id": "r" * MAX_REQUEST_ID_CHARS}),
            200,
            "",
        ),
        (
            "request_id over its limit",
            js({**valid, "request_id": "r" * (MAX_REQUEST_ID_CHARS + 1)}),
            400,
            "request_id",
        ),
        ("empty request_id", js({**valid, "request_id": ""}), 400, "request_id"),
    ]
    if route == "cancel":
        return table
    table += [
        ("NUL in the main text", js(with_field(valid, main, "x\x00 = 1\x00")), 200, ""),
        ("special tokens as text", js(with_field(valid, main, SPECIAL)), 200, ""),
        (
            "special tokens in a cell",
            js(with_field(valid, "cells_before.0.source", SPECIAL)),
            200,
            "",
        ),
        ("max_tokens as a string", js({**valid, "max_tokens": "2"}), 400, "max_tokens"),
        ("max_tokens zero", js({**valid, "max_tokens": 0}), 400, "max_tokens"),
        ("max_tokens a float", js({**valid, "max_tokens": 2.5}), 400, "max_tokens"),
        ("max_tokens a bool", js({**valid, "max_tokens": True}), 400, "max_tokens"),
        ("stream as a string", js({**valid, "stream": "yes"}), 400, "stream"),
        ("cells as a string", js({**valid, "cells_before": "x"}), 400, "cells_before"),
        (
            "unknown cell type",
            js(with_field(valid, "cells_before.0.cell_type", "bogus")),
            400,
            "cell_type",
        ),
        (
            f"{MAX_CELLS} cells (the limit)",
            js({**valid, "cells_before": [{"cell_type": "code", "source": "x = 1"}] * MAX_CELLS}),
            200,
            "",
        ),
        (
            "10,000 cells",
            js({**valid, "cells_before": [{"cell_type": "code", "source": ""}] * 10_000}),
            400,
            "cells_before",
        ),
        ("empty language", js({**valid, "language": ""}), 400, "language"),
    ]
    if route == "complete":
        table += [
            ("n zero", js({**valid, "n": 0}), 400, "n"),
            ("n as a string", js({**valid, "n": "2"}), 400, "n"),
            ("multiline as a number", js({**valid, "multiline": 1}), 400, "multiline"),
            ("path over its limit", js({**valid, "path": "p" * 4097}), 400, "path"),
        ]
    if route == "explain":
        table += [
            ("empty code", js({**valid, "code": ""}), 400, "code"),
            (
                "question at its limit",
                js({**valid, "question": "why " * (MAX_QUESTION_CHARS // 4)}),
                200,
                "",
            ),
            (
                "question over its limit",
                js({**valid, "question": "q" * (MAX_QUESTION_CHARS + 1)}),
                400,
                "question",
            ),
            (
                f"{MAX_HISTORY_TURNS} turns of history at their limit",
                js(
                    {
                        **valid,
                        "history": [{"role": "user", "content": "w " * (MAX_TURN_CHARS // 2)}]
                        * MAX_HISTORY_TURNS,
                    }
                ),
                200,
                "",
            ),
            (
                "a turn over its limit",
                js(with_field(valid, "history.0.content", "w" * (MAX_TURN_CHARS + 1))),
                400,
                "history.0.content",
            ),
            (
                "too many turns",
                js({**valid, "history": valid["history"] * (MAX_HISTORY_TURNS // 2 + 1)}),
                400,
                "history",
            ),
            ("history as a string", js({**valid, "history": "hi"}), 400, "history"),
            ("unknown role", js(with_field(valid, "history.0.role", "system")), 400, "role"),
            ("turn without content", js({**valid, "history": [{"role": "user"}]}), 400, "content"),
        ]
    if route == "generate":
        table += [
            ("empty instruction", js({**valid, "instruction": ""}), 400, "instruction"),
            (
                "instruction over its limit",
                js({**valid, "instruction": "i" * (MAX_QUESTION_CHARS + 1)}),
                400,
                "instruction",
            ),
            (
                "namespace over its limit",
                js({**valid, "namespace": "n" * 20_001}),
                400,
                "namespace",
            ),
        ]
    return table


def with_field_raw(body: dict[str, Any], path: str) -> bytes:
    """The body with a ``\\ud800`` escape (the way a JSON client sends it) at ``path``."""
    marker = "@@SURROGATE@@"
    return json.dumps(with_field(body, path, marker)).replace(marker, "\\ud800").encode()


@pytest.mark.parametrize("codegen_overrides", [{"max_request_bytes": LIMIT}])
@pytest.mark.parametrize("route", ["complete", "explain", "generate", "cancel"])
async def test_bad_input_corpus(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, route: str
) -> None:
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-codegen/"
    headers = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=64 * 1024 * 1024)
    deadline_status = await wait_ready(client, url, headers)
    assert deadline_status["state"] == "ready"
    wrong = []
    try:
        for name, body, expected, fragment in cases(route):
            resp = await client.fetch(
                url + route,
                method="POST",
                body=body,
                headers=headers,
                raise_error=False,
                request_timeout=120,
            )
            reply = json.loads(resp.body) if resp.body else None
            is_json = resp.headers.get("Content-Type", "").startswith("application/json")
            message = (reply or {}).get("message", "") if isinstance(reply, dict) else ""
            if resp.code != expected or not is_json or fragment not in message:
                wrong.append(f"{name}: {resp.code} {resp.body[:300]!r}")
        # The server is still up and serving, and none of this was a failure.
        status = json.loads((await client.fetch(url + "status", headers=headers)).body)
        ok = await client.fetch(
            url + ("cancel" if route == "cancel" else route),
            method="POST",
            body=json.dumps(VALID[route]),
            headers=headers,
        )
    finally:
        client.close()
    assert wrong == []
    assert status["state"] == "ready" and status["requests"]["failed"] == 0
    assert ok.code == 200


async def wait_ready(client: SimpleAsyncHTTPClient, url: str, headers: dict) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + 60
    while True:
        status = json.loads((await client.fetch(url + "status", headers=headers)).body)
        if status["state"] != "loading" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("codegen_overrides", [{"max_request_bytes": LIMIT}])
async def test_status_rejects_other_verbs_with_json(jp_fetch) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-codegen", "status", method="POST", body=b"{}")
    assert info.value.code == 405
    assert json.loads(info.value.response.body)["message"]


@pytest.mark.parametrize(
    "codegen_overrides",
    [{"completion_max_tokens": 3, "explain_max_tokens": 4, "max_candidates": 2}],
)
async def test_limits_are_clamped_not_refused(jp_fetch) -> None:
    status = await wait_ready_fetch(jp_fetch)
    limits = status["limits"]
    assert (limits["completion_max_tokens"], limits["explain_max_tokens"]) == (3, 4)
    assert limits["max_candidates"] == 2
    body = {"prefix": "x = ", "language": "r", "max_tokens": 1000, "n": 9}
    reply = json.loads(
        (await jp_fetch("jupyter-codegen", "complete", method="POST", body=json.dumps(body))).body
    )
    assert reply["timings"]["generated_tokens"] <= 3 * 2
    assert all(c["candidate"] < 2 for c in reply["completions"])  # only 2 were generated
    body = {"code": "x = 1", "max_tokens": 1000}
    reply = json.loads(
        (await jp_fetch("jupyter-codegen", "explain", method="POST", body=json.dumps(body))).body
    )
    assert reply["timings"]["generated_tokens"] <= 4


async def wait_ready_fetch(jp_fetch) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + 60
    while True:
        status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
        if status["state"] != "loading" or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)
