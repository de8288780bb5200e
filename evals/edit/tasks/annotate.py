"""Type hints and docstrings: the code must behave as before; the rules read
the annotations and the docstring from the edited cell."""

from __future__ import annotations

from ..core import EditTask
from ..rules import Annotated, Docstring

TASKS = (
    EditTask(
        id="type-hints-moving-average",
        kind="type-hints",
        instruction="add type hints",
        notebook="""
# %%
import numpy as np


def moving_average(values, window):
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


smoothed = moving_average(np.array([3.0, 5.0, 4.0, 6.0, 8.0, 7.0]), 3)
""",
        active=0,
        selection="def moving_average(values, window):",
        reference="def moving_average(values: np.ndarray, window: int) -> np.ndarray:",
        check="""
assert np.allclose(smoothed, [4.0, 5.0, 6.0, 7.0]), smoothed
""",
        rules=(Annotated("moving_average"),),
    ),
    EditTask(
        id="type-hints-optional-default",
        kind="type-hints",
        instruction="add type hints to this function",
        notebook="""
# %%
def summarize(scores, passing=50, label=None):
    passed = [s for s in scores if s >= passing]
    return {
        "label": label or "all",
        "n": len(scores),
        "pass_rate": len(passed) / len(scores),
    }

# %%
summary = summarize([45, 72, 88, 50, 39, 91], label="group A")
summary
""",
        active=0,
        selection=None,
        reference="""def summarize(
    scores: list[float], passing: float = 50, label: str | None = None
) -> dict[str, object]:
    passed = [s for s in scores if s >= passing]
    return {
        "label": label or "all",
        "n": len(scores),
        "pass_rate": len(passed) / len(scores),
    }""",
        check="""
assert summary == {"label": "group A", "n": 6, "pass_rate": 4 / 6}, summary
assert summarize([10, 20], passing=15)["pass_rate"] == 0.5
""",
        rules=(Annotated("summarize"),),
    ),
    EditTask(
        id="type-hints-two-functions",
        kind="type-hints",
        instruction="add type hints to both functions",
        notebook='''
# %%
import re


def parse_duration(text):
    """Minutes in a duration such as '1h 25m', '40m' or '2h'."""
    hours = re.search(r"(\\d+)h", text)
    minutes = re.search(r"(\\d+)m", text)
    return (int(hours.group(1)) * 60 if hours else 0) + (int(minutes.group(1)) if minutes else 0)


def total_minutes(durations):
    return sum(parse_duration(d) for d in durations)

# %%
logged = ["1h 25m", "40m", "2h", "15m"]
total = total_minutes(logged)
total
''',
        active=0,
        selection=None,
        reference='''import re


def parse_duration(text: str) -> int:
    """Minutes in a duration such as '1h 25m', '40m' or '2h'."""
    hours = re.search(r"(\\d+)h", text)
    minutes = re.search(r"(\\d+)m", text)
    return (int(hours.group(1)) * 60 if hours else 0) + (int(minutes.group(1)) if minutes else 0)


def total_minutes(durations: list[str]) -> int:
    return sum(parse_duration(d) for d in durations)''',
        check="""
assert total == 260, total
assert parse_duration("40m") == 40 and parse_duration("2h") == 120
""",
        rules=(Annotated("parse_duration"), Annotated("total_minutes")),
    ),
    EditTask(
        id="docstring-churn-rate",
        kind="docstring",
        instruction="add a docstring",
        notebook="""
# %%
import pandas as pd

subs = pd.DataFrame(
    {
        "customer": ["a", "b", "c", "d", "e", "f"],
        "started": pd.to_datetime(
            ["2023-11-02", "2023-12-15", "2024-01-03", "2024-01-20", "2024-02-01", "2024-02-11"]
        ),
        "cancelled": pd.to_datetime(
            [None, "2024-02-10", None, "2024-02-25", None, "2024-03-30"]
        ),
    }
)

# %%
def churn_rate(df, start, end):
    active = df[(df["started"] < start) & (df["cancelled"].isna() | (df["cancelled"] >= start))]
    churned = active[active["cancelled"].between(start, end)]
    return len(churned) / len(active) if len(active) else 0.0


feb = churn_rate(subs, pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-29"))
feb
""",
        active=1,
        selection="""def churn_rate(df, start, end):
""",
        reference='''def churn_rate(df, start, end):
    """Share of the subscriptions active at ``start`` that were cancelled
    between ``start`` and ``end`` (both included); 0.0 if none was active."""
''',
        check="""
assert feb == 0.5, feb
""",
        rules=(Docstring("churn_rate"),),
    ),
    EditTask(
        id="docstring-numpy-style",
        kind="docstring",
        instruction="add a numpy-style docstring with Parameters and Returns sections",
        notebook="""
# %%
import numpy as np


def winsorize(values, lower=5, upper=95):
    lo, hi = np.percentile(values, [lower, upper])
    return np.clip(values, lo, hi)


clipped = winsorize(np.arange(101.0))
""",
        active=0,
        selection=None,
        reference='''import numpy as np


def winsorize(values, lower=5, upper=95):
    """Clip values to their percentiles.

    Parameters
    ----------
    values : array_like
        The data.
    lower, upper : float
        The percentiles (0-100) below and above which values are clipped.

    Returns
    -------
    numpy.ndarray
        The values, clipped to the ``lower`` and ``upper`` percentiles.
    """
    lo, hi = np.percentile(values, [lower, upper])
    return np.clip(values, lo, hi)


clipped = winsorize(np.arange(101.0))''',
        check="""
assert clipped.min() == 5.0 and clipped.max() == 95.0 and len(clipped) == 101
""",
        rules=(Docstring("winsorize", ("Parameters", "Returns")),),
    ),
)
