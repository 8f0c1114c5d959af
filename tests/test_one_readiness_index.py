"""One readiness index (issue 10): one organisation of the bundled sample has the same index,
on the same 0-100 scale, on the readiness view (the library call the page makes, and the page
itself), on the topic screens (the resources screen's readiness table and the linking of the
two surveys), in the models' ``readiness_index`` variable (its organisation mean) and in
``python -m analysis readiness ... --json``.

The definition (``analysis.readiness_index``): a respondent's index is the mean of their seven
0-100 dimension scores, missing unless all seven are scored (R ``rowMeans(..., na.rm = FALSE)``);
an organisation's index is the mean of its respondents' indices.
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import cli, topics
from analysis.model_data import model_data
from analysis.readiness import readiness
from analysis.readiness_view import practitioners_view
from conftest import ROOT
from readiness_hand import hand_scores
from ui import state

SAMPLE = ROOT / "sample_data" / "public_servants.csv"
ORG = 103  # 41 respondents, one of them without every dimension scored; the only one of municipality 3
MIN_N = 5


@pytest.fixture(scope="module")
def surveys() -> dict[str, pd.DataFrame]:
    """Both bundled surveys through the pipeline, as the pages hold them."""
    return {role: state.prepare(state.sample_source(role)).data for role in ("public_servant", "citizen")}


@pytest.fixture(scope="module")
def servants(surveys) -> pd.DataFrame:
    return surveys["public_servant"]


@pytest.fixture(scope="module")
def by_hand() -> float:
    """The organisation's index from the file with plain pandas (``readiness_hand``)."""
    hand = hand_scores(pd.read_csv(SAMPLE), state.instrument("public_servant"))
    own = hand.loc[hand["org_id"] == ORG, "index"]
    assert own.isna().sum() >= 1  # the organisation has a respondent the index leaves out
    return float(own.mean())


def _index(groups: pd.DataFrame) -> float:
    return float(groups.set_index("group").loc[ORG, "index"])


def test_readiness_view_library(servants, by_hand):
    view = practitioners_view(servants, state.instrument("public_servant"), "org_id", min_n=MIN_N)
    assert _index(view.readiness.groups) == pytest.approx(by_hand, abs=1e-9)
    assert 0 <= by_hand <= 100


def test_readiness_page(by_hand):
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = str(ORG)
    at.run()
    assert not at.exception and not at.error
    metric = next(m for m in at.metric if m.label == "Readiness index (0-100)")
    assert metric.value == f"{by_hand:.1f}"


def test_topic_screens(surveys, by_hand):
    servants, citizens = surveys["public_servant"], surveys["citizen"]
    ips = state.instrument("public_servant")
    # the resources screen's table: the readiness of every organisation in its (unfiltered) view
    resources = readiness(servants, ips, "org_id", min_n=MIN_N, filters={})
    assert _index(resources.groups) == pytest.approx(by_hand, abs=1e-9)
    # the drivers screen's linking: the organisation is its municipality's only one
    municipality = int(servants.loc[servants["org_id"] == ORG, "municipality_id"].iloc[0])
    assert servants.loc[servants["municipality_id"] == municipality, "org_id"].nunique() == 1
    link = topics.link_readiness_to_municipalities(servants, citizens, ips, state.instrument("citizen"),
                                                   min_n=MIN_N)
    row = link.municipalities.set_index("municipality").loc[municipality]
    assert float(row["readiness"]) == pytest.approx(by_hand, abs=1e-9)
    linked = link.data.loc[link.data["municipality_id"] == str(municipality), "readiness_muni"]
    assert np.allclose(linked.to_numpy(float), by_hand, atol=1e-9)


def test_models_variable(servants, by_hand):
    table = model_data(servants, state.instrument("public_servant"))
    assert table["readiness_index"].dropna().between(0, 100).all()  # the view's scale, not 1-5
    assert float(table.loc[table["org_id"] == ORG, "readiness_index"].mean()) == pytest.approx(by_hand, abs=1e-9)


def test_command(by_hand):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["readiness", str(SAMPLE), "--instrument", "public_servant", "--json"]) == 0
    groups = {g["group"]: g for g in json.loads(out.getvalue())["groups"]}
    assert groups[ORG]["index"] == pytest.approx(by_hand, abs=1e-9)
