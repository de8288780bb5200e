"""Filters that select nothing, so that a later step fails on an empty frame:
a city name where the data has codes, labels padded with spaces, a status
name the data does not use, a lookup keyed by the wrong country codes."""

from __future__ import annotations

from ..core import FixCase, Patch

STORES_CSV = """\
store_id,city,opened,revenue_k
S01,BER,2015,1840
S02,MUC,2016,2210
S03,BER,2018,1325
S04,HAM,2019,990
S05,BER,2021,2460
S06,MUC,2022,780
S07,HAM,2023,1105
"""

CUSTOMERS_CSV = """\
customer_id,name,tier,spend
C001,Alder Ltd,Premium ,4200
C002,Birch & Co,Basic ,310
C003,Cedar GmbH,Premium ,3880
C004,Dogwood SA,Basic ,450
C005,Elm Oy,Basic ,290
C006,Fir AB,Premium ,5110
C007,Gum Pty,Basic ,180
"""

TICKETS_CSV = """\
ticket_id,status,priority,hours_to_close
T-101,resolved,high,4.5
T-102,open,low,
T-103,resolved,low,30.0
T-104,in_progress,medium,
T-105,resolved,medium,12.0
T-106,resolved,high,2.0
T-107,open,high,
T-108,resolved,low,48.0
T-109,resolved,medium,9.5
"""

ACCOUNTS_CSV = """\
account,country,arr_k
Abacus,DEU,120
Bellweather,USA,340
Corvid,FRA,95
Dunmore,CAN,60
Estrella,ITA,210
Fennec,DEU,180
Galloway,USA,75
"""

CASES = (
    FixCase(
        id="empty-filter-city-code",
        error_class="empty-filter",
        summary="the stores table has city codes (BER), the filter says Berlin",
        files={"stores.csv": STORES_CSV},
        live_only=("BER",),
        notebook="""
# %%
import pandas as pd

stores = pd.read_csv("stores.csv")

# %% [markdown]
# ## Berlin: which store earns most?

# %%
berlin = stores[stores["city"] == "Berlin"]
flagship = berlin.loc[berlin["revenue_k"].idxmax(), "store_id"]
print(f"{len(berlin)} stores in Berlin; the flagship is {flagship}")
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(2,),
        fix=(Patch(2, 'stores["city"] == "Berlin"', 'stores["city"] == "BER"'),),
        check="""
assert len(berlin) == 3 and int(berlin["revenue_k"].sum()) == 5625, berlin
assert flagship == "S05", flagship
""",
    ),
    FixCase(
        id="empty-filter-padded-labels",
        error_class="empty-filter",
        summary="the tier labels end with a space; the cleaning cell lowercases but never strips",
        files={"customers.csv": CUSTOMERS_CSV},
        notebook="""
# %%
import pandas as pd

customers = pd.read_csv("customers.csv")

# %%
# normalise the tier labels
customers["tier"] = customers["tier"].str.lower()
customers["tier"].value_counts()

# %%
premium = customers[customers["tier"] == "premium"]
avg_premium_spend = round(premium["spend"].mean())
print(f"{len(premium)} premium customers spend {avg_premium_spend} EUR on average")
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(1,),
        fix=(Patch(1, '["tier"].str.lower()', '["tier"].str.strip().str.lower()'),),
        check="""
assert sorted(customers["tier"].unique()) == ["basic", "premium"], customers["tier"].unique()
assert len(premium) == 3 and avg_premium_spend == 4397, (len(premium), avg_premium_spend)
""",
    ),
    FixCase(
        id="empty-filter-status-name",
        error_class="empty-filter",
        summary="closed tickets have the status resolved; the query asks for closed",
        files={"tickets.csv": TICKETS_CSV},
        live_only=("resolved",),
        notebook="""
# %%
import numpy as np
import pandas as pd

tickets = pd.read_csv("tickets.csv")

# %%
closed = tickets.query("status == 'closed'")
p90_hours = np.percentile(closed["hours_to_close"], 90)
median_hours = float(np.median(closed["hours_to_close"]))
print(f"90% of tickets close within {p90_hours:.0f} h (median {median_hours:.1f} h)")
""",
        failing_cell=1,
        ename="IndexError",
        root_cause=(1,),
        fix=(Patch(1, "status == 'closed'", "status == 'resolved'"),),
        check="""
assert len(closed) == 6, len(closed)
assert float(p90_hours) == 39.0 and median_hours == 10.75, (p90_hours, median_hours)
""",
    ),
    FixCase(
        id="empty-filter-country-codes",
        error_class="empty-filter",
        summary="the region lookup is keyed by two-letter codes; the CRM uses three-letter ones",
        files={"accounts.csv": ACCOUNTS_CSV},
        live_only=("DEU",),
        notebook="""
# %%
import pandas as pd

accounts = pd.read_csv("accounts.csv")

# %%
REGION = {"DE": "EMEA", "FR": "EMEA", "IT": "EMEA", "US": "AMER", "CA": "AMER"}
accounts["region"] = accounts["country"].map(REGION)
arr_by_region = accounts.groupby("region")["arr_k"].sum()

# %%
emea = accounts[accounts["region"] == "EMEA"]
top_emea = emea.loc[emea["arr_k"].idxmax(), "account"]
top_emea
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                '{"DE": "EMEA", "FR": "EMEA", "IT": "EMEA", "US": "AMER", "CA": "AMER"}',
                '{"DEU": "EMEA", "FRA": "EMEA", "ITA": "EMEA", "USA": "AMER", "CAN": "AMER"}',
            ),
        ),
        check="""
assert accounts["region"].notna().all(), accounts
assert arr_by_region.to_dict() == {"AMER": 475, "EMEA": 605}, arr_by_region.to_dict()
assert top_emea == "Estrella"
""",
    ),
)
