"""Types mixed up by parsed data: numbers with thousands separators or
missing-value markers read as text, JSON prices as strings, INI values as
strings, an int column glued to a string."""

from __future__ import annotations

from ..core import FixCase, Patch

INVOICES_CSV = """\
invoice_id,client,month,amount
INV-301,Nordwind GmbH,2024-01,"1,250.00"
INV-302,Café Rosa,2024-01,980.50
INV-303,Kanzlei Brandt,2024-01,"12,400.00"
INV-304,Nordwind GmbH,2024-02,"2,075.25"
INV-305,Bäckerei Lutz,2024-02,310.00
INV-306,Café Rosa,2024-02,845.75
INV-307,Kanzlei Brandt,2024-03,"9,980.00"
INV-308,Bäckerei Lutz,2024-03,295.40
INV-309,Nordwind GmbH,2024-03,"1,430.60"
"""

CART_JSON = """\
{"cart_id": "c-5521", "currency": "EUR", "lines": [
  {"sku": "TEA-GRN-100", "price": "6.90", "qty": 3},
  {"sku": "TEA-BLK-250", "price": "11.50", "qty": 1},
  {"sku": "MUG-CER-01", "price": "14.00", "qty": 2},
  {"sku": "STRAINER-S", "price": "4.25", "qty": 4}
]}
"""

SURVEY_CSV = """\
respondent,team,score
r01,Data,9
r02,Data,n/a
r03,Data,7
r04,Platform,10
r05,Platform,-
r06,Platform,6
r07,Platform,9
r08,Sales,5
r09,Sales,n/a
r10,Sales,9
r11,Sales,-
r12,Data,8
"""

ANALYSIS_INI = """\
[histogram]
bins = 10
lower = 0
upper = 100

[report]
title = Exam scores, spring term
"""

CASES = (
    FixCase(
        id="type-thousands-separator",
        error_class="type-mixing",
        summary="amounts over 1,000 are quoted with a thousands comma: the column is text",
        files={"invoices_q1.csv": INVOICES_CSV},
        notebook="""
# %%
import pandas as pd

invoices = pd.read_csv("invoices_q1.csv")
invoices.tail(3)

# %%
monthly = invoices.groupby("month")["amount"].sum()
monthly_mean = invoices.groupby("month")["amount"].mean().round(2)
monthly_mean
""",
        failing_cell=1,
        ename="TypeError",
        root_cause=(0,),
        fix=(
            Patch(
                0,
                'pd.read_csv("invoices_q1.csv")',
                'pd.read_csv("invoices_q1.csv", thousands=",")',
            ),
        ),
        check="""
assert monthly.round(2).to_dict() == {"2024-01": 14630.5, "2024-02": 3231.0, "2024-03": 11706.0}
assert monthly_mean.to_dict() == {"2024-01": 4876.83, "2024-02": 1077.0, "2024-03": 3902.0}
assert round(float(invoices["amount"].sum()), 2) == 29567.5
""",
    ),
    FixCase(
        id="type-json-string-prices",
        error_class="type-mixing",
        summary="the cart API sends prices as strings; price * qty repeats the text",
        files={"cart.json": CART_JSON},
        notebook="""
# %%
import json

import pandas as pd

with open("cart.json") as f:
    cart = json.load(f)
lines = pd.DataFrame(cart["lines"])

# %%
lines["line_total"] = lines["price"] * lines["qty"]
lines

# %%
total = lines["line_total"].sum()
print(f"Cart total: {total:,.2f} {cart['currency']}")
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(1,),
        fix=(
            Patch(
                1, 'lines["price"] * lines["qty"]', 'lines["price"].astype(float) * lines["qty"]'
            ),
        ),
        check="""
assert lines["line_total"].round(2).tolist() == [20.7, 11.5, 28.0, 17.0], lines["line_total"]
assert round(float(total), 2) == 77.2, total
""",
    ),
    FixCase(
        id="type-missing-markers",
        error_class="type-mixing",
        summary='"n/a" and "-" mark unanswered questions: the score column is read as text',
        files={"survey.csv": SURVEY_CSV},
        notebook="""
# %%
import pandas as pd

survey = pd.read_csv("survey.csv")
survey.head()

# %% [markdown]
# ## Average score per team

# %%
avg_by_team = survey.groupby("team")["score"].mean().round(2)
avg_by_team

# %%
n_answered = int(survey["score"].notna().sum())
print(f"{n_answered} of {len(survey)} respondents gave a score")
""",
        failing_cell=2,
        ename="TypeError",
        root_cause=(0,),
        fix=(
            Patch(
                0, 'pd.read_csv("survey.csv")', 'pd.read_csv("survey.csv", na_values=["n/a", "-"])'
            ),
        ),
        check="""
assert avg_by_team.to_dict() == {"Data": 8.0, "Platform": 8.33, "Sales": 7.0}, avg_by_team
assert n_answered == 8, n_answered
""",
    ),
    FixCase(
        id="type-int-plus-str",
        error_class="type-mixing",
        summary="a text prefix added to an integer column",
        notebook="""
# %%
import pandas as pd

budget = pd.DataFrame(
    {
        "fiscal_year": [2022, 2022, 2023, 2023, 2024],
        "dept": ["R&D", "Ops", "R&D", "Ops", "R&D"],
        "spend_k": [410, 220, 455, 240, 500],
    }
)

# %%
budget["label"] = "FY" + budget["fiscal_year"] + " " + budget["dept"]
budget.set_index("label")["spend_k"]
""",
        failing_cell=1,
        ename="UFuncTypeError",
        root_cause=(1,),
        fix=(Patch(1, 'budget["fiscal_year"] + " "', 'budget["fiscal_year"].astype(str) + " "'),),
        check="""
assert budget["label"].tolist() == ["FY2022 R&D", "FY2022 Ops", "FY2023 R&D", "FY2023 Ops",
                                    "FY2024 R&D"], budget["label"].tolist()
assert budget["fiscal_year"].dtype.kind == "i"
""",
    ),
    FixCase(
        id="type-ini-strings",
        error_class="type-mixing",
        summary="configparser returns strings; the histogram needs an int and floats",
        files={"analysis.ini": ANALYSIS_INI},
        notebook="""
# %%
import configparser

import numpy as np

config = configparser.ConfigParser()
config.read("analysis.ini")
N_BINS = config["histogram"]["bins"]
LOWER = config["histogram"]["lower"]
UPPER = config["histogram"]["upper"]

# %%
rng = np.random.default_rng(42)
exam_scores = np.clip(rng.normal(50, 15, 500), 0, 100)

# %%
counts, edges = np.histogram(exam_scores, bins=N_BINS, range=(LOWER, UPPER))
for lo, n in zip(edges[:-1], counts):
    print(f"{lo:5.0f}  {'#' * (n // 5)}")
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(0,),
        fix=(
            Patch(0, 'config["histogram"]["bins"]', 'config["histogram"].getint("bins")'),
            Patch(0, 'config["histogram"]["lower"]', 'config["histogram"].getfloat("lower")'),
            Patch(0, 'config["histogram"]["upper"]', 'config["histogram"].getfloat("upper")'),
        ),
        check="""
expected, _ = np.histogram(exam_scores, bins=10, range=(0.0, 100.0))
assert counts.tolist() == expected.tolist(), counts.tolist()
assert len(edges) == 11 and edges[0] == 0 and edges[-1] == 100
""",
    ),
)
