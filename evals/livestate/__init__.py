"""The live-state set: completions whose answer is only in the kernel.

Small hand-written notebooks load data files shipped here (CSV, JSON, parquet)
whose column names, keys and attributes are unusual, and the line to complete
uses one that no cell's text shows: only the live kernel knows it. The cells
before the target run in a separate interpreter (an IPython shell, cwd a copy
of this folder), then :func:`jupyter_codegen.kernel.live.live_context`
describes its variables, as the frontend's lookup would. Each task is then
completed with that description (``namespace``) and without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..tasks import Task

DATA = Path(__file__).parent
DATA_FILES = (
    "sales.csv",
    "weather_obs.csv",
    "patients.parquet",
    "events.parquet",
    "sensors.json",
    "train_config.json",
    "inventory.json",
)


@dataclass(frozen=True)
class Notebook:
    """``cells`` run first; the active cell is ``prefix`` + ``hidden`` + ``rest``
    + ``suffix``: the target is the rest of the line, from the name that only
    the kernel knows (``hidden``) on; ``suffix`` holds the lines after it."""

    name: str
    data: str  # the data file it loads
    cells: tuple[str, ...]
    prefix: str
    hidden: str
    rest: str = ""
    suffix: str = "\n"

    @property
    def target(self) -> str:
        return self.hidden + self.rest


PD = "import pandas as pd"
SALES = 'sales = pd.read_csv("sales.csv")\nsales.head()'
WX = 'wx = pd.read_csv("weather_obs.csv", sep=";")\nwx.describe()'
PTS = 'pts = pd.read_parquet("patients.parquet")\nlen(pts)'
EV = 'import polars as pl\nev = pl.read_parquet("events.parquet")\nev.shape'
SENSORS = 'import json\nwith open("sensors.json") as f:\n    sensors = json.load(f)'
CFG = 'import json\nwith open("train_config.json") as f:\n    cfg = json.load(f)'
INV = 'import json\nwith open("inventory.json") as f:\n    items = json.load(f)\nlen(items)'

NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook(
        "sales-revenue",
        "sales.csv",
        (PD, SALES),
        '# revenue of each order\nsales["revenue"] = sales["qty#"] * sales["',
        "Unit Price (€)",
        '"]',
    ),
    Notebook(
        "sales-per-region",
        "sales.csv",
        (PD, SALES),
        '# number of orders per region\ncounts = sales.groupby("',
        "région",
        '").size()',
    ),
    Notebook(
        "sales-returned",
        "sales.csv",
        (PD, SALES),
        '# the orders that came back\nreturned = sales[sales["',
        "is_returned?",
        '"]]',
    ),
    Notebook(
        "sales-first-date",
        "sales.csv",
        (PD, SALES, "# When did the first order come in?"),
        'first = sales["',
        "order_dt",
        '"].min()',
    ),
    Notebook(
        "sales-index",
        "sales.csv",
        (PD, SALES),
        '# index the orders by their id\nby_id = sales.set_index("',
        "Order ID",
        '")',
    ),
    Notebook(
        "weather-temp",
        "weather_obs.csv",
        (PD, WX),
        '# mean temperature per station\nwx.groupby("station")["',
        "Temp (°F)",
        '"].mean()',
    ),
    Notebook(
        "weather-wind",
        "weather_obs.csv",
        (PD, WX),
        '# windy observations\nwindy = wx[wx["',
        "Wind_kts",
        '"] > 20]',
    ),
    Notebook(
        "weather-precip",
        "weather_obs.csv",
        (PD, WX),
        '# total precipitation\ntotal = wx["',
        "Precip.mm",
        '"].sum()',
    ),
    Notebook(
        "weather-night",
        "weather_obs.csv",
        (PD, WX),
        '# observations before 6 am (UTC)\nnight = wx[wx["',
        "obs_hour_utc",
        '"] < 6]',
    ),
    Notebook(
        "weather-structured",
        "weather_obs.csv",
        (
            "import numpy as np",
            'arr = np.genfromtxt("weather_obs.csv", delimiter=";", names=True, dtype=None,'
            ' encoding="utf-8")',
        ),
        '# wind speeds\nwinds = arr["',
        "Wind_kts",
        '"]',
    ),
    Notebook(
        "patients-obese",
        "patients.parquet",
        (PD, PTS),
        '# patients with obesity\nobese = pts[pts["',
        "bmi_kg_m2",
        '"] >= 30]',
    ),
    Notebook(
        "patients-diagnosis",
        "patients.parquet",
        (PD, PTS),
        '# mean number of visits per diagnosis\nvisits = pts.groupby("',
        "Dx Code",
        '")["visit_n"].mean()',
    ),
    Notebook(
        "patients-pressure",
        "patients.parquet",
        (PD, PTS),
        '# hypertension: systolic pressure of 140 or more\nhtn = pts[pts["',
        "sys_bp_mmHg",
        '"] >= 140]',
    ),
    Notebook(
        "patients-index",
        "patients.parquet",
        (PD, PTS),
        '# look patients up by their id\nindexed = pts.set_index("',
        "PatientID",
        '")',
    ),
    Notebook(
        "events-duration",
        "events.parquet",
        (EV,),
        '# average duration per event type\nev.group_by("evt_type").agg(pl.col("',
        "dur_ms",
        '").mean())',
    ),
    Notebook(
        "events-buys",
        "events.parquet",
        (EV,),
        '# purchases only\nbuys = ev.filter(pl.col("',
        "evt_type",
        '") == "buy")',
    ),
    Notebook(
        "events-pages",
        "events.parquet",
        (EV,),
        '# visits per page\nper_page = ev.group_by("',
        "page_slug",
        '").len()',
    ),
    Notebook(
        "sensors-readings",
        "sensors.json",
        (SENSORS,),
        '# the list of readings\nreadings = sensors["',
        "readings_v2",
        '"]',
    ),
    Notebook(
        "sensors-site",
        "sensors.json",
        (SENSORS,),
        '# the code of the site\nsite = sensors["station_meta"]["',
        "site_code",
        '"]',
    ),
    Notebook(
        "sensors-calibration",
        "sensors.json",
        (SENSORS,),
        '# calibration offsets\noffsets = sensors["',
        "calib_offsets",
        '"]',
    ),
    Notebook(
        "sensors-temps",
        "sensors.json",
        (SENSORS, 'readings = sensors["readings_v2"]'),
        '# the average temperatures\ntemps = [r["',
        "temp_c_avg",
        '"] for r in readings]',
    ),
    Notebook(
        "config-lr",
        "train_config.json",
        (CFG,),
        '# the initial learning rate\nlr = cfg["model_params"]["',
        "lr_init",
        '"]',
    ),
    Notebook(
        "config-epochs",
        "train_config.json",
        (CFG,),
        '# the most epochs to train\nepochs = cfg["model_params"]["',
        "n_epochs_max",
        '"]',
    ),
    Notebook(
        "config-attribute",
        "train_config.json",
        (
            CFG,
            "from types import SimpleNamespace",
            'params = SimpleNamespace(**cfg["model_params"])',
        ),
        "# the dropout probability\ndrop = params.",
        "dropout_p",
        "",
    ),
    Notebook(
        "inventory-low",
        "inventory.json",
        (INV,),
        '# items to reorder\nlow = [it for it in items if it["',
        "stock_on_hand",
        '"] < it["reorder_lvl"]]',
    ),
    Notebook(
        "inventory-zones",
        "inventory.json",
        (PD, INV, "inv = pd.DataFrame(items)"),
        '# items per warehouse zone\nzones = inv.groupby("',
        "warehouse_zone",
        '").size()',
    ),
    Notebook(
        "inventory-namedtuple",
        "inventory.json",
        (
            INV,
            "from collections import namedtuple",
            'Item = namedtuple("Item", items[0])',
            "stock = [Item(**d) for d in items]",
        ),
        "# the codes of all items\ncodes = [s.",
        "sku_code",
        " for s in stock]",
    ),
)


def build_tasks(limit: int) -> list[Task]:
    """The first ``limit`` notebooks as tasks, without their namespace (see
    :func:`with_namespaces`)."""
    return [
        Task(
            id=f"livestate:{nb.name}",
            set="livestate",
            kind=nb.data.rsplit(".", 1)[-1],
            prefix=nb.prefix,
            suffix=nb.suffix,
            target=nb.target,
            cells_before=tuple(("code", c) for c in nb.cells),
            source={"data": nb.data, "notebook": nb.name, "hidden": nb.hidden},
        )
        for nb in NOTEBOOKS[:limit]
    ]


def lookup_source(task: Task) -> str:
    """What the frontend sends to ``live_context``: the active cell as typed
    (the target not yet), then the other code cells, nearest first."""
    others = [src for kind, src in reversed(task.cells_before) if kind == "code"]
    return "\n".join([task.prefix + task.suffix, *others])


_RUNNER = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from jupyter_codegen.kernel.live import live_context

shell = InteractiveShell.instance()
for line in sys.stdin:
    job = json.loads(line)
    shell.reset(new_session=False)
    errors = []
    for cell in job["cells"]:
        result = shell.run_cell(cell, store_history=True, silent=True)
        if not result.success:
            errors.append(repr(result.error_in_exec or result.error_before_exec))
    found = json.loads(repr(live_context(job["source"])))
    found["errors"] = errors
    print(json.dumps(found), flush=True)
"""


def with_namespaces(tasks: list[Task], timeout: float = 300.0) -> list[Task]:
    """Run each task's cells in a fresh IPython shell of one child interpreter
    (cwd: a copy of the data folder) and attach what ``live_context`` says.
    Raises if a cell fails: the set must run as written."""
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="codegen-livestate-") as work:
        for name in DATA_FILES:
            shutil.copy(DATA / name, work)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path[1:2]])}
        jobs = "".join(
            json.dumps({"cells": [c for _, c in t.cells_before], "source": lookup_source(t)}) + "\n"
            for t in tasks
        )
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=jobs,
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=timeout,
            check=False,
        )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(tasks):
        raise RuntimeError(f"the live-state cells did not run: {proc.stderr[-2000:]}")
    out = []
    for task, line in zip(tasks, lines, strict=True):
        found = json.loads(line)
        if found["errors"]:
            raise RuntimeError(f"{task.id}: a cell failed: {found['errors']}")
        out.append(replace(task, namespace=found["text"]))
    return out
