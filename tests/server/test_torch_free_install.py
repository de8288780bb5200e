"""The install without torch: ``pip install jupyter-codegen`` with no extras, in
a fresh virtual environment, gives a Jupyter server whose extension serves
completions and explanations through the remote engine and never imports torch
or transformers.

It costs about a minute (mostly pip, from its cache) and needs the package
index, like the rest of ``scripts/test.sh``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from openai_upstream import free_port, transformers_serve

REPO = Path(__file__).resolve().parents[2]
TOKEN = "torch-free-check"
CONFIG = """
import atexit, sys

def _dump_modules():
    with open({modules!r}, "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))

atexit.register(_dump_modules)
c.IdentityProvider.token = {token!r}
c.ServerApp.port = {port}
c.ServerApp.open_browser = False
c.ServerApp.allow_root = True
c.ServerApp.root_dir = {root!r}
"""


def request(port: int, route: str, body: Any = None, timeout: float = 60) -> tuple[int, bytes]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/{route}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_base_install_serves_through_the_remote_engine_without_torch(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # Given a fresh venv with the package and no extras
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JUPYTER") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, str(REPO)], check=True, env=env, timeout=900)
    probe = "import importlib.util as u; print(u.find_spec('torch'), u.find_spec('transformers'))"
    found = subprocess.run([str(python), "-c", probe], env=env, capture_output=True, text=True)
    assert found.stdout.split() == ["None", "None"], found

    with transformers_serve(tiny_model_dir, tmp_path) as serve:
        # When its Jupyter server is pointed at the inference server
        config_dir, root = tmp_path / "config", tmp_path / "root"
        config_dir.mkdir()
        root.mkdir()
        modules, port = tmp_path / "modules.txt", free_port()
        (config_dir / "jupyter_server_config.py").write_text(
            CONFIG.format(modules=str(modules), token=TOKEN, port=port, root=str(root))
        )
        env.update(
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(tmp_path / "data"),
            JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
            JUPYTER_CODEGEN_REMOTE_URL=serve.url,
            JUPYTER_CODEGEN_MODEL=serve.model,
        )
        with open(tmp_path / "server.log", "wb") as log:
            server = subprocess.Popen(
                [str(venv / "bin" / "jupyter"), "server"], env=env, stdout=log, stderr=log
            )
        try:
            deadline = time.monotonic() + 90
            status: dict = {}
            while status.get("state") != "ready":
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, status
                time.sleep(0.3)
                try:
                    code, body = request(port, "jupyter-codegen/status", timeout=5)
                except OSError:
                    continue
                status = json.loads(body) if code == 200 else {}
            assert status["device"] == "remote" and status["model"] == serve.model

            # Then completions and explanations are served
            body = {
                # in a comment: a line the token limit cuts ends at a whole word
                "prefix": "def average(nums):\n    total = 0\n    for n in nums:\n        # ",
                "suffix": "\n    return total / len(nums)\n",
                "max_tokens": 16,
                "language": "r",
            }
            code, reply = request(port, "jupyter-codegen/complete", body)
            assert code == 200, reply
            completion = json.loads(reply)
            assert completion["timings"]["generated_tokens"] == 16, completion
            assert completion["completions"], completion
            code, reply = request(
                port, "jupyter-codegen/explain", {"code": "x = 1", "max_tokens": 6, "stream": True}
            )
            assert code == 200, reply
            # Streamed: deltas (how many depends on the upstream's pace), then
            # the whole explanation (stripped), which they add up to
            events = [block.split("\n", 1) for block in reply.decode().strip().split("\n\n")]
            names = [name.removeprefix("event: ") for name, _ in events]
            data = [json.loads(line.removeprefix("data: ")) for _, line in events]
            assert names[-1] == "done" and set(names[:-1]) == {"explanation"}, reply
            assert "".join(d["delta"] for d in data[:-1]).strip() == data[-1]["explanation"], reply
        finally:
            request(port, "api/shutdown", {})
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    # And neither torch nor transformers was ever imported by that server
    loaded = set(modules.read_text().split())
    assert "jupyter_codegen.engine.remote.engine" in loaded
    assert {"torch", "transformers", "safetensors", "accelerate"} & loaded == set()
