"""Per-question results (issue 13, item 2): the shares favourable/neutral/unfavourable of every
readiness item, computed by hand from the sample file, equal the library's, the command's (for a
data file and for the sample study file) and the page's; the benchmark is the median of the
comparator organisations; small groups show nothing."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from analysis.readiness_questions import ALL, classify, question_results
from conftest import ROOT
from ui import state

SAMPLE = ROOT / "sample_data" / "public_servants.csv"
STUDY = ROOT / "sample_data" / "study.yaml"
MIN_N = 5
REVERSED = {"ps_rdy_struct3", "ps_rdy_reg3"}
TYPES = {1: "Municipal administration", 2: "Social and care services", 3: "Public utility or enterprise",
         4: "Regional or national agency office"}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(SAMPLE)


@pytest.fixture(scope="module")
def items() -> list[str]:
    return [it.id for c in state.instrument("public_servant").readiness_dimensions for it in c.items]


@pytest.fixture(scope="module")
def result():
    data = state.prepare(state.sample_source("public_servant")).data
    return question_results(data, state.instrument("public_servant"), "org_id", min_n=MIN_N)


def _by_hand(raw: pd.DataFrame, org, item: str) -> tuple[int, float, float, float]:
    """n and % favourable, neutral, unfavourable of one organisation's answers, from the file:
    answers 1-5 (anything else is a missing code), 4-5 favourable (1-2 for the two negatively
    worded items), 3 neutral."""
    x = raw.loc[raw["org_id"] == org, item]
    x = x.where(x.between(1, 5)).dropna()
    good, bad = ((x <= 2), (x >= 4)) if item in REVERSED else ((x >= 4), (x <= 2))
    n = len(x)
    return n, 100 * good.sum() / n, 100 * (x == 3).sum() / n, 100 * bad.sum() / n


def _command(*argv: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(list(argv)) == 0
    return json.loads(out.getvalue())


def test_classify_uses_the_top_and_bottom_two_boxes():
    x = pd.Series([1, 2, 3, 4, 5, np.nan])
    assert classify(x, 1, 5).tolist()[:5] == ["unfavourable"] * 2 + ["neutral"] + ["favourable"] * 2
    assert pd.isna(classify(x, 1, 5).iloc[5])
    assert classify(x, 1, 5, reverse=True).tolist()[:5] == ["favourable"] * 2 + ["neutral"] + ["unfavourable"] * 2
    seven = classify(pd.Series(range(1, 8)), 1, 7).tolist()
    assert seven == ["unfavourable"] * 2 + ["neutral"] * 3 + ["favourable"] * 2


def test_shares_equal_a_hand_computation_from_the_file(raw, items, result):
    """Every shown (organisation, item): the library's n and shares are the file's, except where
    a block of fewer than min_n answers to that item was left out (then n is smaller, >= min_n)."""
    groups = result.groups.set_index(["group", "item"])
    checked = 0
    for org in sorted(raw["org_id"].unique()):
        for item in items:
            row = groups.loc[(org, item)]
            n, fav, neu, unf = _by_hand(raw, org, item)
            if row["suppressed"]:
                assert pd.isna(row["favourable"]) and pd.isna(row["n"])
                continue
            assert MIN_N <= row["n"] <= n
            if row["n"] == n:
                assert_allclose([row["favourable"], row["neutral"], row["unfavourable"]], [fav, neu, unf], rtol=1e-12)
                checked += 1
    assert checked == 1097  # of the 1168 shown pairs, 71 lose a block of too few answers (docstring)
    shown = result.groups[~result.groups["suppressed"]]
    assert_allclose(shown[["favourable", "neutral", "unfavourable"]].sum(axis=1), 100.0, rtol=1e-12)


def test_small_organisations_show_nothing(raw, result):
    counts = raw["org_id"].value_counts()
    for org in counts[counts < MIN_N].index:
        rows = result.groups[result.groups["group"] == org]
        assert rows["suppressed"].all() and rows["favourable"].isna().all()
        assert rows["n"].isna().all()


def test_benchmark_is_the_median_of_the_shown_organisations(raw, items, result):
    for item in items:
        shown = result.groups[(result.groups["item"] == item) & ~result.groups["suppressed"]]
        bench = result.benchmarks.set_index(["comparator", "item"]).loc[(ALL, item)]
        assert bench["n_groups"] == len(shown)
        assert_allclose(bench["favourable"], np.median(shown["favourable"]), rtol=1e-12)
    table = result.for_group(103)
    assert_allclose(table["difference"], table["favourable"] - table["benchmark_favourable"], rtol=1e-12)
    n, fav, _, _ = _by_hand(raw, 103, "ps_rdy_strat1")
    first = table.set_index("item").loc["ps_rdy_strat1"]
    assert first["n"] == n and first["favourable"] == pytest.approx(fav, rel=1e-12)


def test_same_type_benchmark_uses_only_that_type(raw, items):
    data = state.prepare(state.sample_source("public_servant")).data
    types = raw.groupby("org_id")["org_type"].first().map(TYPES).to_dict()
    res = question_results(data, state.instrument("public_servant"), "org_id", min_n=MIN_N, benchmark_by=types)
    assert res.comparators[103] == TYPES[1]
    table = res.for_group(103).set_index("item")
    shown = res.groups[~res.groups["suppressed"] & res.groups["group"].map(types).eq(TYPES[1])]
    for item in items:
        vals = shown.loc[shown["item"] == item, "favourable"]
        assert table.loc[item, "n_groups"] == len(vals)
        assert table.loc[item, "benchmark_favourable"] == pytest.approx(np.median(vals), rel=1e-12)


@pytest.mark.parametrize("source", ["data file", "study file"])
def test_command_gives_the_library_numbers(source, result):
    if source == "data file":
        out = _command("readiness", str(SAMPLE), "--instrument", "public_servant", "--group", "org_id", "--by",
                       "gender", "--benchmark", "type", "--json")
    else:
        out = _command("readiness", str(STUDY), "--survey", "public_servants", "--by", "gender", "--benchmark",
                       "type", "--json")
    rows = pd.DataFrame(out["questions"]["groups"])
    mine = result.groups
    assert rows["suppressed"].tolist() == mine["suppressed"].tolist()
    assert_allclose(rows["favourable"].to_numpy(float), mine["favourable"].to_numpy(float), rtol=1e-12)
    assert out["comparison"] == "type"
    assert out["questions"]["comparators"]["103"] == TYPES[1]
    assert out["breakdown"]["by"] == "gender"


def test_page_shows_the_hand_computed_shares(raw, result):
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = "110"
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "% favourable" in d.value.columns)
    lib = result.for_group(110)
    assert len(table) == len(lib) == 21
    assert_allclose(table["% favourable"].to_numpy(float), lib["favourable"].to_numpy(float), rtol=1e-12)
    assert_allclose(table["benchmark % favourable"].to_numpy(float), lib["benchmark_favourable"].to_numpy(float),
                    rtol=1e-12)
    n, fav, neu, unf = _by_hand(raw, 110, "ps_rdy_fin2")
    row = table.iloc[lib.index[lib["item"] == "ps_rdy_fin2"][0]]
    assert row["n"] == n
    assert_allclose([row["% favourable"], row["% neutral"], row["% unfavourable"]], [fav, neu, unf], rtol=1e-12)
    text = " ".join(m.value for m in at.markdown)
    assert "top two answers" in text  # the definition is on the screen
    assert any(getattr(c, "key", None) == "rd_questions_chart" for c in at.get("plotly_chart"))
