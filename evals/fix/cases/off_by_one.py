"""Indices and ranges one off: a loop that reads one past the end, ``iloc`` at
``len``, months 1-12 used as list indices, one label per bin edge."""

from __future__ import annotations

from ..core import FixCase, Patch

CASES = (
    FixCase(
        id="off-by-one-returns-loop",
        error_class="off-by-one",
        summary="the loop over consecutive pairs runs one step too far",
        notebook="""
# %%
import numpy as np

# weekly closing prices of the fund, oldest first
closes = [184.2, 187.9, 183.1, 190.4, 195.0, 192.3, 198.6, 201.2]

# %%
weekly_returns = []
for i in range(len(closes)):
    weekly_returns.append(closes[i + 1] / closes[i] - 1)

volatility = float(np.std(weekly_returns, ddof=1))
print(f"mean {np.mean(weekly_returns):.2%}, volatility {volatility:.2%}")
""",
        failing_cell=1,
        ename="IndexError",
        root_cause=(1,),
        fix=(Patch(1, "range(len(closes))", "range(len(closes) - 1)"),),
        check="""
assert len(weekly_returns) == 7, len(weekly_returns)
assert np.allclose(
    weekly_returns, [0.0201, -0.0255, 0.0399, 0.0242, -0.0138, 0.0328, 0.0131], atol=1e-4
)
assert abs(volatility - 0.02413) < 1e-5, volatility
""",
    ),
    FixCase(
        id="off-by-one-iloc-len",
        error_class="off-by-one",
        summary="the last row is iloc[-1], not iloc[len]; the row before it is off by one too",
        notebook="""
# %%
import pandas as pd

snapshots = pd.DataFrame(
    {
        "date": pd.to_datetime(["2024-06-03", "2024-06-10", "2024-06-17", "2024-06-24"]),
        "active_users": [15120, 15480, 15310, 16090],
        "paying_users": [1210, 1262, 1259, 1344],
    }
)

# %%
latest = snapshots.iloc[len(snapshots)]
previous = snapshots.iloc[len(snapshots) - 1]
growth = latest["paying_users"] / previous["paying_users"] - 1
print(f"{latest['date']:%d %b}: {growth:+.1%} paying users week on week")
""",
        failing_cell=1,
        ename="IndexError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                "latest = snapshots.iloc[len(snapshots)]\n"
                "previous = snapshots.iloc[len(snapshots) - 1]",
                "latest = snapshots.iloc[-1]\nprevious = snapshots.iloc[-2]",
            ),
        ),
        check="""
assert str(latest["date"].date()) == "2024-06-24" and str(previous["date"].date()) == "2024-06-17"
assert abs(growth - (1344 / 1259 - 1)) < 1e-12, growth
""",
    ),
    FixCase(
        id="off-by-one-month-names",
        error_class="off-by-one",
        summary="a helper indexes a 12-name list by the month number 1-12",
        notebook='''
# %%
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def month_label(month):
    """The three-letter name of a month number."""
    return MONTH_ABBR[month]

# %%
import pandas as pd

deals = pd.DataFrame(
    {
        "closed": pd.to_datetime(
            ["2024-01-15", "2024-02-03", "2024-04-22", "2024-06-30",
             "2024-09-09", "2024-11-18", "2024-12-02", "2024-12-20"]
        ),
        "amount": [1200, 950, 1430, 880, 1610, 2040, 2890, 3125],
    }
)

# %%
deals["month"] = deals["closed"].dt.month.map(month_label)
by_month = deals.groupby("month", sort=False)["amount"].sum()
by_month
''',
        failing_cell=2,
        ename="IndexError",
        root_cause=(0,),
        fix=(Patch(0, "return MONTH_ABBR[month]", "return MONTH_ABBR[month - 1]"),),
        check="""
assert deals["month"].tolist() == ["Jan", "Feb", "Apr", "Jun", "Sep", "Nov", "Dec", "Dec"]
assert by_month.to_dict() == {
    "Jan": 1200, "Feb": 950, "Apr": 1430, "Jun": 880, "Sep": 1610, "Nov": 2040, "Dec": 6015
}, by_month.to_dict()
""",
    ),
    FixCase(
        id="off-by-one-bin-labels",
        error_class="off-by-one",
        summary="one label per bin edge; pd.cut needs one fewer",
        notebook="""
# %%
EDGES = [0, 20, 40, 60, 80, 100]
BAND_LABELS = [f"up to {hi}" for hi in EDGES]

# %%
import pandas as pd

scores = pd.Series(
    [0, 12, 19, 20, 35, 41, 47, 55, 58, 60, 63, 68, 72, 77, 81, 85, 90, 94, 99, 100],
    name="score",
)

# %%
bands = pd.cut(scores, bins=EDGES, labels=BAND_LABELS, include_lowest=True)
band_counts = bands.value_counts().sort_index()
band_counts
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(0,),
        fix=(Patch(0, "for hi in EDGES]", "for hi in EDGES[1:]]"),),
        check="""
assert band_counts.to_dict() == {
    "up to 20": 4, "up to 40": 1, "up to 60": 5, "up to 80": 4, "up to 100": 6
}, band_counts.to_dict()
assert bands.isna().sum() == 0
""",
    ),
)
