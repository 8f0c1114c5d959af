"""Simple slopes of a cross-level interaction (analysis.mixed.slopes).

Shifting the moderator by m leaves a mixed model's fit unchanged and makes the focal
predictor's coefficient the slope at m; so each simple slope and its SE must equal the
coefficient and SE of a refit with the moderator centred at that value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from analysis.mixed import fit
from analysis.mixed.slopes import interactions, simple_slopes_table


def _data(seed=3):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(40), 25)
    w = rng.normal(size=40)[g]  # level 2
    x = rng.normal(size=g.size)
    u = rng.normal(scale=0.5, size=40)[g]
    y = 1 + 0.4 * x + 0.3 * w + 0.2 * x * w + u + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "w": w, "g": g})


def test_simple_slopes_equal_refits_with_the_moderator_shifted():
    data = _data()
    result = fit("y ~ x * w + (1 | g)", data)
    found = interactions(result)
    assert len(found) == 1 and found[0].cross_level and (found[0].focal, found[0].moderator) == ("x", "w")
    table = simple_slopes_table(result, found[0])
    assert list(table["at"]) == ["mean - 1 SD", "mean", "mean + 1 SD"]
    for _, row in table.iterrows():
        shifted = data.assign(w=data["w"] - row["moderator_value"])
        refit = fit("y ~ x * w + (1 | g)", shifted).fixed_table().set_index("term")
        assert_allclose(row["slope"], refit.loc["x", "estimate"], rtol=1e-6)
        assert_allclose(row["se"], refit.loc["x", "se"], rtol=1e-4)
        assert row["ci_low"] < row["slope"] < row["ci_high"]


def test_constant_columns_agree_with_a_per_column_nunique():
    """constant_columns (one grouped min/max pass) against the plain definition: after dropping rows
    missing the group or the column, at most one value per group, and at least one row left."""
    from analysis.mixed.slopes import constant_columns

    rng = np.random.default_rng(0)
    n = 4000
    g = rng.integers(0, 40, n).astype(float)
    g[rng.random(n) < 0.05] = np.nan
    frame = pd.DataFrame({"g": g, "x": rng.normal(size=n), "gm": g * 2, "label": [f"c{v % 3}" for v in g],
                          "empty": np.nan, "same": "one", "flag": g > 3,
                          "coded": pd.array(np.where(np.isnan(g), 0, g) // 10, dtype="Int64")})
    frame.loc[rng.random(n) < 0.1, "gm"] = np.nan
    # constant in the groups seen first, varying in one seen last: only the full pass finds it
    frame["late"] = frame["gm"]
    last = pd.unique(frame["g"].dropna())[-1]  # the group seen last
    frame.loc[(frame["g"] == last).to_numpy().nonzero()[0][:2], "late"] = [1.0, 2.0]
    frame.loc[3, "label"] = None
    frame.loc[5, "coded"] = pd.NA
    frame.loc[7, "x"] = np.nan

    def plain(column):
        used = frame[[column, "g"]].dropna()
        return bool(len(used)) and bool((used.groupby("g")[column].nunique() <= 1).all())

    columns = ["x", "gm", "label", "empty", "same", "flag", "coded", "late"]
    assert constant_columns(frame, columns, "g") == [c for c in columns if plain(c)]
    assert constant_columns(frame, columns, "g") == ["gm", "label", "same", "flag", "coded"]
