"""Rewrites that keep the behaviour: comprehensions, renames, f-strings,
pathlib, with-statements. The check pins the old results; the rules read the
new form from the edited cell."""

from __future__ import annotations

from ..core import EditTask
from ..rules import (
    Calls,
    HasName,
    NoAttribute,
    NoCalls,
    NoLoops,
    NoName,
    NoOldFormatting,
    OpenInWith,
    Uses,
)

NOTES_TXT = """\
Standup 2024-05-14
TODO: rerun the churn model with the March data
- dashboards are green
TODO: ask finance for the Q1 refunds export
TODO: archive the 2022 experiments
"""

TASKS = (
    EditTask(
        id="comprehension-dict",
        kind="comprehension",
        instruction="use a dict comprehension",
        notebook="""
# %%
prices = {"apple": 0.5, "banana": 0.25, "cherry": 3.0, "date": 4.5}

# %%
discounted = {}
for fruit, price in prices.items():
    if price > 1:
        discounted[fruit] = round(price * 0.9, 2)
discounted
""",
        active=1,
        selection="""discounted = {}
for fruit, price in prices.items():
    if price > 1:
        discounted[fruit] = round(price * 0.9, 2)""",
        reference=(
            "discounted = {fruit: round(price * 0.9, 2) for fruit, price in prices.items()"
            " if price > 1}"
        ),
        check="""
assert discounted == {"cherry": 2.7, "date": 4.05}, discounted
""",
        rules=(Uses("DictComp"), NoLoops(comprehensions=False)),
    ),
    EditTask(
        id="comprehension-list",
        kind="comprehension",
        instruction="use a list comprehension",
        notebook='''
# %%
def clean_tags(raw):
    """The comma-separated tags of a post, stripped and lowercased, no empty ones."""
    tags = []
    for t in raw.split(","):
        t = t.strip().lower()
        if t:
            tags.append(t)
    return tags


clean_tags(" Pandas, numpy,,SciPy ")
''',
        active=0,
        selection="""    tags = []
    for t in raw.split(","):
        t = t.strip().lower()
        if t:
            tags.append(t)
    return tags""",
        reference='    return [t.strip().lower() for t in raw.split(",") if t.strip()]',
        check="""
assert clean_tags(" Pandas, numpy,,SciPy ") == ["pandas", "numpy", "scipy"]
assert clean_tags("") == [] and clean_tags("A, ,b") == ["a", "b"]
""",
        rules=(Uses("ListComp"), NoLoops(comprehensions=False)),
    ),
    EditTask(
        id="comprehension-set",
        kind="comprehension",
        instruction="rewrite as a set comprehension",
        notebook="""
# %%
signups = [
    "ana@Example.org", "ben@mail.net", "chloe@example.org", "dev@uni.edu", "eve@MAIL.net",
]

# %%
domains = set()
for address in signups:
    domains.add(address.split("@")[1].lower())
sorted(domains)
""",
        active=1,
        selection="""domains = set()
for address in signups:
    domains.add(address.split("@")[1].lower())""",
        reference='domains = {address.split("@")[1].lower() for address in signups}',
        check="""
assert domains == {"example.org", "mail.net", "uni.edu"}, domains
""",
        rules=(Uses("SetComp"), NoLoops(comprehensions=False)),
    ),
    EditTask(
        id="rename-local-variable",
        kind="rename",
        instruction="rename x to total",
        notebook='''
# %%
def basket_value(items):
    """Sum of price * quantity over (price, quantity) pairs."""
    x = 0
    for price, qty in items:
        x += price * qty
    return x


value = basket_value([(2.5, 4), (1.2, 10), (15.0, 1)])
value
''',
        active=0,
        selection=None,
        reference='''def basket_value(items):
    """Sum of price * quantity over (price, quantity) pairs."""
    total = 0
    for price, qty in items:
        total += price * qty
    return total


value = basket_value([(2.5, 4), (1.2, 10), (15.0, 1)])
value''',
        check="""
assert value == 37.0, value
assert basket_value([]) == 0
""",
        rules=(NoName("x"), HasName("total")),
    ),
    EditTask(
        id="rename-temporary",
        kind="rename",
        instruction="rename tmp to monthly_totals",
        notebook="""
# %%
import pandas as pd

sales = pd.DataFrame(
    {
        "month": ["2024-03", "2024-01", "2024-02", "2024-03", "2024-01", "2024-02"],
        "amount": [310.0, 120.0, 95.5, 80.0, 240.0, 400.0],
    }
)

# %%
tmp = sales.groupby("month")["amount"].sum()
tmp = tmp.sort_index()
best_month = tmp.idxmax()

# %%
print("Best month:", best_month)
""",
        active=1,
        selection=None,
        reference="""monthly_totals = sales.groupby("month")["amount"].sum()
monthly_totals = monthly_totals.sort_index()
best_month = monthly_totals.idxmax()""",
        check="""
assert best_month == "2024-02", best_month
""",
        changed="""
assert monthly_totals.to_dict() == {"2024-01": 360.0, "2024-02": 495.5, "2024-03": 390.0}
assert "tmp" not in globals()
""",
        rules=(NoName("tmp"),),
    ),
    EditTask(
        id="rename-parameter",
        kind="rename",
        instruction="rename the parameter d to frame",
        notebook='''
# %%
import pandas as pd


def add_margin(d, pct):
    """A copy of the price list with a sale price ``pct`` above cost."""
    out = d.copy()
    out["sale_price"] = (out["cost"] * (1 + pct)).round(2)
    return out

# %%
price_list = pd.DataFrame({"item": ["bolt", "nut", "washer"], "cost": [0.12, 0.05, 0.02]})
priced = add_margin(price_list, 0.4)
priced
''',
        active=0,
        selection='''def add_margin(d, pct):
    """A copy of the price list with a sale price ``pct`` above cost."""
    out = d.copy()''',
        reference='''def add_margin(frame, pct):
    """A copy of the price list with a sale price ``pct`` above cost."""
    out = frame.copy()''',
        check="""
assert priced["sale_price"].tolist() == [0.17, 0.07, 0.03], priced
assert "sale_price" not in price_list.columns
""",
        changed="""
assert add_margin(frame=price_list, pct=1.0)["sale_price"].tolist() == [0.24, 0.1, 0.04]
""",
        rules=(NoName("d"), HasName("frame")),
    ),
    EditTask(
        id="style-f-strings",
        kind="style",
        instruction="use f-strings",
        notebook="""
# %%
revenue = 18234.5
n_orders = 412
period = "2024-Q1"

# %%
report = "Revenue: %.2f EUR from %d orders (%s)" % (revenue, n_orders, period)
average = "Average order: {:.1f} EUR".format(revenue / n_orders)
print(report)
print(average)
""",
        active=1,
        selection="""report = "Revenue: %.2f EUR from %d orders (%s)" % (revenue, n_orders, period)
average = "Average order: {:.1f} EUR".format(revenue / n_orders)""",
        reference="""report = f"Revenue: {revenue:.2f} EUR from {n_orders} orders ({period})"
average = f"Average order: {revenue / n_orders:.1f} EUR\"""",
        check="""
assert report == "Revenue: 18234.50 EUR from 412 orders (2024-Q1)", report
assert average == "Average order: 44.3 EUR", average
""",
        rules=(NoOldFormatting(), Uses("JoinedStr")),
    ),
    EditTask(
        id="style-pathlib",
        kind="style",
        instruction="use pathlib instead of os and os.path",
        files={
            "exports/orders_2024-01.csv": "order_id,amount\n1,10.5\n",
            "exports/orders_2024-02.csv": "order_id,amount\n2,20.0\n3,7.25\n",
            "exports/README.txt": "CSV exports of the shop, one per month.\n",
        },
        notebook="""
# %%
import os

EXPORT_DIR = "exports"

# %%
csv_files = sorted(f for f in os.listdir(EXPORT_DIR) if f.endswith(".csv"))
sizes = {f: os.path.getsize(os.path.join(EXPORT_DIR, f)) for f in csv_files}
sizes
""",
        active=1,
        selection="""csv_files = sorted(f for f in os.listdir(EXPORT_DIR) if f.endswith(".csv"))
sizes = {f: os.path.getsize(os.path.join(EXPORT_DIR, f)) for f in csv_files}""",
        reference="""from pathlib import Path

csv_files = sorted(p.name for p in Path(EXPORT_DIR).glob("*.csv"))
sizes = {name: (Path(EXPORT_DIR) / name).stat().st_size for name in csv_files}""",
        check="""
names = [getattr(f, "name", f) for f in csv_files]
assert names == ["orders_2024-01.csv", "orders_2024-02.csv"], csv_files
assert {getattr(k, "name", k): v for k, v in sizes.items()} == {
    "orders_2024-01.csv": 23, "orders_2024-02.csv": 30
}, sizes
""",
        rules=(NoAttribute("os.path"), NoCalls(("listdir",)), Calls("Path")),
    ),
    EditTask(
        id="style-with-open",
        kind="style",
        instruction="use a with statement",
        files={"standup_notes.txt": NOTES_TXT},
        notebook="""
# %%
f = open("standup_notes.txt", encoding="utf-8")
lines = f.read().splitlines()
f.close()
todos = [line.removeprefix("TODO: ") for line in lines if line.startswith("TODO: ")]
todos
""",
        active=0,
        selection="""f = open("standup_notes.txt", encoding="utf-8")
lines = f.read().splitlines()
f.close()""",
        reference="""with open("standup_notes.txt", encoding="utf-8") as f:
    lines = f.read().splitlines()""",
        check="""
assert todos == [
    "rerun the churn model with the March data",
    "ask finance for the Q1 refunds export",
    "archive the 2022 experiments",
], todos
""",
        rules=(OpenInWith(),),
    ),
)
