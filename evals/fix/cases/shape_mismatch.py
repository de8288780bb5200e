"""Arrays and columns of the wrong shape: the operands of a matrix product in
the wrong order, a diff one shorter than the frame, a reshape by a sensor
count that the data contradicts, a mean without keepdims, features stacked as
rows."""

from __future__ import annotations

from ..core import FixCase, Patch

ROOF_READINGS_CSV = """\
day,sensor,temp_c
2024-07-01,roof-n,21.1
2024-07-01,roof-s,16.2
2024-07-01,roof-e,22.6
2024-07-01,roof-w,23.1
2024-07-01,mast,25.3
2024-07-02,roof-n,17.7
2024-07-02,roof-s,17.0
2024-07-02,roof-e,21.7
2024-07-02,roof-w,22.7
2024-07-02,mast,31.0
2024-07-03,roof-n,18.3
2024-07-03,roof-s,19.5
2024-07-03,roof-e,21.6
2024-07-03,roof-w,23.0
2024-07-03,mast,24.4
2024-07-04,roof-n,17.4
2024-07-04,roof-s,20.7
2024-07-04,roof-e,21.6
2024-07-04,roof-w,25.4
2024-07-04,mast,25.7
2024-07-05,roof-n,18.0
2024-07-05,roof-s,22.3
2024-07-05,roof-e,22.8
2024-07-05,roof-w,23.2
2024-07-05,mast,25.7
2024-07-06,roof-n,18.8
2024-07-06,roof-s,22.9
2024-07-06,roof-e,21.6
2024-07-06,roof-w,23.6
2024-07-06,mast,27.5
2024-07-07,roof-n,16.7
2024-07-07,roof-s,19.6
2024-07-07,roof-e,23.3
2024-07-07,roof-w,24.9
2024-07-07,mast,26.1
"""

CASES = (
    FixCase(
        id="shape-matmul-order",
        error_class="shape-mismatch",
        summary="weights @ features: the operands of the product are swapped",
        notebook="""
# %%
import numpy as np

features = ["area_m2", "rooms", "age_years"]
X = np.array([[72, 3, 15], [110, 4, 2], [55, 2, 40], [95, 4, 22], [140, 5, 8]], dtype=float)
# a linear price model fitted last quarter (thousand EUR per unit of each feature)
w = np.array([2.1, 8.5, -0.6])
b = 35.0

# %%
pred = w @ X + b
pred.round(1)
""",
        failing_cell=1,
        ename="ValueError",
        root_cause=(1,),
        fix=(Patch(1, "pred = w @ X + b", "pred = X @ w + b"),),
        check="""
assert pred.shape == (5,), pred.shape
assert np.allclose(pred, [202.7, 298.8, 143.5, 255.3, 366.7]), pred
""",
    ),
    FixCase(
        id="shape-diff-length",
        error_class="shape-mismatch",
        summary="np.diff is one shorter than the frame it is assigned to",
        notebook="""
# %%
import numpy as np
import pandas as pd

daily = pd.DataFrame(
    {
        "date": pd.date_range("2024-05-01", periods=8, freq="D"),
        "visitors": [412, 388, 455, 430, 610, 598, 402, 421],
    }
)

# %%
# change in visitors from the day before
daily["change"] = np.diff(daily["visitors"])

# %%
biggest_jump = daily.loc[daily["change"].idxmax(), "date"]
biggest_jump.date()
""",
        failing_cell=1,
        ename="ValueError",
        root_cause=(1,),
        fix=(Patch(1, 'np.diff(daily["visitors"])', 'daily["visitors"].diff()'),),
        check="""
assert len(daily) == 8 and daily["visitors"].tolist()[0] == 412
first = daily["change"].iloc[0]
assert pd.isna(first) or first == 0, first
assert daily["change"].iloc[1:].tolist() == [-24, 67, -25, 180, -12, -196, 19]
assert str(biggest_jump.date()) == "2024-05-05"
""",
    ),
    FixCase(
        id="shape-reshape-sensor-count",
        error_class="shape-mismatch",
        summary="the notebook assumes four roof sensors; the data has a fifth, on the mast",
        files={"roof_readings.csv": ROOF_READINGS_CSV},
        live_only=("mast",),
        notebook="""
# %%
import pandas as pd

N_SENSORS = 4  # one temperature probe per roof side
readings = pd.read_csv("roof_readings.csv")

# %% [markdown]
# One row per day, one column per sensor (sensors in alphabetical order).

# %%
grid = readings.sort_values(["day", "sensor"])["temp_c"].to_numpy().reshape(-1, N_SENSORS)
grid.shape

# %%
sensor_means = grid.mean(axis=0).round(2)
sensor_means
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(0,),
        fix=(Patch(0, "N_SENSORS = 4  # one temperature probe per roof side", "N_SENSORS = 5"),),
        check="""
import numpy as np

assert grid.shape == (7, 5), grid.shape
assert np.allclose(sensor_means, [26.53, 22.17, 18.29, 19.74, 23.7], atol=0.01), sensor_means
""",
    ),
    FixCase(
        id="shape-row-centering",
        error_class="shape-mismatch",
        summary="subtracting each row's mean needs keepdims (or a new axis)",
        notebook="""
# %%
import numpy as np

stores = ["Aachen", "Bonn", "Köln", "Düren", "Essen", "Hagen"]
# quarterly sales (thousand EUR), one row per store, Q1..Q4
sales = np.array(
    [
        [120, 135, 150, 95],
        [80, 82, 90, 88],
        [200, 210, 260, 230],
        [55, 60, 58, 47],
        [140, 150, 170, 120],
        [95, 100, 97, 104],
    ],
    dtype=float,
)

# %% [markdown]
# Subtract each store's own mean, so that the quarters compare across stores of any size.

# %%
centered = sales - sales.mean(axis=1)
strongest_quarter = int(centered.sum(axis=0).argmax()) + 1
print("Q" + str(strongest_quarter))
""",
        failing_cell=2,
        ename="ValueError",
        root_cause=(2,),
        fix=(Patch(2, "sales.mean(axis=1)", "sales.mean(axis=1, keepdims=True)"),),
        check="""
assert centered.shape == (6, 4), centered.shape
assert np.allclose(centered.sum(axis=1), 0), "each store's row must be centered"
assert centered[2].tolist() == [-25.0, -15.0, 35.0, 5.0], centered[2]
assert strongest_quarter == 3
""",
    ),
    FixCase(
        id="shape-features-as-rows",
        error_class="shape-mismatch",
        summary="a helper stacks the features as rows (vstack) instead of columns",
        notebook='''
# %%
import numpy as np
import pandas as pd

homes = pd.DataFrame(
    {
        "area_m2": [54, 72, 88, 95, 120, 63, 140, 78],
        "rooms": [2, 3, 3, 4, 5, 2, 5, 3],
        "price_k": [189, 245, 290, 318, 402, 215, 455, 262],
    }
)

# %%
def design_matrix(df):
    """One row per home, one column per feature."""
    return np.vstack([df["area_m2"], df["rooms"]])

# %%
X = np.hstack([design_matrix(homes), np.ones((len(homes), 1))])
coef, *_ = np.linalg.lstsq(X, homes["price_k"].to_numpy(), rcond=None)
coef.round(2)
''',
        failing_cell=2,
        ename="ValueError",
        root_cause=(1,),
        fix=(Patch(1, "np.vstack(", "np.column_stack("),),
        check="""
assert X.shape == (8, 3), X.shape
assert np.allclose(coef, [2.827, 8.281, 18.13], atol=1e-3), coef
""",
    ),
)
