"""Error handling: the code keeps its results on good input (``check``) and
behaves as the instruction says on bad input (``changed``): a missing file,
no orders, unparseable values, a missing column."""

from __future__ import annotations

from ..core import EditTask

ORDERS_CSV = """\
order_id,customer,amount,note
1,C-17,89.9,
2,C-03,240.0,gift wrap
3,C-17,35.5,
"""

TASKS = (
    EditTask(
        id="error-missing-file",
        kind="error-handling",
        instruction=(
            "add error handling for a missing file: return an empty DataFrame with the same columns"
        ),
        files={"orders.csv": ORDERS_CSV},
        notebook='''
# %%
import pandas as pd

COLUMNS = ["order_id", "customer", "amount"]


def load_orders(path):
    """The orders export, only the columns we use."""
    return pd.read_csv(path, usecols=COLUMNS)


orders = load_orders("orders.csv")
orders.shape
''',
        active=0,
        selection="""    return pd.read_csv(path, usecols=COLUMNS)""",
        reference="""    try:
        return pd.read_csv(path, usecols=COLUMNS)
    except FileNotFoundError:
        return pd.DataFrame(columns=COLUMNS)""",
        check="""
assert orders.shape == (3, 3) and list(orders.columns) == COLUMNS, orders
""",
        changed="""
empty = load_orders("orders_2019.csv")
assert isinstance(empty, pd.DataFrame) and empty.empty, empty
assert list(empty.columns) == COLUMNS, list(empty.columns)
""",
    ),
    EditTask(
        id="error-no-orders",
        kind="error-handling",
        instruction="return None instead of failing when there are no orders",
        notebook='''
# %%
def average_order_value(revenue, n_orders):
    """Revenue per order."""
    return revenue / n_orders

# %%
aov = average_order_value(18234.5, 412)
round(aov, 2)
''',
        active=0,
        selection="""    return revenue / n_orders""",
        reference="""    if n_orders == 0:
        return None
    return revenue / n_orders""",
        check="""
assert round(aov, 2) == 44.26, aov
assert average_order_value(100.0, 4) == 25.0
""",
        changed="""
assert average_order_value(0.0, 0) is None
""",
    ),
    EditTask(
        id="error-skip-bad-values",
        kind="error-handling",
        instruction="skip lines whose amount is not a number (like 'n/a') instead of failing",
        notebook='''
# %%
def total_amount(lines):
    """Sum of the amounts of 'name;amount' lines."""
    total = 0.0
    for line in lines:
        total += float(line.split(";")[1])
    return total

# %%
week = ["rent;1200", "food;310.5", "transport;89.9"]
week_total = total_amount(week)
week_total
''',
        active=0,
        selection="""        total += float(line.split(";")[1])""",
        reference="""        try:
            total += float(line.split(";")[1])
        except ValueError:
            continue""",
        check="""
assert round(week_total, 2) == 1600.4, week_total
""",
        changed="""
assert total_amount(["a;1.5", "b;n/a", "c;2", "d;"]) == 3.5
""",
    ),
    EditTask(
        id="error-missing-column",
        kind="error-handling",
        instruction="raise a ValueError that names the column if the frame has no such column",
        notebook='''
# %%
import pandas as pd

sales = pd.DataFrame(
    {
        "region": ["North", "South", "North", "East"],
        "channel": ["web", "web", "store", "store"],
        "revenue": [1400.0, 2090.0, 855.0, 1666.0],
    }
)

# %%
def revenue_by(df, column):
    """Total revenue per value of ``column``."""
    return df.groupby(column)["revenue"].sum()


revenue_by(sales, "region")
''',
        active=1,
        selection='''    """Total revenue per value of ``column``."""
''',
        reference='''    """Total revenue per value of ``column``."""
    if column not in df.columns:
        raise ValueError(f"no column {column!r} in the frame")
''',
        check="""
assert revenue_by(sales, "region").to_dict() == {"East": 1666.0, "North": 2255.0, "South": 2090.0}
""",
        changed="""
try:
    revenue_by(sales, "country")
except ValueError as exc:
    assert "country" in str(exc), str(exc)
else:
    raise AssertionError("no ValueError for a missing column")
""",
    ),
)
