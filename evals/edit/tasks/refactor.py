"""Refactors: code turned into a function (``changed`` calls it on new
input), and pandas idioms in place of manual code (groupby for a loop, .str
for apply, a method chain, .loc for chained assignment)."""

from __future__ import annotations

from ..core import EditTask
from ..rules import Calls, Defines, MaxStatements, NoCalls, NoChainedAssignment, NoLoops

SALES = """
# %%
import pandas as pd

sales = pd.DataFrame(
    {
        "order_id": [1, 2, 3, 4, 5, 6, 7],
        "region": ["North", "South", "North", "East", "South", "East", "North"],
        "channel": ["web", "web", "store", "store", "store", "web", "web"],
        "amount": [120.0, 85.5, 230.0, 64.0, 99.9, 150.0, 42.0],
    }
)
"""

TASKS = (
    EditTask(
        id="extract-clean-columns",
        kind="extract-function",
        instruction=(
            "extract the column clean-up into a function clean_columns(df) that returns the "
            "cleaned frame, and use it"
        ),
        notebook="""
# %%
import pandas as pd

raw = pd.DataFrame([[1, 2.5, 3], [2, 4.0, 1]], columns=[" Order ID", "Unit Price ", "QTY"])

# %%
cols = raw.columns.str.strip().str.lower().str.replace(" ", "_")
raw.columns = cols
raw.head()
""",
        active=1,
        selection=None,
        reference='''def clean_columns(df):
    """A copy of df with stripped, lowercase, snake_case column names."""
    out = df.copy()
    out.columns = out.columns.str.strip().str.lower().str.replace(" ", "_")
    return out


raw = clean_columns(raw)
raw.head()''',
        check="""
assert list(raw.columns) == ["order_id", "unit_price", "qty"], list(raw.columns)
assert raw["unit_price"].tolist() == [2.5, 4.0]
""",
        changed="""
assert list(clean_columns(pd.DataFrame(columns=[" Net Sales", "Region "])).columns) == [
    "net_sales", "region"
]
""",
        rules=(Defines("clean_columns"),),
    ),
    EditTask(
        id="extract-summary-function",
        kind="extract-function",
        instruction=(
            "turn this into a function summarize(df, by) that groups by the column `by`, "
            "and keep summary as its result for region"
        ),
        notebook=SALES
        + """
# %%
summary = (
    sales.groupby("region")
    .agg(orders=("order_id", "count"), revenue=("amount", "sum"))
    .sort_values("revenue", ascending=False)
)
summary
""",
        active=1,
        selection=None,
        reference='''def summarize(df, by):
    """Orders and revenue per value of ``by``, the largest revenue first."""
    return (
        df.groupby(by)
        .agg(orders=("order_id", "count"), revenue=("amount", "sum"))
        .sort_values("revenue", ascending=False)
    )


summary = summarize(sales, "region")
summary''',
        check="""
assert list(summary.index) == ["North", "East", "South"], summary
assert summary["orders"].tolist() == [3, 2, 2] and summary.loc["North", "revenue"] == 392.0
""",
        changed="""
by_channel = summarize(sales, "channel")
assert by_channel.loc["web", "orders"] == 4
assert round(by_channel.loc["store", "revenue"], 1) == 393.9
assert list(by_channel.index) == ["web", "store"]
""",
        rules=(Defines("summarize"),),
    ),
    EditTask(
        id="extract-conversion-function",
        kind="extract-function",
        instruction="make the conversion a function to_fahrenheit(celsius) and use it",
        notebook="""
# %%
import numpy as np

temps_c = np.array([-5.0, 0.0, 12.5, 21.0, 37.0])

# %%
temps_f = temps_c * 9 / 5 + 32
temps_f
""",
        active=1,
        selection="temps_f = temps_c * 9 / 5 + 32",
        reference='''def to_fahrenheit(celsius):
    """Degrees Fahrenheit; works on numbers and arrays."""
    return celsius * 9 / 5 + 32


temps_f = to_fahrenheit(temps_c)''',
        check="""
assert np.allclose(temps_f, [23.0, 32.0, 54.5, 69.8, 98.6]), temps_f
""",
        changed="""
assert to_fahrenheit(100) == 212 and np.allclose(to_fahrenheit(np.array([0.0, -40.0])), [32, -40])
""",
        rules=(Defines("to_fahrenheit"),),
    ),
    EditTask(
        id="idiom-groupby-not-loop",
        kind="pandas-idiom",
        instruction="use groupby instead of the loop",
        notebook=SALES
        + """
# %%
totals = {}
for region in sales["region"].unique():
    totals[region] = sales.loc[sales["region"] == region, "amount"].sum()
totals = pd.Series(totals).sort_index()
totals
""",
        active=1,
        selection="""totals = {}
for region in sales["region"].unique():
    totals[region] = sales.loc[sales["region"] == region, "amount"].sum()
totals = pd.Series(totals).sort_index()""",
        reference="""totals = sales.groupby("region")["amount"].sum().sort_index()""",
        check="""
assert totals.round(2).to_dict() == {"East": 214.0, "North": 392.0, "South": 185.4}, totals
assert list(totals.index) == ["East", "North", "South"]
""",
        rules=(NoLoops(), Calls("groupby")),
    ),
    EditTask(
        id="idiom-str-accessor",
        kind="pandas-idiom",
        instruction="use the .str accessor instead of apply",
        notebook="""
# %%
import pandas as pd

customers = pd.DataFrame(
    {
        "name": ["Ana", "Ben", "Chloé", "Dev"],
        "email": ["ana@Example.org", "ben@mail.net", "chloe@EXAMPLE.org", "dev@uni.edu"],
    }
)

# %%
customers["domain"] = customers["email"].apply(lambda e: e.split("@")[1].lower())
customers["domain"].value_counts()
""",
        active=1,
        selection=(
            'customers["domain"] = customers["email"].apply(lambda e: e.split("@")[1].lower())'
        ),
        reference='customers["domain"] = customers["email"].str.split("@").str[1].str.lower()',
        check="""
assert customers["domain"].tolist() == ["example.org", "mail.net", "example.org", "uni.edu"]
""",
        rules=(NoCalls(("apply", "map")), NoLoops()),
    ),
    EditTask(
        id="idiom-method-chain",
        kind="pandas-idiom",
        instruction="rewrite this as a single method chain that assigns result",
        notebook="""
# %%
import numpy as np
import pandas as pd

raw = pd.DataFrame(
    {
        "deal": ["A", "B", "C", "D", "E", "F"],
        "amount": [12500.0, np.nan, -300.0, 48000.0, 7200.0, 0.0],
    }
)

# %%
df = raw.dropna(subset=["amount"])
df = df[df["amount"] > 0]
df = df.assign(amount_k=df["amount"] / 1000)
result = df.sort_values("amount_k", ascending=False)
result
""",
        active=1,
        selection="""df = raw.dropna(subset=["amount"])
df = df[df["amount"] > 0]
df = df.assign(amount_k=df["amount"] / 1000)
result = df.sort_values("amount_k", ascending=False)""",
        reference="""result = (
    raw.dropna(subset=["amount"])
    .query("amount > 0")
    .assign(amount_k=lambda d: d["amount"] / 1000)
    .sort_values("amount_k", ascending=False)
)""",
        check="""
assert result["deal"].tolist() == ["D", "A", "E"], result
assert result["amount_k"].tolist() == [48.0, 12.5, 7.2]
""",
        rules=(MaxStatements(2),),
    ),
    EditTask(
        id="idiom-loc-assignment",
        kind="pandas-idiom",
        instruction="this assignment has no effect: use .loc",
        notebook="""
# %%
import pandas as pd

orders = pd.DataFrame(
    {"order_id": [101, 102, 103, 104, 105], "amount": [250.0, 1800.0, 90.0, 1250.0, 640.0]}
)
orders["priority"] = "normal"

# %%
orders[orders["amount"] > 1000]["priority"] = "high"
orders["priority"].value_counts()
""",
        active=1,
        selection='orders[orders["amount"] > 1000]["priority"] = "high"',
        reference='orders.loc[orders["amount"] > 1000, "priority"] = "high"',
        check="""
assert len(orders) == 5 and orders["order_id"].tolist() == [101, 102, 103, 104, 105]
""",
        changed="""
assert orders["priority"].tolist() == ["normal", "high", "normal", "high", "normal"], orders
""",
        rules=(NoChainedAssignment(),),
    ),
)
