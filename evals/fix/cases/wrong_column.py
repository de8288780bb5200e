"""Column names that only the data shows: a CSV header or JSON keys that the
code misnames; the live kernel's DataFrame shows the real ones."""

from __future__ import annotations

from ..core import FixCase, Patch

ORDERS_CSV = """\
order_id,Product,Qty,Price_USD,order_date
10231,Espresso beans 1kg,2,24.90,2024-07-02
10232,Filter papers x100,5,3.49,2024-07-02
10233,Grinder C40,1,259.00,2024-07-05
10234,Espresso beans 1kg,1,24.90,2024-07-09
10235,Milk jug 600ml,2,18.50,2024-07-14
10236,Filter papers x100,3,3.49,2024-07-21
10237,Espresso beans 1kg,4,24.90,2024-08-01
10238,Descaler 500ml,2,11.95,2024-08-03
10239,Milk jug 600ml,1,18.50,2024-08-11
10240,Grinder C40,1,259.00,2024-08-19
10241,Espresso beans 1kg,3,24.90,2024-09-02
10242,Descaler 500ml,1,11.95,2024-09-10
10243,Filter papers x100,10,3.49,2024-09-15
10244,Espresso beans 1kg,2,24.90,2024-09-28
"""

WETTER_CSV = """\
station;date;temp_c;precip_mm
Berlin-Tegel;2024-01-01;3,4;0,0
Berlin-Tegel;2024-01-02;1,8;2,6
Berlin-Tegel;2024-01-03;-0,6;4,1
Berlin-Tegel;2024-01-04;-2,3;0,0
Hamburg-Fuhlsbüttel;2024-01-01;4,9;1,2
Hamburg-Fuhlsbüttel;2024-01-02;3,7;6,8
Hamburg-Fuhlsbüttel;2024-01-03;2,2;3,3
Hamburg-Fuhlsbüttel;2024-01-04;0,4;0,5
München-Flughafen;2024-01-01;-1,9;0,0
München-Flughafen;2024-01-02;-4,2;0,3
München-Flughafen;2024-01-03;0,8;5,9
München-Flughafen;2024-01-04;2,5;7,4
"""

PATIENTS_CSV = """\
patient_id,sex,age,weight_kg,height_cm,smoker
P-0001,F,34,61.2,165,no
P-0002,M,52,94.5,178,yes
P-0003,F,45,78.0,160,no
P-0004,M,29,72.3,183,no
P-0005,F,61,88.9,158,yes
P-0006,M,38,101.4,175,no
P-0007,F,57,55.8,162,no
P-0008,M,66,83.0,171,yes
P-0009,F,23,49.5,155,no
P-0010,M,48,110.2,180,no
"""

REGIONAL_CSV = """\
Region ,Units ,Revenue
North,120,2400.0
South,85,1955.5
North,40,812.0
East,230,4370.0
West,65,1300.0
South,110,2530.0
East,15,300.0
West,90,1890.0
"""

INVENTORY_JSON = """\
[
  {"sku": "CB-1001", "desc": "Cable 2m", "unitCost": 1.85, "qtyOnHand": 420, "warehouse": "DUS"},
  {"sku": "CB-1002", "desc": "Cable 5m", "unitCost": 3.10, "qtyOnHand": 150, "warehouse": "DUS"},
  {"sku": "PS-2001", "desc": "Power supply 65W", "unitCost": 14.20, "qtyOnHand": 64,
   "warehouse": "HAM"},
  {"sku": "PS-2002", "desc": "Power supply 90W", "unitCost": 19.75, "qtyOnHand": 31,
   "warehouse": "HAM"},
  {"sku": "HB-3001", "desc": "Hub 4-port", "unitCost": 7.40, "qtyOnHand": 88, "warehouse": "DUS"},
  {"sku": "HB-3002", "desc": "Hub 7-port", "unitCost": 12.60, "qtyOnHand": 0, "warehouse": "MUC"},
  {"sku": "DK-4001", "desc": "Docking station", "unitCost": 61.00, "qtyOnHand": 12,
   "warehouse": "MUC"}
]
"""

