"""Keys of nested JSON: a list one level deeper than the code looks, the
dotted names of json_normalize, readings nested per device, a key that only
some records have, object keys that are strings."""

from __future__ import annotations

from ..core import FixCase, Patch

CATALOG_JSON = """\
{
  "meta": {"request_id": "8f2c1e", "page": 1, "per_page": 50},
  "data": {
    "items": [
      {"sku": "KB-201", "name": "Keyboard TKL", "stock": 34, "price": 79.0},
      {"sku": "MS-110", "name": "Mouse wireless", "stock": 120, "price": 24.5},
      {"sku": "MN-270", "name": "Monitor 27in", "stock": 8, "price": 289.0},
      {"sku": "HS-050", "name": "Headset", "stock": 0, "price": 59.9},
      {"sku": "CM-900", "name": "Webcam 1080p", "stock": 41, "price": 45.0}
    ],
    "next": null
  }
}
"""

B2B_ORDERS_JSON = """\
[
  {"order_id": "A-1", "total": 120.0, "customer": {"id": 7, "name": "Lund AB", "country": "SE"}},
  {"order_id": "A-2", "total": 75.5, "customer": {"id": 3, "name": "Haas KG", "country": "DE"}},
  {"order_id": "A-3", "total": 240.0, "customer": {"id": 9, "name": "Virta Oy", "country": "FI"}},
  {"order_id": "A-4", "total": 33.25, "customer": {"id": 3, "name": "Haas KG", "country": "DE"}},
  {"order_id": "A-5", "total": 410.0, "customer": {"id": 12, "name": "Berg AS", "country": "NO"}},
  {"order_id": "A-6", "total": 98.0, "customer": {"id": 7, "name": "Lund AB", "country": "SE"}}
]
"""

TELEMETRY_JSON = """\
{
  "export_id": "tx-2024-05-31",
  "site": "Depot Nord",
  "devices": [
    {"device_id": "meter-a", "readings": [
      {"t": "2024-05-31T00:00", "kwh": 12.4},
      {"t": "2024-05-31T08:00", "kwh": 30.1},
      {"t": "2024-05-31T16:00", "kwh": 22.7}]},
    {"device_id": "meter-b", "readings": [
      {"t": "2024-05-31T00:00", "kwh": 5.2},
      {"t": "2024-05-31T08:00", "kwh": 9.8},
      {"t": "2024-05-31T16:00", "kwh": 7.5}]},
    {"device_id": "meter-c", "readings": [
      {"t": "2024-05-31T00:00", "kwh": 40.0},
      {"t": "2024-05-31T08:00", "kwh": 61.3},
      {"t": "2024-05-31T16:00", "kwh": 55.9}]}
  ]
}
"""

WEBSHOP_ORDERS_JSON = """\
[
  {"order_id": 1, "subtotal": 120.0},
  {"order_id": 2, "subtotal": 80.0, "discount": 8.0},
  {"order_id": 3, "subtotal": 45.5},
  {"order_id": 4, "subtotal": 300.0, "discount": 45.0},
  {"order_id": 5, "subtotal": 19.9}
]
"""

STOCK_JSON = """\
{"101": 40, "102": 0, "205": 12, "317": 3}
"""

