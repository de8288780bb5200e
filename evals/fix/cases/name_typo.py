"""Typos of names defined in earlier cells: a helper, a variable, a constant,
a dataclass field; sometimes the typo is inside the earlier cell's helper and
only shows when a later cell calls it."""

from __future__ import annotations

from ..core import FixCase, Patch

USERS_CSV = """\
user_id,plan,signup,last_seen
u01,free,2024-01-03,2024-01-05
u02,pro,2024-01-04,2024-05-20
u03,free,2024-01-09,2024-03-01
u04,team,2024-01-11,2024-06-02
u05,free,2024-01-15,2024-01-15
u06,pro,2024-01-18,2024-02-10
u07,free,2024-01-22,2024-04-30
u08,team,2024-01-25,2024-02-28
u09,pro,2024-02-01,2024-06-01
u10,free,2024-02-03,2024-02-20
u11,free,2024-02-07,2024-03-15
u12,pro,2024-02-12,2024-02-13
"""

CASES = (
    FixCase(
        id="typo-helper-call",
        error_class="name-typo",
        summary="a call misspells the helper defined a cell earlier",
        files={"users.csv": USERS_CSV},
        notebook='''
# %% [markdown]
# # Retention of the January–February signups

# %%
import pandas as pd

users = pd.read_csv("users.csv", parse_dates=["signup", "last_seen"])

# %%
def retention_rate(df, days):
    """Share of users still seen `days` days or more after signing up."""
    kept = (df["last_seen"] - df["signup"]).dt.days >= days
    return kept.mean()

# %%
rate_30 = retension_rate(users, 30)
rate_90 = retention_rate(users, 90)
print(f"30-day retention {rate_30:.0%}, 90-day retention {rate_90:.0%}")
''',
        failing_cell=3,
        ename="NameError",
        root_cause=(3,),
        fix=(Patch(3, "rate_30 = retension_rate(", "rate_30 = retention_rate("),),
        check="""
assert abs(rate_30 - 7 / 12) < 1e-9, rate_30
assert abs(rate_90 - 4 / 12) < 1e-9, rate_90
""",
    ),
    FixCase(
        id="typo-inside-helper",
        error_class="name-typo",
        summary="the helper returns a misspelt local; the NameError shows where it is called",
        notebook='''
# %%
import pandas as pd

orders = pd.DataFrame(
    {
        "order_id": range(1, 11),
        "region": ["North", "South", "East", "North", "West",
                   "East", "South", "North", "East", "West"],
        "amount": [120.0, 85.5, 230.0, 64.0, 99.9, 150.0, 42.0, 310.0, 18.5, 77.0],
    }
)

# %%
def top_regions(frame, n=3):
    """The n regions with the largest total order amount."""
    totals = frame.groupby("region")["amount"].sum()
    return totl.sort_values(ascending=False).head(n)

# %%
top = top_regions(orders)
top
''',
        failing_cell=2,
        ename="NameError",
        root_cause=(1,),
        fix=(Patch(1, "return totl.sort_values(", "return totals.sort_values("),),
        check="""
assert top.index.tolist() == ["North", "East", "West"], top
assert top.round(2).tolist() == [494.0, 398.5, 176.9]
assert top_regions(orders, n=4).index[-1] == "South"
""",
    ),
    FixCase(
        id="typo-earlier-variable",
        error_class="name-typo",
        summary="the rates dict is exchange_rates; the code says exchange_rate",
        notebook="""
# %%
import pandas as pd

# EUR per unit of each currency, 2024-03-28
exchange_rates = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}

# %%
tx = pd.DataFrame(
    {
        "tx_id": [1, 2, 3, 4, 5, 6],
        "amount": [100.0, 250.0, 80.0, 40.0, 1200.0, 15.0],
        "currency": ["EUR", "USD", "GBP", "USD", "EUR", "GBP"],
    }
)

# %%
tx["amount_eur"] = tx["amount"] * tx["currency"].map(exchange_rate)
total_eur = tx["amount_eur"].sum()
round(total_eur, 2)
""",
        failing_cell=2,
        ename="NameError",
        root_cause=(2,),
        fix=(Patch(2, ".map(exchange_rate)", ".map(exchange_rates)"),),
        check="""
assert tx["amount_eur"].round(2).tolist() == [100.0, 230.0, 93.6, 36.8, 1200.0, 17.55]
assert round(float(total_eur), 2) == 1677.95, total_eur
""",
    ),
    FixCase(
        id="typo-constant-in-function",
        error_class="name-typo",
        summary="a helper uses THRESHOLD_PC; the constant a cell earlier is THRESHOLD_PCT",
        notebook='''
# %%
import pandas as pd

THRESHOLD_PCT = 0.15  # a daily move larger than this is a jump
prices = pd.Series(
    [20.0, 20.4, 20.1, 24.0, 23.8, 23.9, 19.5, 19.7, 19.6, 23.0],
    index=pd.date_range("2024-03-01", periods=10, freq="D"),
)

# %%
def flag_jumps(series):
    """True on the days whose relative change exceeds the threshold."""
    return series.pct_change().abs() > THRESHOLD_PC

# %%
jumps = flag_jumps(prices)
jump_days = [d.strftime("%Y-%m-%d") for d in prices.index[jumps]]
jump_days
''',
        failing_cell=2,
        ename="NameError",
        root_cause=(1,),
        fix=(Patch(1, "> THRESHOLD_PC", "> THRESHOLD_PCT"),),
        check="""
assert jump_days == ["2024-03-04", "2024-03-07", "2024-03-10"], jump_days
assert int(jumps.sum()) == 3
""",
    ),
    FixCase(
        id="typo-dataclass-field",
        error_class="name-typo",
        summary="the training loop reads cfg.learn_rate; the dataclass field is learning_rate",
        notebook='''
# %%
from dataclasses import dataclass

import numpy as np


@dataclass
class TrainConfig:
    learning_rate: float = 0.05
    n_epochs: int = 40


cfg = TrainConfig(learning_rate=0.01, n_epochs=30)

# %%
rng = np.random.default_rng(0)
X = np.c_[np.ones(50), rng.uniform(0, 10, 50)]
y = X @ np.array([2.0, 0.7]) + rng.normal(0, 0.5, 50)

# %%
def train(X, y, cfg):
    """Linear regression by batch gradient descent; returns weights and losses."""
    w = np.zeros(X.shape[1])
    losses = []
    for _ in range(cfg.n_epochs):
        grad = 2 / len(y) * X.T @ (X @ w - y)
        w -= cfg.learn_rate * grad
        losses.append(float(np.mean((X @ w - y) ** 2)))
    return w, losses

# %%
w, losses = train(X, y, cfg)
print(w, losses[-1])
''',
        failing_cell=3,
        ename="AttributeError",
        root_cause=(2,),
        fix=(Patch(2, "cfg.learn_rate", "cfg.learning_rate"),),
        check="""
w_ref = np.zeros(2)
for _ in range(30):  # the loop with learning rate 0.01
    w_ref -= 0.01 * 2 / len(y) * X.T @ (X @ w_ref - y)
assert len(losses) == 30 and losses[0] > losses[-1]
assert np.allclose(w, w_ref), (w, w_ref)
""",
    ),
)
