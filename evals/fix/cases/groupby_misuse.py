"""groupby and aggregation misuse: the mean of text columns, two keys passed
as two arguments, the MultiIndex columns of a list of aggregations, pivot on
a Series, an aggregate where a transform was meant."""

from __future__ import annotations

from ..core import FixCase, Patch

SALES = """
# %%
import pandas as pd

sales = pd.DataFrame(
    {
        "region": ["North", "North", "South", "South", "South", "East", "East", "North"],
        "rep": ["Kim", "Ola", "Ravi", "Ana", "Ravi", "Lea", "Lea", "Kim"],
        "channel": ["web", "store", "web", "web", "store", "store", "web", "web"],
        "units": [14, 9, 22, 5, 11, 17, 8, 6],
        "revenue": [1400.0, 855.0, 2090.0, 520.0, 1023.0, 1666.0, 792.0, 600.0],
    }
)
"""

CASES = (
    FixCase(
        id="groupby-mean-text-columns",
        error_class="groupby-misuse",
        summary="the mean of every column, text columns (rep, channel) included",
        notebook=SALES
        + """
# %%
per_region = sales.groupby("region").mean().round(2)
per_region
""",
        failing_cell=1,
        ename="TypeError",
        root_cause=(1,),
        fix=(Patch(1, 'groupby("region").mean()', 'groupby("region").mean(numeric_only=True)'),),
        check="""
assert per_region.loc["North", "units"] == 9.67, per_region
assert per_region.loc["North", "revenue"] == 951.67
assert per_region.loc["East", "revenue"] == 1229.0 and per_region.loc["South", "units"] == 12.67
""",
    ),
    FixCase(
        id="groupby-two-keys-positional",
        error_class="groupby-misuse",
        summary="two keys given as two arguments; the second is taken as level",
        notebook=SALES
        + """
# %% [markdown]
# Revenue per region and sales channel

# %%
by_channel = sales.groupby("region", "channel")["revenue"].sum()
web_share = by_channel.xs("web", level="channel") / sales.groupby("region")["revenue"].sum()
web_share.round(3)
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(2,),
        fix=(Patch(2, 'groupby("region", "channel")', 'groupby(["region", "channel"])'),),
        check="""
assert by_channel[("South", "web")] == 2610.0 and by_channel[("East", "store")] == 1666.0
assert web_share.round(3).to_dict() == {"East": 0.322, "North": 0.701, "South": 0.718}, web_share
""",
    ),
    FixCase(
        id="groupby-agg-list-columns",
        error_class="groupby-misuse",
        summary="a list of aggregations makes MultiIndex columns; later cells want flat names",
        notebook="""
# %%
import pandas as pd

weekly = pd.DataFrame(
    {
        "store": ["S1", "S1", "S1", "S2", "S2", "S2", "S3", "S3", "S3"],
        "week": [1, 2, 3] * 3,
        "sales": [210, 250, 190, 400, 380, 455, 95, 130, 110],
    }
)

# %%
stats = weekly.groupby("store").agg({"sales": ["mean", "max"]})

# %%
stats["spread"] = stats["sales_max"] - stats["sales_mean"]

# %%
steadiest = stats.sort_values("spread").index[0]
stats["sales_mean"].round(1)
""",
        failing_cell=2,
        ename="KeyError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                'agg({"sales": ["mean", "max"]})',
                'agg(sales_mean=("sales", "mean"), sales_max=("sales", "max"))',
            ),
        ),
        check="""
assert stats["spread"].round(2).to_dict() == {"S1": 33.33, "S2": 43.33, "S3": 18.33}, stats
assert stats["sales_max"].to_dict() == {"S1": 250, "S2": 455, "S3": 130}
assert steadiest == "S3"
""",
    ),
    FixCase(
        id="groupby-series-pivot",
        error_class="groupby-misuse",
        summary="a grouped sum is a Series with a MultiIndex: it has unstack, not pivot",
        notebook="""
# %%
import pandas as pd

units = pd.DataFrame(
    {
        "month": ["2024-01"] * 3 + ["2024-02"] * 3 + ["2024-03"] * 2,
        "region": ["North", "South", "East", "North", "South", "East", "North", "South"],
        "units": [120, 80, 60, 130, 95, 70, 125, 105],
    }
)

# %%
monthly = units.groupby(["month", "region"])["units"].sum()
table = monthly.pivot(index="month", columns="region", values="units")
table
""",
        failing_cell=1,
        ename="AttributeError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                'monthly.pivot(index="month", columns="region", values="units")',
                'monthly.unstack("region")',
            ),
        ),
        check="""
assert table.shape == (3, 3), table.shape
assert list(table.index) == ["2024-01", "2024-02", "2024-03"]
assert sorted(table.columns) == ["East", "North", "South"]
assert table.loc["2024-02", "South"] == 95 and pd.isna(table.loc["2024-03", "East"])
""",
    ),
    FixCase(
        id="groupby-agg-not-transform",
        error_class="groupby-misuse",
        summary="one mean per team (agg) where one per person (transform) was meant",
        notebook="""
# %%
import pandas as pd

timesheets = pd.DataFrame(
    {
        "name": ["Aino", "Bram", "Cleo", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun"],
        "team": ["data"] * 3 + ["ops"] * 4 + ["web"] * 3,
        "hours": [38, 45, 41, 50, 36, 44, 42, 39, 47, 40],
    }
)

# %%
# each person's team average, to compare people with their own team
team_avg = timesheets.groupby("team")["hours"].mean()

# %%
timesheets["above_team_avg"] = timesheets["hours"].to_numpy() > team_avg.to_numpy()
timesheets.loc[timesheets["above_team_avg"], "name"].tolist()
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(1,),
        fix=(Patch(1, '["hours"].mean()', '["hours"].transform("mean")'),),
        check="""
assert timesheets["above_team_avg"].tolist() == [
    False, True, False, True, False, True, False, False, True, False
], timesheets
""",
    ),
)