CASES = (
    FixCase(
        id="json-nested-items",
        error_class="nested-json",
        summary="the API wraps the item list in data: resp['data']['items']",
        files={"catalog_page1.json": CATALOG_JSON},
        notebook="""
# %%
import json

import pandas as pd

with open("catalog_page1.json") as f:
    resp = json.load(f)

# %%
catalog = pd.DataFrame(resp["items"])
total_stock = int(catalog["stock"].sum())
stock_value = float((catalog["stock"] * catalog["price"]).sum())
out_of_stock = catalog.loc[catalog["stock"] == 0, "sku"].tolist()
total_stock, stock_value, out_of_stock
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, 'pd.DataFrame(resp["items"])', 'pd.DataFrame(resp["data"]["items"])'),),
        check="""
assert len(catalog) == 5
assert total_stock == 203 and round(stock_value, 2) == 9783.0, (total_stock, stock_value)
assert out_of_stock == ["HS-050"]
""",
    ),
    FixCase(
        id="json-normalize-dotted-names",
        error_class="nested-json",
        summary="json_normalize names nested fields with dots: customer.country",
        files={"b2b_orders.json": B2B_ORDERS_JSON},
        notebook="""
# %%
import json

import pandas as pd

with open("b2b_orders.json") as f:
    orders = pd.json_normalize(json.load(f))

# %%
revenue_by_country = orders.groupby("customer_country")["total"].sum().sort_values()
revenue_by_country
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, 'groupby("customer_country")', 'groupby("customer.country")'),),
        check="""
assert revenue_by_country.to_dict() == {"DE": 108.75, "SE": 218.0, "FI": 240.0, "NO": 410.0}
assert list(revenue_by_country.index) == ["DE", "SE", "FI", "NO"]
""",
    ),
    FixCase(
        id="json-readings-per-device",
        error_class="nested-json",
        summary="a loader expects a flat readings list; the export nests readings per device",
        files={"telemetry.json": TELEMETRY_JSON},
        live_only=("devices",),
        notebook='''
# %%
import json


def load_readings(path):
    """Every reading of a telemetry export, as a flat list of dicts."""
    with open(path) as f:
        doc = json.load(f)
    return doc["readings"]

# %%
readings = load_readings("telemetry.json")
total_kwh = round(sum(r["kwh"] for r in readings), 2)
peak = max(readings, key=lambda r: r["kwh"])
print(f"{len(readings)} readings, {total_kwh} kWh, peak {peak['kwh']} kWh at {peak['t']}")
''',
        failing_cell=1,
        ename="KeyError",
        root_cause=(0,),
        fix=(
            Patch(
                0,
                'return doc["readings"]',
                'return [r for device in doc["devices"] for r in device["readings"]]',
            ),
        ),
        check="""
assert len(readings) == 9, len(readings)
assert total_kwh == 244.9, total_kwh
assert peak["kwh"] == 61.3 and peak["t"] == "2024-05-31T08:00"
""",
    ),
    FixCase(
        id="json-optional-discount",
        error_class="nested-json",
        summary="only some orders have a discount key",
        files={"webshop_orders.json": WEBSHOP_ORDERS_JSON},
        notebook="""
# %%
import json

with open("webshop_orders.json") as f:
    orders = json.load(f)
len(orders)

# %%
net = {o["order_id"]: o["subtotal"] - o["discount"] for o in orders}
revenue = round(sum(net.values()), 2)
revenue
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, 'o["subtotal"] - o["discount"]', 'o["subtotal"] - o.get("discount", 0)'),),
        check="""
assert net == {1: 120.0, 2: 72.0, 3: 45.5, 4: 255.0, 5: 19.9}, net
assert revenue == 512.4, revenue
""",
    ),
    FixCase(
        id="json-string-keys",
        error_class="nested-json",
        summary="JSON object keys are strings; the SKUs in the frame are integers",
        files={"stock.json": STOCK_JSON},
        notebook="""
# %%
import json

import pandas as pd

with open("stock.json") as f:
    stock = json.load(f)  # units on hand per SKU

picks = pd.DataFrame({"sku": [101, 205, 317, 102, 205], "qty": [5, 15, 2, 1, 10]})

# %%
picks["can_ship"] = [stock[sku] >= qty for sku, qty in zip(picks["sku"], picks["qty"])]
picks
""",
        failing_cell=1,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, "[stock[sku] >= qty", "[stock[str(sku)] >= qty"),),
        check="""
assert picks["can_ship"].tolist() == [True, False, True, False, True], picks
assert picks["sku"].tolist() == [101, 205, 317, 102, 205]
""",
    ),
)
