"""Edits that change what the code computes: sort, filter, round, return
more, take a parameter. ``changed`` checks the new behaviour; ``check`` what
must stay as it was (other results, other cells)."""

from __future__ import annotations

from ..core import EditTask

TASKS = (
    EditTask(
        id="behaviour-sort-descending",
        kind="behaviour",
        instruction="sort by revenue, highest first",
        notebook="""
# %%
import pandas as pd

sales = pd.DataFrame(
    {
        "product": ["beans", "grinder", "filters", "beans", "jug", "grinder", "descaler"],
        "revenue": [49.8, 259.0, 17.45, 99.6, 37.0, 259.0, 23.9],
    }
)

# %%
by_product = sales.groupby("product")["revenue"].sum()
by_product
""",
        active=1,
        selection='by_product = sales.groupby("product")["revenue"].sum()',
        reference=(
            'by_product = sales.groupby("product")["revenue"].sum().sort_values(ascending=False)'
        ),
        check="""
assert by_product.round(2).to_dict() == {
    "beans": 149.4, "descaler": 23.9, "filters": 17.45, "grinder": 518.0, "jug": 37.0
}, by_product
""",
        changed="""
assert list(by_product.index) == ["grinder", "beans", "jug", "descaler", "filters"], by_product
""",
    ),
    EditTask(
        id="behaviour-exclude-cancelled",
        kind="behaviour",
        instruction="exclude cancelled orders",
        notebook="""
# %%
import pandas as pd

orders = pd.DataFrame(
    {
        "order_id": [1, 2, 3, 4, 5, 6],
        "status": ["paid", "cancelled", "paid", "refunded", "cancelled", "paid"],
        "amount": [120.0, 75.0, 240.5, 60.0, 310.0, 99.5],
    }
)

# %%
revenue = orders["amount"].sum()
n_orders = len(orders)
print(f"{n_orders} orders, {revenue:.2f} EUR")

# %%
status_counts = orders["status"].value_counts()
""",
        active=1,
        selection="""revenue = orders["amount"].sum()
n_orders = len(orders)""",
        reference="""kept = orders[orders["status"] != "cancelled"]
revenue = kept["amount"].sum()
n_orders = len(kept)""",
        check="""
assert status_counts.to_dict() == {"paid": 3, "cancelled": 2, "refunded": 1}, status_counts
""",
        changed="""
assert n_orders == 4 and round(float(revenue), 2) == 520.0, (n_orders, revenue)
""",
    ),
    EditTask(
        id="behaviour-round-percentages",
        kind="behaviour",
        instruction="round the percentages to one decimal",
        notebook="""
# %%
import pandas as pd

orders_by_channel = pd.Series({"web": 412, "store": 233, "phone": 57})
shares = orders_by_channel / orders_by_channel.sum() * 100
shares
""",
        active=0,
        selection="shares = orders_by_channel / orders_by_channel.sum() * 100",
        reference="shares = (orders_by_channel / orders_by_channel.sum() * 100).round(1)",
        check="""
assert list(shares.index) == ["web", "store", "phone"]
assert abs(float(shares.sum()) - 100) < 0.2
""",
        changed="""
assert [float(x) for x in shares] == [58.7, 33.2, 8.1], shares
""",
    ),
    EditTask(
        id="behaviour-also-median",
        kind="behaviour",
        instruction="also return the median, under the key 'median'",
        notebook='''
# %%
import numpy as np


def describe_latency(ms):
    """Summary statistics of response times in milliseconds."""
    ms = np.asarray(ms, dtype=float)
    return {"mean": float(ms.mean()), "p95": float(np.percentile(ms, 95))}

# %%
latencies = [41, 23, 118, 37, 45, 940, 12, 39, 96, 28, 52, 1210]
stats = describe_latency(latencies)
stats
''',
        active=0,
        selection='    return {"mean": float(ms.mean()), "p95": float(np.percentile(ms, 95))}',
        reference="""    return {
        "mean": float(ms.mean()),
        "median": float(np.median(ms)),
        "p95": float(np.percentile(ms, 95)),
    }""",
        check="""
assert round(stats["mean"], 2) == 220.08 and round(stats["p95"], 2) == 1061.5, stats
""",
        changed="""
assert stats["median"] == 43.0, stats
assert describe_latency([1, 2, 10])["median"] == 2.0
""",
    ),
    EditTask(
        id="behaviour-parameter",
        kind="behaviour",
        instruction="add a parameter n for the number of customers, 3 by default",
        notebook='''
# %%
import pandas as pd

customers = pd.DataFrame(
    {
        "name": ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"],
        "spend": [4200, 310, 3880, 450, 290, 5110],
    }
)

# %%
def top_customers(df):
    """Names of the biggest spenders, biggest first."""
    return df.nlargest(3, "spend")["name"].tolist()


top_customers(customers)
''',
        active=1,
        selection='''def top_customers(df):
    """Names of the biggest spenders, biggest first."""
    return df.nlargest(3, "spend")["name"].tolist()''',
        reference='''def top_customers(df, n=3):
    """Names of the n biggest spenders, biggest first."""
    return df.nlargest(n, "spend")["name"].tolist()''',
        check="""
assert top_customers(customers) == ["Fir", "Alder", "Cedar"]
""",
        changed="""
assert top_customers(customers, n=2) == ["Fir", "Alder"]
assert top_customers(customers, 5) == ["Fir", "Alder", "Cedar", "Dogwood", "Birch"]
""",
    ),
)
