"""Vectorize: a Python loop over rows or points replaced by numpy/pandas
operations. The rules: no loop (nor comprehension) is left, no apply/iterrows."""

from __future__ import annotations

from ..core import EditTask
from ..rules import NoCalls, NoLoops

NO_ROW_LOOPS = (NoLoops(), NoCalls(("apply", "iterrows", "itertuples")))

TASKS = (
    EditTask(
        id="vectorize-net-price",
        kind="vectorize",
        instruction="vectorize this loop",
        notebook="""
# %%
import numpy as np
import pandas as pd

orders = pd.DataFrame(
    {
        "unit_price": [12.5, 8.0, 45.0, 3.2, 19.9, 7.5],
        "qty": [4, 10, 1, 25, 3, 8],
        "discount": [0.0, 0.1, 0.05, 0.2, 0.0, 0.15],
    }
)

# %%
orders["net"] = 0.0
for i in range(len(orders)):
    row = orders.iloc[i]
    orders.loc[i, "net"] = row["unit_price"] * row["qty"] * (1 - row["discount"])
orders["net"].sum()
""",
        active=1,
        selection="""orders["net"] = 0.0
for i in range(len(orders)):
    row = orders.iloc[i]
    orders.loc[i, "net"] = row["unit_price"] * row["qty"] * (1 - row["discount"])""",
        reference='orders["net"] = orders["unit_price"] * orders["qty"] * (1 - orders["discount"])',
        check="""
assert np.allclose(orders["net"], [50.0, 72.0, 42.75, 64.0, 59.7, 51.0]), orders["net"]
""",
        rules=NO_ROW_LOOPS,
    ),
    EditTask(
        id="vectorize-distances",
        kind="vectorize",
        instruction="vectorize the distance computation with numpy",
        notebook="""
# %%
import math

import numpy as np

rng = np.random.default_rng(1)
points = rng.uniform(0, 10, size=(200, 2))
centroid = points.mean(axis=0)

# %%
distances = []
for x, y in points:
    distances.append(math.sqrt((x - centroid[0]) ** 2 + (y - centroid[1]) ** 2))
distances = np.array(distances)
far = int((distances > 5).sum())
far
""",
        active=1,
        selection="""distances = []
for x, y in points:
    distances.append(math.sqrt((x - centroid[0]) ** 2 + (y - centroid[1]) ** 2))
distances = np.array(distances)""",
        reference="distances = np.sqrt(((points - centroid) ** 2).sum(axis=1))",
        check="""
expected = np.hypot(points[:, 0] - centroid[0], points[:, 1] - centroid[1])
assert isinstance(distances, np.ndarray) and distances.shape == (200,), type(distances)
assert np.allclose(distances, expected)
assert far == int((expected > 5).sum()), far
""",
        rules=(NoLoops(),),
    ),
    EditTask(
        id="vectorize-temperature-labels",
        kind="vectorize",
        instruction="vectorize this",
        notebook="""
# %%
import numpy as np
import pandas as pd

readings = pd.DataFrame(
    {
        "sensor": ["a1", "a2", "b1", "b2", "c1", "c2", "d1", "d2"],
        "temp_c": [18.2, 25.9, 31.4, 22.0, 35.1, 27.5, 15.8, 29.9],
    }
)

# %%
labels = []
for t in readings["temp_c"]:
    if t >= 30:
        labels.append("hot")
    elif t >= 25:
        labels.append("warm")
    else:
        labels.append("normal")
readings["label"] = labels
readings["label"].value_counts()
""",
        active=1,
        selection=None,
        reference="""readings["label"] = np.select(
    [readings["temp_c"] >= 30, readings["temp_c"] >= 25], ["hot", "warm"], default="normal"
)
readings["label"].value_counts()""",
        check="""
assert list(readings["label"]) == [
    "normal", "warm", "hot", "normal", "hot", "warm", "normal", "warm"
], readings["label"]
""",
        rules=NO_ROW_LOOPS,
    ),
    EditTask(
        id="vectorize-iterrows-total",
        kind="vectorize",
        instruction="no iterrows: compute the total with vectorized pandas operations",
        notebook='''
# %%
import pandas as pd

cart = pd.DataFrame(
    {
        "sku": ["TEA-01", "MUG-02", "POT-03", "CUP-04"],
        "price": [6.9, 14.0, 32.5, 4.25],
        "qty": [3, 2, 1, 6],
    }
)

# %%
def cart_total(cart):
    """The value of a cart, rounded to cents."""
    total = 0.0
    for _, row in cart.iterrows():
        total += row["price"] * row["qty"]
    return round(total, 2)


cart_total(cart)
''',
        active=1,
        selection="""    total = 0.0
    for _, row in cart.iterrows():
        total += row["price"] * row["qty"]
    return round(total, 2)""",
        reference='    return round(float((cart["price"] * cart["qty"]).sum()), 2)',
        check="""
assert cart_total(cart) == 106.7, cart_total(cart)
assert cart_total(pd.DataFrame({"sku": ["x"], "price": [1.5], "qty": [2]})) == 3.0
""",
        rules=NO_ROW_LOOPS,
    ),
    EditTask(
        id="vectorize-running-balance",
        kind="vectorize",
        instruction="vectorize this",
        notebook="""
# %%
import pandas as pd

ledger = pd.DataFrame(
    {
        "date": pd.date_range("2024-01-07", periods=8, freq="W"),
        "amount": [500.0, -120.0, -75.5, 1200.0, -300.0, -45.0, -600.0, 250.0],
    }
)

# %%
balance = []
running = 1000.0  # opening balance
for amount in ledger["amount"]:
    running += amount
    balance.append(running)
ledger["balance"] = balance
""",
        active=1,
        selection=None,
        reference="""OPENING_BALANCE = 1000.0
ledger["balance"] = OPENING_BALANCE + ledger["amount"].cumsum()""",
        check="""
assert ledger["balance"].tolist() == [
    1500.0, 1380.0, 1304.5, 2504.5, 2204.5, 2159.5, 1559.5, 1809.5
], ledger["balance"].tolist()
""",
        rules=(NoLoops(),),
    ),
)
