"""The Jupyter server's memory when its inference server streams an event that
never ends (issue 21): ``--lines`` lines of ``data:`` of ``--mb`` MB each, with
no blank line between them.

It starts that upstream in a subprocess and a real ``jupyter server`` with the
remote engine pointed at it in another, sends one completion, and prints the
server's resident memory (from its ``/status``) before and after, the reply's
status and how long it took. Run it with the code to measure first on the
path, e.g. for an older checkout: ``PYTHONPATH=/path/to/old python ...``.

    python benchmarks/remote_hostile_rss.py                 # 300 x 1 MB
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "rss-benchmark"


def serve_hostile(port: int, lines: int, mb: float) -> None:
    """The upstream: lists one model; answers a completion with ``lines`` data
    lines of ``mb`` MB, never ending the event."""
    line = b"data: " + b"x" * int(mb * 1_000_000) + b"\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "hostile"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(lines):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(port: int, route: str, body: dict | None = None) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{port}/jupyter-codegen/{route}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--serve-hostile", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hostile:
        serve_hostile(args.serve_hostile, args.lines, args.mb)
        return
    upstream_port, jupyter_port = free_port(), free_port()
    env = {
        **os.environ,
        "JUPYTER_CODEGEN_REMOTE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "JUPYTER_CODEGEN_MODEL": "hostile",
    }
    me = [sys.executable, __file__, "--lines", str(args.lines), "--mb", str(args.mb)]
    upstream = subprocess.Popen([*me, "--serve-hostile", str(upstream_port)], env=env)
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"rss-benchmark-{jupyter_port}"
    root.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root"),
            *(f"--port={jupyter_port}", f"--IdentityProvider.token={TOKEN}"),
            *(f"--ServerApp.root_dir={root}", "--ServerApp.log_level=WARN"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                code, status = fetch(jupyter_port, "status")
                if code == 200 and status.get("state") == "ready":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the Jupyter server did not get ready")
            time.sleep(0.3)
        import jupyter_codegen

        print(f"jupyter_codegen from   {Path(jupyter_codegen.__file__).parent}")
        print(f"upstream               {args.lines} data lines of {args.mb:g} MB, no blank line")
        before, peak_before = status["memory"]["rss_bytes"], status["memory"]["peak_rss_bytes"]
        started = time.monotonic()
        code, reply = fetch(jupyter_port, "complete", {"prefix": "x = ", "max_tokens": 16})
        took = time.monotonic() - started
        time.sleep(0.5)
        memory = fetch(jupyter_port, "status")[1]["memory"]
        mib = 1024 * 1024
        print(f"reply                  {code} in {took:.1f} s: {str(reply.get('message'))[:160]}")
        print(f"server RSS before      {before / mib:8.1f} MiB (peak {peak_before / mib:.1f})")
        print(f"server RSS after       {memory['rss_bytes'] / mib:8.1f} MiB")
        print(f"server peak RSS        {memory['peak_rss_bytes'] / mib:8.1f} MiB")
        growth = (memory["peak_rss_bytes"] - max(before, peak_before)) / mib
        print(f"peak growth            {growth:8.1f} MiB")
    finally:
        server.terminate()
        upstream.terminate()
        server.wait(30)
        upstream.wait(30)


if __name__ == "__main__":
    main()
