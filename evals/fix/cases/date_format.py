"""Dates in a format the code does not expect: day-first dates, ISO
timestamps written two ways, dates never parsed, an access log's timestamps."""

from __future__ import annotations

from ..core import FixCase, Patch

BOOKINGS_CSV = """\
booking_id,guest,checkin,nights
B-7001,Moreau,03/01/2024,2
B-7002,Schmidt,11/01/2024,5
B-7003,Rossi,13/01/2024,1
B-7004,Novak,28/01/2024,3
B-7005,García,02/02/2024,4
B-7006,Jensen,14/02/2024,2
B-7007,Kowalski,09/03/2024,7
B-7008,Dubois,21/03/2024,1
B-7009,Silva,30/03/2024,2
"""

EVENTS_CSV = """\
event_id,ts,kind
1,2024-03-01T09:58:12Z,login
2,2024-03-01T10:02:45Z,search
3,2024-03-01 10:15:03+00:00,purchase
4,2024-03-01T10:41:19Z,search
5,2024-03-01 11:05:50+00:00,login
6,2024-03-01T11:12:07Z,purchase
7,2024-03-01 11:48:33+00:00,search
8,2024-03-01T12:01:40Z,purchase
"""

SHOP_ORDERS_CSV = """\
order_id,order_date,customer,total
5001,2024-01-04,C-17,89.90
5002,2024-01-19,C-03,240.00
5003,2024-01-30,C-17,35.50
5004,2024-02-02,C-22,120.00
5005,2024-02-14,C-09,310.25
5006,2024-03-01,C-03,64.00
5007,2024-03-11,C-31,99.99
5008,2024-03-28,C-22,150.01
"""

ACCESS_LOG = """\
203.0.113.7 - - [05/Mar/2024:10:15:32 +0000] "GET /index.html HTTP/1.1" 200 5120
198.51.100.23 - - [05/Mar/2024:10:17:04 +0000] "GET /pricing HTTP/1.1" 200 8830
203.0.113.7 - - [05/Mar/2024:10:48:51 +0000] "POST /signup HTTP/1.1" 302 0
192.0.2.44 - - [05/Mar/2024:11:02:19 +0000] "GET /index.html HTTP/1.1" 200 5120
198.51.100.23 - - [05/Mar/2024:11:30:00 +0000] "GET /docs HTTP/1.1" 200 14211
192.0.2.44 - - [05/Mar/2024:13:09:41 +0000] "GET /pricing HTTP/1.1" 404 312
203.0.113.9 - - [05/Mar/2024:13:55:12 +0000] "GET /index.html HTTP/1.1" 200 5120
"""

CASES = (
    FixCase(
        id="date-day-first",
        error_class="date-format",
        summary="European day/month/year dates; pandas guesses month first from the first row",
        files={"bookings_q1.csv": BOOKINGS_CSV},
        notebook="""
# %%
import pandas as pd

bookings = pd.read_csv("bookings_q1.csv")

# %%
bookings["checkin"] = pd.to_datetime(bookings["checkin"])
nights_per_month = bookings.groupby(bookings["checkin"].dt.month)["nights"].sum()
nights_per_month
""",
        failing_cell=1,
        ename="ValueError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                'pd.to_datetime(bookings["checkin"])',
                'pd.to_datetime(bookings["checkin"], dayfirst=True)',
            ),
        ),
        check="""
assert str(bookings["checkin"].iloc[0].date()) == "2024-01-03", bookings["checkin"].iloc[0]
assert bookings["checkin"].notna().all()
assert nights_per_month.to_dict() == {1: 11, 2: 6, 3: 10}, nights_per_month.to_dict()
""",
    ),
    FixCase(
        id="date-mixed-iso",
        error_class="date-format",
        summary="two services write ISO timestamps differently ('T...Z' and ' ...+00:00')",
        files={"events.csv": EVENTS_CSV},
        notebook="""
# %%
import pandas as pd

events = pd.read_csv("events.csv")
events["ts"] = pd.to_datetime(events["ts"])

# %%
per_hour = events.groupby(events["ts"].dt.hour)["event_id"].count()
purchases_per_hour = (
    events[events["kind"] == "purchase"].groupby(events["ts"].dt.hour)["event_id"].count()
)
per_hour
""",
        failing_cell=0,
        ename="ValueError",
        root_cause=(0,),
        fix=(
            Patch(
                0, 'pd.to_datetime(events["ts"])', 'pd.to_datetime(events["ts"], format="ISO8601")'
            ),
        ),
        check="""
assert str(events["ts"].dt.tz) == "UTC", events["ts"].dtype
assert per_hour.to_dict() == {9: 1, 10: 3, 11: 3, 12: 1}, per_hour.to_dict()
assert purchases_per_hour.to_dict() == {10: 1, 11: 1, 12: 1}
""",
    ),
    FixCase(
        id="date-never-parsed",
        error_class="date-format",
        summary="the order dates were read as text; a helper a cell later uses .dt",
        files={"shop_orders.csv": SHOP_ORDERS_CSV},
        notebook='''
# %%
import pandas as pd

orders = pd.read_csv("shop_orders.csv")
orders.dtypes

# %%
def monthly_revenue(df):
    """Revenue per calendar month."""
    return df.groupby(df["order_date"].dt.to_period("M"))["total"].sum()

# %%
revenue = monthly_revenue(orders)
best_month = str(revenue.idxmax())
revenue
''',
        failing_cell=2,
        ename="AttributeError",
        root_cause=(0,),
        fix=(
            Patch(
                0,
                'pd.read_csv("shop_orders.csv")',
                'pd.read_csv("shop_orders.csv", parse_dates=["order_date"])',
            ),
        ),
        check="""
assert {str(k): round(v, 2) for k, v in revenue.items()} == {
    "2024-01": 365.4, "2024-02": 430.25, "2024-03": 314.0
}, revenue
assert best_month == "2024-02"
""",
    ),
    FixCase(
        id="date-access-log-format",
        error_class="date-format",
        summary="a parser for ISO timestamps, given the access log's [05/Mar/2024:10:15:32 +0000]",
        files={"access.log": ACCESS_LOG},
        notebook='''
# %%
from collections import Counter
from datetime import datetime


def parse_ts(text):
    """A timestamp of the web server's access log."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")

# %%
import re

with open("access.log") as f:
    log = f.read()
stamps = re.findall(r"\\[([^\\]]+)\\]", log)
len(stamps)

# %%
times = [parse_ts(s) for s in stamps]
requests_per_hour = Counter(t.hour for t in times)
sorted(requests_per_hour.items())
''',
        failing_cell=2,
        ename="ValueError",
        root_cause=(0,),
        fix=(Patch(0, '"%Y-%m-%d %H:%M:%S"', '"%d/%b/%Y:%H:%M:%S %z"'),),
        check="""
assert len(times) == 7
assert [t.strftime("%Y-%m-%d %H:%M") for t in times[:2]] == ["2024-03-05 10:15", "2024-03-05 10:17"]
assert dict(requests_per_hour) == {10: 3, 11: 2, 13: 2}, requests_per_hour
""",
    ),
)
