"""What the live kernel lookup adds to a completion: the round trip of the
frontend's silent ``user_expressions`` request (Contract A) to an idle kernel.

Starts a real IPython kernel (jupyter_client), defines a 30-column pandas
DataFrame, a dict, a numpy array and a function, then times N lookups the way
the frontend sends them (silent, no history) and prints p50/p90 in ms, the
first (cold: the import of ``jupyter_codegen.kernel.live``) and the CPU:

    python -m benchmarks.kernel_lookup [-n 50]   (from the repository root)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from jupyter_client.manager import start_new_kernel

from benchmarks.machine import cpu_model

SETUP = """
import numpy as np, pandas as pd
df = pd.DataFrame({f"col {i} (unit)": np.arange(1000) * i for i in range(30)})
config = {"lr_init": 0.003, "n_epochs_max": 40, "paths": {"train": "a.csv"}}
arr = np.zeros((512, 64), dtype="float32")
def scale(values, factor: float = 2.0, *, clip=None):
    return values * factor
"""
ACTIVE = "result = scale(df['col 3 (unit)'], factor=config['lr_init'])\narr.mean()"


def lookup(client, source: str) -> tuple[float, dict]:
    expr = (
        "__import__('jupyter_codegen.kernel.live', fromlist=['live_context'])"
        f".live_context({json.dumps(source)})"
    )
    start = time.perf_counter()
    msg_id = client.execute(
        "", silent=True, store_history=False, user_expressions={"codegen": expr}
    )
    while True:
        reply = client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = (time.perf_counter() - start) * 1000
    found = reply["content"]["user_expressions"]["codegen"]
    if found["status"] != "ok":
        raise SystemExit(f"the lookup failed: {found}")
    return elapsed, json.loads(found["data"]["text/plain"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args()
    km, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        client.execute_interactive(SETUP, silent=True, timeout=120)
        first, result = lookup(client, ACTIVE)
        times = [lookup(client, ACTIVE)[0] for _ in range(args.n)]
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    times.sort()
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    print(f"cpu: {cpu_model()} ({platform.machine()}), load average {_load()}")
    print(f"described: {', '.join(result['names'])}; {len(result['text'])} characters")
    print(f"first lookup (imports the module): {first:.1f} ms")
    print(f"{args.n} lookups on an idle kernel: p50 {statistics.median(times):.1f} ms, "
          f"p90 {p90:.1f} ms, min {times[0]:.1f} ms")  # fmt: skip
    return 0


def _load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
