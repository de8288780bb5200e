"""pandas and numpy API misuse: removed methods, wrong axes, ``inplace``
results, ``apply`` without ``axis=1``, renaming the index instead of the
columns, a method not called."""

from __future__ import annotations

from ..core import FixCase, Patch

SENSOR_LOG_CSV = """\
sensor,ts,reading
T1,2024-04-01 00:00,21.4
T1,2024-04-01 01:00,
T1,2024-04-01 02:00,20.9
T2,2024-04-01 00:00,19.8
T2,2024-04-01 01:00,19.5
T2,2024-04-01 02:00,
T3,2024-04-01 00:00,23.1
T3,2024-04-01 01:00,22.7
T3,2024-04-01 02:00,22.9
T3,2024-04-01 03:00,
"""

ACCESS_LOG = """\
2024-05-06T09:00:01 GET /api/orders 200 41ms
2024-05-06T09:00:02 GET /api/orders/1182 200 23ms
2024-05-06T09:00:02 POST /api/orders 201 118ms
2024-05-06T09:00:04 GET /api/customers 200 37ms
2024-05-06T09:00:05 GET /api/orders 200 45ms
2024-05-06T09:00:07 GET /api/reports/daily 200 940ms
2024-05-06T09:00:08 GET /api/orders/1183 404 12ms
2024-05-06T09:00:09 GET /api/orders 200 39ms
2024-05-06T09:00:11 PUT /api/orders/1182 200 96ms
2024-05-06T09:00:12 GET /api/customers/77 200 28ms
2024-05-06T09:00:14 GET /api/orders 200 52ms
2024-05-06T09:00:15 GET /api/reports/daily 200 1210ms
"""

SENSOR_EXPORT_CSV = """\
Timestamp,Temp (C),RH (%)
2024-06-01 06:00,14.2,88
2024-06-01 09:00,18.9,71
2024-06-01 12:00,23.5,52
2024-06-01 15:00,25.1,47
2024-06-01 18:00,21.4,60
2024-06-01 21:00,17.0,76
"""

