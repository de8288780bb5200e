"""Write the live-state set's data files (run once; the files are in git).

``python -m evals.livestate.make_data`` rewrites them, byte for byte the same
for CSV and JSON (a seeded generator); parquet needs pyarrow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(12)
    n = 40
    sales = pd.DataFrame(
        {
            "Order ID": np.arange(1000, 1000 + n),
            "Unit Price (€)": rng.uniform(2, 90, n).round(2),
            "qty#": rng.integers(1, 12, n),
            "région": rng.choice(["nord", "sud", "est", "ouest"], n),
            "order_dt": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "is_returned?": rng.choice([True, False], n, p=[0.1, 0.9]),
        }
    )
    sales.to_csv(HERE / "sales.csv", index=False)
    weather = pd.DataFrame(
        {
            "station": rng.choice(["KSEA", "KPDX", "KSFO"], n),
            "Temp (°F)": rng.normal(58, 9, n).round(1),
            "Wind_kts": rng.integers(0, 30, n),
            "Precip.mm": rng.gamma(1.2, 3, n).round(1),
            "obs_hour_utc": rng.integers(0, 24, n),
        }
    )
    weather.to_csv(HERE / "weather_obs.csv", index=False, sep=";")
    patients = pd.DataFrame(
        {
            "PatientID": [f"P{i:04d}" for i in range(n)],
            "bmi_kg_m2": rng.normal(26, 4, n).round(1),
            "sys_bp_mmHg": rng.integers(100, 170, n),
            "Dx Code": rng.choice(["E11", "I10", "J45"], n),
            "visit_n": rng.integers(1, 9, n),
        }
    )
    patients.to_parquet(HERE / "patients.parquet", index=False)
    events = pd.DataFrame(
        {
            "evt_type": rng.choice(["click", "view", "buy"], n),
            "user_uid": rng.integers(1, 15, n),
            "dur_ms": rng.integers(5, 5000, n),
            "page_slug": rng.choice(["home", "cart", "faq"], n),
        }
    )
    events.to_parquet(HERE / "events.parquet", index=False)
    sensors = {
        "station_meta": {"site_code": "AX-7", "elev_m": 1240, "lat_deg": 46.2},
        "readings_v2": [
            {
                "ts_utc": f"2024-03-01T{h:02d}:00",
                "temp_c_avg": round(float(rng.normal(4, 3)), 2),
                "rh_pct": int(rng.integers(30, 95)),
            }
            for h in range(12)
        ],
        "calib_offsets": {"temp_c_avg": -0.3, "rh_pct": 1.5},
    }
    (HERE / "sensors.json").write_text(json.dumps(sensors, indent=1) + "\n")
    config = {
        "model_params": {"lr_init": 0.003, "n_epochs_max": 40, "dropout_p": 0.15},
        "data_paths": {"train_glob": "data/train-*.csv", "holdout_file": "data/holdout.csv"},
        "seed_value": 7,
    }
    (HERE / "train_config.json").write_text(json.dumps(config, indent=1) + "\n")
    inventory = [
        {
            "sku_code": f"SKU-{i:03d}",
            "stock_on_hand": int(rng.integers(0, 300)),
            "reorder_lvl": int(rng.integers(10, 60)),
            "warehouse_zone": str(rng.choice(["A", "B", "C"])),
        }
        for i in range(25)
    ]
    (HERE / "inventory.json").write_text(json.dumps(inventory, indent=1) + "\n")


if __name__ == "__main__":
    main()