CASES = (
    FixCase(
        id="wrong-column-price-usd",
        error_class="wrong-column",
        summary="the export's price column is Price_USD, the code says price",
        files={"orders_q3.csv": ORDERS_CSV},
        live_only=("Price_USD",),
        notebook="""
# %% [markdown]
# # Q3 orders
# Revenue per product from the shop's order export.

# %%
import pandas as pd

orders = pd.read_csv("orders_q3.csv")
orders.head()

# %%
orders["revenue"] = orders["Qty"] * orders["price"]
orders["revenue"].describe()

# %%
by_product = orders.groupby("Product")["revenue"].sum().sort_values(ascending=False)
by_product.head(3)
""",
        failing_cell=2,
        ename="KeyError",
        root_cause=(2,),
        fix=(Patch(2, 'orders["price"]', 'orders["Price_USD"]'),),
        check="""
assert round(float(orders["revenue"].sum()), 2) == 970.97, orders["revenue"].sum()
assert by_product.index[0] == "Grinder C40"
assert round(float(by_product["Espresso beans 1kg"]), 2) == 298.80
""",
    ),
    FixCase(
        id="wrong-column-semicolon-csv",
        error_class="wrong-column",
        summary="a German CSV (; and decimal commas) read with the defaults: one column",
        files={"wetter_jan.csv": WETTER_CSV},
        notebook="""
# %%
import pandas as pd

wx = pd.read_csv("wetter_jan.csv")
wx.shape

# %% [markdown]
# ## Mean temperature per station

# %%
mean_temp = wx.groupby("station")["temp_c"].mean().round(1)
mean_temp

# %%
wettest = wx.groupby("station")["precip_mm"].sum().idxmax()
wettest
""",
        failing_cell=2,
        ename="KeyError",
        root_cause=(0,),
        fix=(
            Patch(
                0,
                'pd.read_csv("wetter_jan.csv")',
                'pd.read_csv("wetter_jan.csv", sep=";", decimal=",")',
            ),
        ),
        check="""
assert wx.shape == (12, 4), wx.shape
assert mean_temp.to_dict() == {
    "Berlin-Tegel": 0.6, "Hamburg-Fuhlsbüttel": 2.8, "München-Flughafen": -0.7
}, mean_temp.to_dict()
assert wettest == "München-Flughafen"
""",
    ),
    FixCase(
        id="wrong-column-bmi-helper",
        error_class="wrong-column",
        summary="a helper written for height in metres; the data has height_cm",
        files={"cohort_a.csv": PATIENTS_CSV},
        live_only=("height_cm",),
        notebook='''
# %%
import numpy as np
import pandas as pd

patients = pd.read_csv("cohort_a.csv")

# %%
def add_bmi(df):
    """Add the body-mass index (kg/m²) as a column."""
    out = df.copy()
    out["bmi"] = out["weight_kg"] / out["height_m"] ** 2
    return out

# %%
patients = add_bmi(patients)
patients["bmi"].describe()

# %%
obese_share = (patients["bmi"] >= 30).mean()
print(f"{obese_share:.0%} of the cohort has a BMI of 30 or more")
''',
        failing_cell=2,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, 'out["height_m"] ** 2', '(out["height_cm"] / 100) ** 2'),),
        check="""
assert patients["bmi"].between(15, 45).all(), patients["bmi"].tolist()
assert round(float(patients["bmi"].mean()), 2) == 27.73, patients["bmi"].mean()
assert obese_share == 0.4
""",
    ),
    FixCase(
        id="wrong-column-trailing-spaces",
        error_class="wrong-column",
        summary="the spreadsheet export's headers end with a space",
        files={"regional_sales.csv": REGIONAL_CSV},
        notebook="""
# %%
import pandas as pd

sales = pd.read_csv("regional_sales.csv")
len(sales)

# %%
units = sales.groupby("Region")["Units"].sum().sort_values(ascending=False)
units

# %%
best_region = units.index[0]
print("Most units sold in", best_region)
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                'units = sales.groupby("Region")',
                'sales.columns = sales.columns.str.strip()\nunits = sales.groupby("Region")',
            ),
        ),
        check="""
assert units.to_dict() == {"East": 245, "South": 195, "North": 160, "West": 155}, units
assert best_region == "East"
""",
    ),
    FixCase(
        id="wrong-column-camelcase-json",
        error_class="wrong-column",
        summary="the inventory API's JSON keys are camelCase; the code uses snake_case",
        files={"inventory.json": INVENTORY_JSON},
        live_only=("unitCost", "qtyOnHand"),
        notebook="""
# %%
import json

import pandas as pd

with open("inventory.json") as f:
    items = json.load(f)
inv = pd.DataFrame(items)

# %%
inv["stock_value"] = inv["unit_cost"] * inv["qty_on_hand"]
value_by_warehouse = inv.groupby("warehouse")["stock_value"].sum().round(2)
value_by_warehouse
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(
            Patch(1, 'inv["unit_cost"] * inv["qty_on_hand"]', 'inv["unitCost"] * inv["qtyOnHand"]'),
        ),
        check="""
assert value_by_warehouse.to_dict() == {"DUS": 1893.2, "HAM": 1521.05, "MUC": 732.0}, (
    value_by_warehouse.to_dict()
)
assert len(inv) == 7 and "stock_value" in inv.columns
""",
    ),
)
