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
