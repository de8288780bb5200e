"""The text the int8 engine runs once after quantizing, to find which inputs
of each layer to keep out of the int8 product (:func:`.quantize.calibrate`).

Ordinary notebook code of our own: imports, data frames, a function, a class,
comments, strings and numbers. Its job is to light up the channels that are
large for any code, not to teach anything; the evaluation sets share nothing
with it."""

CALIBRATION_TEXT = '''\
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

# Load the measurements and keep the rows we can trust
DATA = Path("data") / "stations.csv"
df = pd.read_csv(DATA, parse_dates=["time"])
df = df.dropna(subset=["temperature", "station"])
df = df[df["temperature"].between(-60, 60)]
print(df.shape, df.columns.tolist())

daily = df.groupby(["station", df["time"].dt.date])["temperature"].agg(["mean", "min", "max"])
daily.head(10)


def rolling_zscore(values: np.ndarray, window: int = 24) -> np.ndarray:
    """How far each value is from the mean of the window before it."""
    out = np.full(len(values), np.nan)
    for i in range(window, len(values)):
        past = values[i - window : i]
        std = past.std()
        out[i] = (values[i] - past.mean()) / std if std > 0 else 0.0
    return out


class Station:
    def __init__(self, name, lat, lon):
        self.name = name
        self.lat, self.lon = lat, lon
        self.readings = []

    def add(self, value):
        self.readings.append(float(value))
        return self

    def __repr__(self):
        return f"Station({self.name!r}, {len(self.readings)} readings)"

    def distance_to(self, other):
        dlat = math.radians(other.lat - self.lat)
        dlon = math.radians(other.lon - self.lon)
        a = math.sin(dlat / 2) ** 2 + math.cos(math.radians(self.lat)) * math.sin(dlon / 2) ** 2
        return 6371.0 * 2 * math.asin(math.sqrt(a))


counts = Counter(df["station"])
by_month = defaultdict(list)
for row in df.itertuples():
    by_month[row.time.month].append(row.temperature)

fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(daily.loc["north", "mean"], label="north")
ax.set_xlabel("day")
ax.legend()
with open("summary.json", "w") as fh:
    json.dump({"stations": len(counts), "rows": int(df.shape[0])}, fh, indent=2)
'''
