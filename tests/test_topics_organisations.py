"""The resources screen's organisation tables come from the library with privacy applied there
(``analysis.topics.organisations``): means equal a plain group-by where shown, and organisations
under the threshold or withheld by the readiness table carry no mean."""
from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from analysis import topics
from analysis.pipeline import prepare
from analysis.instruments import load_instrument
from conftest import ROOT


def _servants():
    instrument = load_instrument("public_servant")
    return prepare(ROOT / "sample_data" / "public_servants.csv", instrument).data, instrument


def test_organisation_means_withhold_small_and_hidden_organisations():
    data, instrument = _servants()
    scale = instrument.construct("dc_engagement").scale
    counts = data.groupby("org_id")["dc_engagement"].count()
    hidden = [int(counts[counts >= 20].index[0])]
    table = topics.organisation_means(data, "org_id", "dc_engagement", scale, min_n=5, hidden=hidden)
    shown = table[table["mean"].notna()]
    expected = data.groupby("org_id")["dc_engagement"].mean()
    assert_allclose(shown["mean"].to_numpy(float), expected.loc[shown["group"].astype(int)].to_numpy(), rtol=1e-12)
    published = set(shown["group"].astype(int))
    assert not set(hidden) & published and not set(counts[counts < 5].index) & published
    assert len(published) > 20


def test_dimension_agreement_covers_each_readiness_dimension():
    data, instrument = _servants()
    shown = data["org_id"].value_counts().index[:10].tolist()
    table = topics.dimension_agreement(data, instrument, "org_id", shown, min_n=5)
    assert list(table["dimension"]) == [c.key for c in instrument.readiness_dimensions]
    assert ((table["rwg_j_mean"] > 0) & (table["rwg_j_mean"] <= 1)).all()
    assert np.isfinite(table["share_rwg_j_at_least_70"]).all()
