"""Edits that need the rest of the notebook or the live kernel: a helper
defined in another cell, a clean-up done to another frame, a column that only
the data shows. The peers' prompt (the selection and the instruction alone)
does not have what these need."""

from __future__ import annotations

from ..core import EditTask
from ..rules import Calls

SALES_2023_CSV = """\
Region,Amount
North,1200.0
South,
East,-40.0
North,860.5
South,990.0
"""

SALES_2024_CSV = """\
Region,Amount
North,1430.0
East,
South,1105.0
East,515.5
North,-25.0
South,0.0
"""

CHANNEL_SALES_CSV = """\
month,sales_channel,amount
2024-01,web,1200.0
2024-01,store,860.5
2024-02,web,990.0
2024-02,store,1010.0
2024-02,web,140.0
2024-03,store,720.0
2024-03,web,1530.0
"""

TASKS = (
    EditTask(
        id="context-use-helper",
        kind="use-context",
        instruction="use the to_eur helper",
        notebook='''
# %%
import pandas as pd

RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}


def to_eur(amounts, currencies):
    """Amounts (a Series) in EUR, by the currency codes (a Series) beside them."""
    return amounts * currencies.map(RATES)

# %%
tx = pd.DataFrame(
    {
        "amount": [100.0, 250.0, 80.0, 40.0, 1200.0, 15.0],
        "currency": ["EUR", "USD", "GBP", "USD", "EUR", "GBP"],
    }
)

# %%
tx["amount_eur"] = tx["amount"] * tx["currency"].map({"EUR": 1.0, "USD": 0.92, "GBP": 1.17})
tx["amount_eur"].sum()
''',
        active=2,
        selection=(
            'tx["amount_eur"] = tx["amount"] * tx["currency"].map('
            '{"EUR": 1.0, "USD": 0.92, "GBP": 1.17})'
        ),
        reference='tx["amount_eur"] = to_eur(tx["amount"], tx["currency"])',
        check="""
assert tx["amount_eur"].round(2).tolist() == [100.0, 230.0, 93.6, 36.8, 1200.0, 17.55]
""",
        rules=(Calls("to_eur"),),
    ),
    EditTask(
        id="context-same-cleaning",
        kind="use-context",
        instruction="clean it the same way as sales_2023",
        files={"sales_2023.csv": SALES_2023_CSV, "sales_2024.csv": SALES_2024_CSV},
        notebook="""
# %%
import pandas as pd

sales_2023 = pd.read_csv("sales_2023.csv")

# %%
# lowercase names, no missing or non-positive amounts
sales_2023 = sales_2023.rename(columns=str.lower).dropna(subset=["amount"]).query("amount > 0")
sales_2023.shape

# %%
sales_2024 = pd.read_csv("sales_2024.csv")
sales_2024.shape
""",
        active=2,
        selection=None,
        reference="""sales_2024 = (
    pd.read_csv("sales_2024.csv")
    .rename(columns=str.lower)
    .dropna(subset=["amount"])
    .query("amount > 0")
)
sales_2024.shape""",
        check="""
assert sales_2023.shape == (3, 2) and list(sales_2023.columns) == ["region", "amount"]
""",
        changed="""
assert list(sales_2024.columns) == ["region", "amount"], list(sales_2024.columns)
assert sales_2024["amount"].tolist() == [1430.0, 1105.0, 515.5], sales_2024
""",
    ),
    EditTask(
        id="context-live-column",
        kind="use-context",
        instruction="break this down by sales channel too",
        files={"channel_sales.csv": CHANNEL_SALES_CSV},
        live_only=("sales_channel",),
        notebook="""
# %%
import pandas as pd

df = pd.read_csv("channel_sales.csv")

# %%
monthly = df.groupby("month")["amount"].sum()
monthly
""",
        active=1,
        selection='monthly = df.groupby("month")["amount"].sum()',
        reference='monthly = df.groupby(["month", "sales_channel"])["amount"].sum()',
        check="""
assert len(df) == 7
""",
        changed="""
m = monthly.stack() if isinstance(monthly, pd.DataFrame) else monthly
assert sorted(m.index.names) == ["month", "sales_channel"], m.index.names
m = m.reorder_levels(["month", "sales_channel"]).dropna()
assert m.to_dict() == {
    ("2024-01", "store"): 860.5, ("2024-01", "web"): 1200.0,
    ("2024-02", "store"): 1010.0, ("2024-02", "web"): 1130.0,
    ("2024-03", "store"): 720.0, ("2024-03", "web"): 1530.0,
}, m.to_dict()
""",
    ),
)
