"""The servants' side of the survey link, made once (``municipality_readiness``), gives the link
exactly as when it is made inside ``link_readiness_to_municipalities`` (issue 15: the drivers
screen keeps it while only the citizens' filters change)."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis import topics
from analysis.pipeline import prepare
from conftest import ROOT


@pytest.fixture(scope="module")
def surveys():
    servants = prepare(ROOT / "sample_data" / "public_servants.csv", "public_servant")
    citizens = prepare(ROOT / "sample_data" / "citizens.csv", "citizen")
    return servants, citizens


@pytest.mark.parametrize("min_n", [5, 10])
def test_link_with_the_servants_side_made_once_is_the_same(surveys, min_n):
    servants, citizens = surveys
    side = topics.municipality_readiness(servants.data, servants.instrument, min_n=min_n)
    for view in (citizens.data, citizens.data[citizens.data["gender"] == 1]):  # all citizens, and a filter
        inside = topics.link_readiness_to_municipalities(servants.data, view, servants.instrument,
                                                        citizens.instrument, min_n=min_n)
        given = topics.link_readiness_to_municipalities(servants.data, view, servants.instrument,
                                                       citizens.instrument, min_n=min_n, readiness=side)
        pd.testing.assert_frame_equal(inside.municipalities, given.municipalities)
        pd.testing.assert_frame_equal(inside.data, given.data)
        assert inside.agreement == given.agreement
        assert (inside.formula, inside.reading) == (given.formula, given.reading)
    assert side.agreement["n_municipalities"] > 0


@pytest.mark.parametrize("answers", ["whole", "halves", "wide"])
def test_rwg_by_counts_equals_rwg_j_by_group(answers):
    """The municipalities' rwg(j) from exact counts of whole-number answers (the two-pass
    variances otherwise) equals ``reference_groupby.rwg_j_by_group`` (the loop it replaced) up to the order of
    floating-point summation; reverse-keyed items turned round, respondents missing an item
    or a group left out."""
    import numpy as np

    from reference_groupby import rwg_j_by_group
    from analysis.topics.linking import _rwg_j_by_code

    rng = np.random.default_rng(4)
    n, groups = 6000, 120
    codes = rng.integers(0, groups, n)
    codes[:40] = 3  # one larger group
    codes[rng.random(n) < 0.02] = -1
    codes[codes == 9] = -1  # a group without respondents
    step = {"whole": 1.0, "halves": 0.5, "wide": 20.0}[answers]
    columns = [np.clip(np.round(rng.normal(3, 1.2, n) / step) * step, 1, 5 if answers != "wide" else 200)
               for _ in range(6)]
    for x in columns:
        x[rng.random(n) < 0.03] = np.nan
    rows = rng.random(n) < 0.9
    turned = {1: 6.0, 4: 6.0}
    expected_x = np.column_stack([turned[j] - x if j in turned else x for j, x in enumerate(columns)])[rows]
    expected = rwg_j_by_group(expected_x, codes[rows], groups, 5)
    got = _rwg_j_by_code(columns, turned, rows, codes[rows], groups, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert np.isnan(got[9]) and np.isfinite(got).sum() > 100
