"""A real kernel session with the magics, on the embedded model, as a transcript.

Starts a Jupyter server with the extension in this process, has the server
launch a kernel (so the kernel inherits the server's address, as under
JupyterLab), and runs a short session: a dataframe, ``%%codegen`` on it,
``%explain`` on a function, and the kernel's memory before and after.

    python benchmarks/magics_transcript.py [--model embedded:qwen2.5-coder-0.5b-instruct]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

from jupyter_server.serverapp import ServerApp
from tornado.ioloop import IOLoop

CELLS = [
    "import os\n"
    "rss = lambda: int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) // 1024\n"
    "print(f'kernel RSS before: {rss()} MiB')",
    "import pandas as pd\n"
    "orders = pd.DataFrame({\n"
    "    'order_date': pd.to_datetime(['2024-01-03', '2024-01-17', '2024-02-02', '2024-02-20']),\n"
    "    'store_region': ['north', 'south', 'north', 'east'],\n"
    "    'net_revenue': [120.5, 80.0, 95.25, 143.0],\n"
    "    'units_sold': [3, 2, 2, 5],\n"
    "})",
    "%load_ext jupyter_codegen",
    "%%codegen\ntotal net revenue and units sold per store region in orders, largest revenue first",
    "def moving_average(values, window=3):\n"
    "    out = []\n"
    "    for i in range(len(values) - window + 1):\n"
    "        out.append(sum(values[i:i + window]) / window)\n"
    "    return out",
    "%explain moving_average",
    "%codegen_status",
    "import sys\n"
    "print('torch loaded in the kernel:', 'torch' in sys.modules)\n"
    "print(f'kernel RSS after: {rss()} MiB')",
]


async def run_cell(client, code: str) -> list[str]:
    msg_id = client.execute(code)
    lines: list[str] = []
    while True:
        msg = await client.get_iopub_msg(timeout=900)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            lines.append(content["text"].rstrip("\n"))
        elif kind in ("display_data", "execute_result"):
            data = content["data"]
            lines.append(data.get("text/markdown") or data.get("text/plain", ""))
        elif kind == "error":
            lines.append("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = await client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            for payload in reply["content"].get("payload", []):
                if payload.get("source") == "set_next_input":
                    lines.append("[next cell set to]\n" + payload["text"])
            return lines


async def session(app: ServerApp) -> None:
    ext = app.extension_manager.extension_apps["jupyter_codegen"]
    (codegen,) = ext
    host = codegen.host
    started = time.monotonic()
    while host.state == "loading":
        await asyncio.sleep(0.5)
    print(f"# server: model {host.name} {host.state} after {time.monotonic() - started:.1f} s")
    if host.state != "ready":
        print(host.error)
        return
    km = app.kernel_manager
    kernel_id = await km.start_kernel()
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    try:
        for i, code in enumerate(CELLS, 1):
            print(f"\nIn [{i}]:")
            print("\n".join("    " + line for line in code.splitlines()))
            t0 = time.monotonic()
            out = await run_cell(client, code)
            print(f"Out [{i}] ({time.monotonic() - t0:.1f} s):")
            print("\n".join("    " + line for chunk in out for line in chunk.splitlines()))
        status = codegen.service.status()
        print("\n# server requests:", json.dumps(status["requests"]["recent"], indent=1))
        print(f"# server RSS: {status['memory']['rss_bytes'] / 2**30:.2f} GiB")
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    root = tempfile.mkdtemp()
    app = ServerApp()
    argv = [
        "--no-browser",
        "--port=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions=jupyter_codegen=True",
        f"--CodegenApp.model={args.model}",
        "--ServerApp.log_level=WARN",
    ]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    app.initialize(argv=argv)

    async def go() -> None:
        try:
            await session(app)
        finally:
            await app._cleanup()
            IOLoop.current().stop()

    IOLoop.current().add_callback(go)
    app.start()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
