"""Completion latency of a running jupyter-codegen, over its public HTTP API.

Starts a Jupyter server with the extension on the chosen model (or talks to
one you name with --url/--token), waits for it to load, sends N completion
requests with notebook-sized context (streamed, so the first-token time is
seen), and prints one table. Run it once per model to compare them:

    python benchmarks/latency.py                                   # embedded 1.5B
    python benchmarks/latency.py --model embedded:qwen2.5-coder-0.5b-instruct
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import cpu_model

SETUP_CELLS = [
    ("markdown", "# Sales analysis\nLoad the monthly sales export and clean it."),
    ("code", "import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"),
    (
        "code",
        "def load_sales(path):\n    df = pd.read_csv(path, parse_dates=['date'])\n"
        "    df = df.dropna(subset=['amount'])\n    df['month'] = df['date'].dt.to_period('M')\n"
        "    return df\n",
    ),
    ("code", "sales = load_sales('sales.csv')\nsales.head()\n"),
    ("markdown", "## Monthly totals per region"),
    (
        "code",
        "monthly = (\n    sales.groupby(['month', 'region'])['amount']\n    .sum()\n"
        "    .unstack(fill_value=0)\n)\nmonthly.tail()\n",
    ),
    (
        "code",
        "def plot_region(monthly, region, ax=None):\n    ax = ax or plt.gca()\n"
        "    monthly[region].plot(ax=ax, marker='o')\n    ax.set_title(f'Sales in {region}')\n"
        "    ax.set_ylabel('amount')\n    return ax\n",
    ),
    ("markdown", "## Outliers\nFlag the days whose amount is far from the region's mean."),
    (
        "code",
        "def zscore(values):\n    values = np.asarray(values, dtype=float)\n"
        "    return (values - values.mean()) / values.std()\n",
    ),
]

# (prefix, suffix) at the cursor in the active cell.
CURSORS = [
    (
        "def average(nums):\n    total = 0\n    for n in nums:\n        ",
        "\n    return total / len(nums)\n",
    ),
    ("sales['z'] = sales.groupby('region')['amount'].transform(", ")\n"),
    ("outliers = sales[sales['z'].abs() > ", "]\n"),
    (
        "fig, axes = plt.subplots(1, 2, figsize=(10, 4))\n"
        "for ax, region in zip(axes, ['north', 'south']):\n    ",
        "\nplt.tight_layout()\n",
    ),
    ("top = monthly.sum().sort_values(", ")\n"),
    ("def top_customers(df, n=10):\n    ", ""),
    ("weekly = sales.set_index('date').resample(", ")['amount'].sum()\n"),
    ("share = monthly.div(monthly.sum(axis=1), axis=", ")\n"),
    ("# number of sales per region\ncounts = ", ""),
    ("for region in monthly.columns:\n    ", "\n"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def request(url: str, token: str, path: str, body: dict | None = None, timeout: float = 600):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url.rstrip("/") + "/jupyter-codegen/" + path,
        data=data,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    return urllib.request.urlopen(req, timeout=timeout)


def start_server(model: str, token: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--CodegenApp.model={model}", "--ServerApp.jpserver_extensions=jupyter_codegen=True",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("-n", "--requests", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    proc = None
    token = args.token or secrets.token_hex(16)
    url = args.url
    if url is None:
        proc, url = start_server(args.model, token)
    try:
        started = time.monotonic()
        status: dict = {}
        while time.monotonic() - started < 1800:
            try:
                status = json.load(request(url, token, "status"))
                if status["state"] != "loading":
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        if status.get("state") != "ready":
            sys.exit(f"model not ready: {status}")
        wall_load = time.monotonic() - started

        cells = [{"cell_type": t, "source": s} for t, s in SETUP_CELLS]
        totals, firsts, prompts, generated = [], [], [], []
        for i in range(args.requests):
            prefix, suffix = CURSORS[i % len(CURSORS)]
            body = {
                "prefix": prefix,
                "suffix": suffix,
                "cells_before": cells,
                "max_tokens": args.max_tokens,
                "stream": True,
            }
            t0 = time.monotonic()
            first = None
            done = None
            with request(url, token, "complete", body) as resp:
                event = None
                for raw in resp:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        if event == "completion" and first is None:
                            first = time.monotonic() - t0
                        elif event == "done":
                            done = json.loads(line[6:])
            total = time.monotonic() - t0
            assert done is not None
            totals.append(total * 1000)
            firsts.append((first or total) * 1000)
            prompts.append(done["timings"]["prompt_tokens"])
            generated.append(done["timings"]["generated_tokens"])
            text = done["completions"][0]["text"] if done["completions"] else ""
            shown = text.splitlines()[0] if text else "(empty)"
            print(
                f"  {i + 1:2d}: {total * 1000:7.0f} ms  first {firsts[-1]:6.0f} ms  "
                f"{int(prompts[-1]):4d}+{int(generated[-1]):3d} tok  {shown!r}"
            )
        status = json.load(request(url, token, "status"))
        mem = status["memory"]
        print()
        where = f"{status['device']}, {status['dtype']}"
        print(f"cpu              {cpu_model()} ({os.cpu_count()} cores)")
        print(f"model            {status['model']} ({where})")
        print(
            f"load             {status['load_seconds']:.1f} s in the server, "
            f"{wall_load:.1f} s to ready"
        )
        print(f"requests         {len(totals)}, max_tokens {args.max_tokens}, streamed")
        print(f"prompt tokens    median {statistics.median(prompts):.0f}, max {max(prompts):.0f}")
        print(f"generated tokens median {statistics.median(generated):.0f}")
        print(
            f"latency (ms)     p50 {percentile(totals, 0.5):.0f}, p90 {percentile(totals, 0.9):.0f}"
        )
        print(
            f"first text (ms)  p50 {percentile(firsts, 0.5):.0f}, p90 {percentile(firsts, 0.9):.0f}"
        )
        print(f"server RSS       {mem.get('rss_bytes', 0) / 2**30:.2f} GiB now, "
              f"{mem['peak_rss_bytes'] / 2**30:.2f} GiB peak")  # fmt: skip
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