CASES = (
    FixCase(
        id="api-dataframe-append",
        error_class="api-misuse",
        summary="DataFrame.append was removed in pandas 2",
        notebook='''
# %%
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
X = rng.normal(size=(60, 3))
y = X @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.3, size=60)

# %%
def ridge_rmse(X, y, alpha):
    """Training RMSE of ridge regression with penalty alpha."""
    w = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ y)
    return float(np.sqrt(np.mean((X @ w - y) ** 2)))

# %%
results = pd.DataFrame(columns=["alpha", "rmse"])
for alpha in [0.01, 0.1, 1.0, 10.0, 100.0]:
    results = results.append({"alpha": alpha, "rmse": ridge_rmse(X, y, alpha)}, ignore_index=True)
results

# %%
best_alpha = results.loc[results["rmse"].astype(float).idxmin(), "alpha"]
best_alpha
''',
        failing_cell=2,
        ename="AttributeError",
        root_cause=(2,),
        fix=(
            Patch(
                2,
                """results = pd.DataFrame(columns=["alpha", "rmse"])
for alpha in [0.01, 0.1, 1.0, 10.0, 100.0]:
    results = results.append({"alpha": alpha, "rmse": ridge_rmse(X, y, alpha)}, ignore_index=True)
""",
                """rows = []
for alpha in [0.01, 0.1, 1.0, 10.0, 100.0]:
    rows.append({"alpha": alpha, "rmse": ridge_rmse(X, y, alpha)})
results = pd.DataFrame(rows)
""",
            ),
        ),
        check="""
def _rmse(alpha):
    w = np.linalg.solve(X.T @ X + alpha * np.eye(3), X.T @ y)
    return float(np.sqrt(np.mean((X @ w - y) ** 2)))


alphas = [0.01, 0.1, 1.0, 10.0, 100.0]
assert [float(a) for a in results["alpha"]] == alphas, results
assert np.allclose(results["rmse"].astype(float), [_rmse(a) for a in alphas]), results
assert float(best_alpha) == 0.01
""",
    ),
    FixCase(
        id="api-numpy-mean-axis",
        error_class="api-misuse",
        summary="the mean over axis 2 of a 2-D array; each student's mean is axis 1",
        notebook="""
# %%
import numpy as np

students = ["Ana", "Ben", "Chloé", "Dev", "Emre", "Fay"]
subjects = ["maths", "physics", "chemistry"]
scores = np.array(
    [[72, 85, 90], [64, 70, 58], [88, 92, 95], [91, 67, 74], [55, 81, 77], [79, 88, 83]]
)

# %% [markdown]
# Average score of each student over the three subjects.

# %%
student_mean = scores.mean(axis=2)
top_student = students[int(np.argmax(student_mean))]
print(top_student, student_mean.round(1))
""",
        failing_cell=2,
        ename="AxisError",
        root_cause=(2,),
        fix=(Patch(2, "scores.mean(axis=2)", "scores.mean(axis=1)"),),
        check="""
assert student_mean.shape == (6,), student_mean.shape
assert np.allclose(student_mean, [82.333, 64.0, 91.667, 77.333, 71.0, 83.333], atol=1e-3)
assert top_student == "Chloé"
""",
    ),
    FixCase(
        id="api-dropna-inplace-none",
        error_class="api-misuse",
        summary="the result of dropna(inplace=True) is None; the error shows a cell later",
        files={"sensor_log.csv": SENSOR_LOG_CSV},
        notebook="""
# %%
import pandas as pd

raw = pd.read_csv("sensor_log.csv", parse_dates=["ts"])
raw["reading"].isna().sum()

# %%
# drop the hours with no reading
clean = raw.dropna(subset=["reading"], inplace=True)

# %%
clean["reading"].describe()

# %%
mean_by_sensor = clean.groupby("sensor")["reading"].mean().round(2)
mean_by_sensor
""",
        failing_cell=2,
        ename="TypeError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                'clean = raw.dropna(subset=["reading"], inplace=True)',
                'clean = raw.dropna(subset=["reading"])',
            ),
        ),
        check="""
assert isinstance(clean, pd.DataFrame) and len(clean) == 7, clean
assert clean["reading"].notna().all()
assert mean_by_sensor.to_dict() == {"T1": 21.15, "T2": 19.65, "T3": 22.9}, mean_by_sensor
""",
    ),
    FixCase(
        id="api-apply-without-axis",
        error_class="api-misuse",
        summary="DataFrame.apply passes columns unless axis=1",
        notebook="""
# %%
import pandas as pd

lines = pd.DataFrame(
    {
        "sku": ["A-100", "A-101", "B-200", "C-310", "C-311"],
        "unit_price": [12.50, 8.00, 45.00, 3.20, 3.20],
        "qty": [4, 10, 1, 25, 5],
        "discount": [0.0, 0.1, 0.05, 0.2, 0.0],
    }
)

# %%
lines["net"] = lines.apply(lambda r: r.unit_price * r.qty * (1 - r.discount))
invoice_total = round(lines["net"].sum(), 2)
invoice_total
""",
        failing_cell=1,
        ename="AttributeError",
        root_cause=(1,),
        fix=(
            Patch(
                1,
                "r.qty * (1 - r.discount))",
                "r.qty * (1 - r.discount), axis=1)",
            ),
        ),
        check="""
assert lines["net"].round(2).tolist() == [50.0, 72.0, 42.75, 64.0, 16.0], lines["net"].tolist()
assert invoice_total == 244.75, invoice_total
""",
    ),
    FixCase(
        id="api-ndarray-append",
        error_class="api-misuse",
        summary="numpy arrays have no append method",
        files={"access.log": ACCESS_LOG},
        notebook="""
# %%
import numpy as np

with open("access.log") as f:
    lines = f.read().splitlines()
len(lines)

# %%
latencies = np.array([])
for line in lines:
    ms = float(line.rsplit(" ", 1)[1].removesuffix("ms"))
    latencies.append(ms)

p95 = np.percentile(latencies, 95)
print(f"median {np.median(latencies):.0f} ms, p95 {p95:.0f} ms")
""",
        failing_cell=1,
        ename="AttributeError",
        root_cause=(1,),
        fix=(
            Patch(1, "latencies = np.array([])", "latencies = []"),
            Patch(1, "\n\np95 = ", "\nlatencies = np.array(latencies)\n\np95 = "),
        ),
        check="""
assert len(latencies) == 12
assert sorted(np.asarray(latencies).tolist())[:3] == [12.0, 23.0, 28.0]
assert round(float(p95), 2) == 1061.5, p95
""",
    ),
    FixCase(
        id="api-rename-index-not-columns",
        error_class="api-misuse",
        summary="rename with a plain dict renames index labels; the columns keep their names",
        files={"sensor_export.csv": SENSOR_EXPORT_CSV},
        notebook="""
# %%
import pandas as pd

df = pd.read_csv("sensor_export.csv", parse_dates=["Timestamp"])

# %%
df = df.rename({"Temp (C)": "temp_c", "RH (%)": "rh"})
df.head(2)

# %%
df["temp_f"] = df["temp_c"] * 9 / 5 + 32

# %%
humid = df[df["rh"] > 70]
len(humid)
""",
        failing_cell=2,
        ename="KeyError",
        root_cause=(1,),
        fix=(Patch(1, "df.rename({", "df.rename(columns={"),),
        check="""
assert {"temp_c", "rh"} <= set(df.columns), df.columns.tolist()
assert df["temp_f"].round(2).tolist() == [57.56, 66.02, 74.3, 77.18, 70.52, 62.6]
assert len(humid) == 3 and humid["rh"].min() == 71
""",
    ),
    FixCase(
        id="api-std-not-called",
        error_class="api-misuse",
        summary="a helper divides by the method x.std instead of x.std()",
        notebook='''
# %%
import numpy as np

# closing prices of one share over 16 trading days
prices = np.array(
    [101.2, 101.8, 100.9, 102.4, 102.1, 103.0, 102.7, 118.9,
     103.4, 103.9, 104.2, 103.6, 104.8, 105.1, 91.3, 105.6]
)

# %%
def zscore(x):
    """Standard scores of a 1-D array."""
    return (x - x.mean()) / x.std

# %%
z = zscore(prices)
outlier_days = np.flatnonzero(np.abs(z) > 2)
outlier_days
''',
        failing_cell=2,
        ename="TypeError",
        root_cause=(1,),
        fix=(Patch(1, "/ x.std", "/ x.std()"),),
        check="""
assert z.shape == (16,) and abs(float(z.mean())) < 1e-9 and abs(float(z.std()) - 1) < 1e-9
assert outlier_days.tolist() == [7, 14], outlier_days
""",
    ),
)
