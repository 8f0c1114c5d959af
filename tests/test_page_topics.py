"""The three research-topic screens in AppTest: each renders on the sample data with no
exception and no error box, a filter (also one given in the URL) re-renders every section,
a filter combination refused for privacy shows an info box and no numbers, and the numbers
on screen are the library's (``analysis.topics``, ``analysis.readiness``, ``analysis.mixed``)
and, for broaden/deepen, those of a direct cross-tabulation of the raw answers."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import unquote_plus

import numpy as np
import pandas as pd
import pytest

from screen_tables import assert_shown, numbers
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import topics
from analysis.mixed import fit
from analysis.readiness import readiness
from conftest import ROOT
from ui import state

PAGES = {"skills": "topic_skills.py", "resources": "topic_resources.py", "drivers": "topic_drivers.py"}
MIN_N = 5


@pytest.fixture(scope="module")
def servants() -> pd.DataFrame:
    return state.prepare(state.sample_source("public_servant")).data


@pytest.fixture(scope="module")
def citizens() -> pd.DataFrame:
    return state.prepare(state.sample_source("citizen")).data


def _run(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / PAGES[page]), default_timeout=180)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    return at


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _readings(at: AppTest) -> str:
    return "\n".join(i.value for i in at.info if i.value.startswith("**In plain words.**"))


def _in_view(at: AppTest) -> str:
    return next(c.value for c in at.caption if "respondents in view" in c.value)


def _frame_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all ``columns``."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}")


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


# ------------------------------------------------------------------ every screen renders
@pytest.mark.parametrize("page", list(PAGES))
def test_screen_renders_on_sample(page):
    at = _run(page)
    _assert_clean(at)
    assert len(at.get("plotly_chart")) >= 3
    assert len(_readings(at)) > 200
    assert len(at.get("download_button")) >= 6  # every table: CSV + Excel
    keys = {m.key for m in at.multiselect}
    assert {f"s{list(PAGES).index(page) + 1}_gender", f"s{list(PAGES).index(page) + 1}_age"} <= keys


@pytest.mark.parametrize("page,key,label", [("skills", "s1_gender", "Woman"),
                                            ("resources", "s2_role", "Front-line staff"),
                                            ("drivers", "s3_area", "Rural")])
def test_changing_a_filter_rerenders(page, key, label):
    at = _run(page)
    before = _in_view(at)
    at.multiselect(key=key).set_value([label]).run()
    _assert_clean(at)
    after = _in_view(at)
    assert after != before and label in after
    assert len(at.get("plotly_chart")) >= 3


def test_filter_from_url_is_applied(citizens):
    at = _run("drivers", {"s3_gender": "Woman"})
    _assert_clean(at)
    assert at.multiselect(key="s3_gender").value == ["Woman"]
    from analysis.instruments import load_instrument
    from analysis.topics import apply_filters
    women = len(apply_filters(citizens, {"gender": [1]}, MIN_N, instrument=load_instrument("citizen")))
    assert 0.9 * (citizens["gender"] == 1).sum() < women <= (citizens["gender"] == 1).sum()
    assert f"Citizens: {women} respondents in view" in _in_view(at)


def test_unknown_value_in_url_is_ignored():
    at = _run("skills", {"s1_gender": "Nobody", "s1_test": "no-such-test"})
    _assert_clean(at)
    assert at.multiselect(key="s1_gender").value == []
    assert at.radio(key="s1_test").value == "parametric"


def test_small_organisation_filter_is_refused_for_privacy(servants):
    small = servants["org_id"].value_counts()
    org = int(small[small < MIN_N].index[0])
    at = _run("resources", {"s2_org": str(org)})
    _assert_clean(at)
    refused = [i.value for i in at.info if "protect privacy" in i.value]
    assert refused and "too few respondents" in refused[0] and str(int(small.min())) + " respondents" not in refused[0]
    assert not at.get("plotly_chart") and not at.dataframe  # nothing about that organisation


def test_difference_attack_filter_is_refused():
    # all genders but one small group together differ from the whole by fewer than min_n people
    at = _run("skills", {"s1_role": "Senior manager", "s1_gender": "Other or prefer to self-describe"})
    _assert_clean(at)
    assert any("protect privacy" in i.value for i in at.info)


def test_bad_choice_shows_info_not_exception():
    # grouping by age band while the filter keeps one age band: a message, not a traceback
    at = _run("skills", {"s1_age": "18-29"})
    _assert_clean(at)
    assert any("fewer than two groups of 'age_band'" in i.value for i in at.info)


# ------------------------------------------------------------------ numbers on screen = library
def test_screen1_numbers_match_library(servants, citizens):
    at = _run("skills")
    # the screen computes on its (unfiltered) view: whole blocks of each survey's partition
    servants = topics.apply_filters(servants, {}, MIN_N, instrument=state.instrument("public_servant"))
    citizens = topics.apply_filters(citizens, {}, MIN_N, instrument=state.instrument("citizen"))
    expected = topics.compare_surveys(servants, state.instrument("public_servant"), citizens,
                                      state.instrument("citizen"))
    shown = _frame_with(at, "shared_key", "effect_size")
    assert_allclose(shown["effect_size"].to_numpy(), expected["effect_size"].to_numpy(), rtol=1e-12)
    g = expected.set_index("shared_key").loc["digital_skills"]
    assert f"Hedges g = {g['effect_size']:.2f}, 95% CI {g['ci_low']:.2f} to {g['ci_high']:.2f}" in _readings(at)
    groups = topics.compare_groups(servants, "digital_skills", "age_band",
                                   instrument=state.instrument("public_servant"))
    assert groups.reading in _readings(at)

    at.segmented_control(key="s1_cmp_survey").set_value("citizen").run()
    at.radio(key="s1_test").set_value("rank-based").run()
    _assert_clean(at)
    rank = topics.compare_groups(citizens, "digital_skills", "age_band", parametric=False,
                                 instrument=state.instrument("citizen"))
    assert rank.test == "Kruskal-Wallis" and rank.reading in _readings(at)


def test_screen2_numbers_match_library_and_hide_small_groups(servants):
    at = _run("resources")
    _assert_clean(at)
    result = readiness(servants, state.instrument("public_servant"), "org_id", min_n=MIN_N)
    table = _frame_with(at, "organisation", "index", "rwg")
    merged = table.merge(result.groups[["group", "index", "rwg", "suppressed"]], left_on="organisation",
                         right_on="group", suffixes=("", "_lib"))
    assert_shown(merged["index"], merged["index_lib"], 1)  # 0-100, one decimal; empty when withheld
    hidden = merged[merged["suppressed"] == "yes"]
    assert len(hidden) >= 1 and numbers(hidden["index"]).isna().all() and numbers(hidden["rwg"]).isna().all()
    median = result.benchmark.set_index("measure").loc["index", "median"]
    assert f"readiness index is {median:.0f} out of 100" in _readings(at)
    # the heatmap holds no number for a suppressed organisation
    heat = next(c for c in _charts(at) if c["data"][0]["type"] == "heatmap")["data"][0]
    z = heat["z"]
    if isinstance(z, dict):  # plotly's typed-array encoding
        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(len(heat["y"]), -1)
    z = np.asarray(z, dtype=float)
    withheld = [i for i, label in enumerate(heat["y"]) if "fewer than" in label or "withheld" in label]
    assert len(withheld) >= 1
    for i in withheld:
        assert np.isnan(z[i]).all() and all(t == "" for t in heat["text"][i]), heat["y"][i]
        assert not any(re.search(r"\d+\.\d", h) for h in heat["hovertext"][i])
    icc = _frame_with(at, "dimension", "icc1", "icc2")
    assert_allclose(icc["icc2"].to_numpy(float), result.icc["icc2"].to_numpy(float), rtol=1e-12)
    view = topics.apply_filters(servants, {}, MIN_N, instrument=state.instrument("public_servant"))
    spec = topics.engagement_model(view, state.instrument("public_servant"), min_n=MIN_N)
    model = fit(spec.formula, spec.data)
    fixed = _frame_with(at, "term", "estimate", "se")
    assert_allclose(fixed["estimate"].to_numpy(float), model.fixed_table()["estimate"].to_numpy(float), rtol=1e-8)
    assert any("/models?survey=public_servant&formula=" in m.value for m in at.markdown)


def _direct_participation(citizens: pd.DataFrame, construct: str) -> pd.Series:
    items = [it.id for it in state.instrument("citizen").construct(construct).items]
    answers = citizens[items].apply(pd.to_numeric, errors="coerce").where(lambda x: x.isin([0, 1]))
    return (answers == 1).any(axis=1).astype(int).where(answers.notna().any(axis=1))


def test_screen3_broaden_deepen_matches_direct_crosstab(citizens):
    at = _run("drivers")
    _assert_clean(at)
    digital = _direct_participation(citizens, "past_coproduction_digital")
    offline = _direct_participation(citizens, "past_coproduction_offline")
    known = pd.DataFrame({"offline": offline, "digital": digital}).dropna()
    direct = pd.crosstab(known["offline"], known["digital"])
    shown = _frame_with(at, "offline participation", "no", "yes").set_index("offline participation")
    assert shown.loc["no", "no"] == direct.loc[0, 0] and shown.loc["no", "yes"] == direct.loc[0, 1]
    assert shown.loc["yes", "no"] == direct.loc[1, 0] and shown.loc["yes", "yes"] == direct.loc[1, 1]
    percent = [df.value for df in at.dataframe if "offline participation" in df.value.columns][1]
    assert_allclose(percent.set_index("offline participation").loc["yes", "yes"],
                    100 * direct.loc[1, 1] / direct.loc[1].sum(), rtol=1e-12)
    new = direct.loc[0, 1] / direct[1].sum()
    assert f"{new:.0%} did not co-produce offline" in _readings(at)


@pytest.mark.slow
def test_screen3_models_match_library(servants, citizens):
    at = _run("drivers")
    ct = state.instrument("citizen")
    spec = topics.digital_participation_model(citizens, ct)
    model = fit(spec.formula, spec.data, family="binomial")
    tables = [df.value for df in at.dataframe if {"term", "odds_ratio"} <= set(df.value.columns)]
    assert len(tables) == 2
    assert_allclose(tables[0]["odds_ratio"].to_numpy(float), model.fixed_table()["odds_ratio"].to_numpy(float),
                    rtol=1e-8)
    link = topics.link_readiness_to_municipalities(servants, citizens, state.instrument("public_servant"), ct,
                                                   min_n=MIN_N)
    linked = fit(link.formula, link.data, family="binomial")
    assert_allclose(tables[1]["odds_ratio"].to_numpy(float), linked.fixed_table()["odds_ratio"].to_numpy(float),
                    rtol=1e-8)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ICC(2)"] == f"{link.agreement['icc2']:.2f}"
    assert metrics["Mean rwg(j)"] == f"{link.agreement['mean_rwg']:.2f}"
    view = topics.apply_filters(citizens, {}, MIN_N, instrument=ct)  # the screen's unfiltered view
    divide = topics.digital_divide(view, ct, min_n=MIN_N)
    shown = _frame_with(at, "variable", "level", "share")
    assert_allclose(shown["share"].to_numpy(float), divide["share"].to_numpy(float), rtol=1e-12)
    link_md = [m.value for m in at.markdown if "/models?survey=citizen&formula=" in m.value]
    assert link_md and re.search(r"formula=any_digital\+~\+any_offline", link_md[0])


def test_screen3_filter_narrows_every_section(citizens):
    at = _run("drivers", {"s3_age": "60+"})
    _assert_clean(at)
    shown = _frame_with(at, "variable", "level", "share")
    ages = shown[shown["variable"] == "age_band"]
    assert ages["level"].tolist() == ["60+"]
    older = topics.apply_filters(citizens, {"age_band": ["60+"]}, MIN_N, instrument=state.instrument("citizen"))
    assert (pd.to_numeric(older["age"], errors="coerce") >= 60).all()
    expected = topics.broaden_deepen(older, state.instrument("citizen"), min_n=MIN_N).counts
    counts = _frame_with(at, "offline participation", "no", "yes")
    assert int(counts[["no", "yes"]].to_numpy().sum()) == int(np.nansum(expected.to_numpy()))


def test_screen3_linking_model_opens_in_the_models_screen():
    """Issue 6: the model linking municipality readiness to citizens' participation is
    openable in the Models screen (a link carrying its formula), not only shown here."""
    at = _run("drivers")
    links = [m.value for m in at.markdown if "/models?" in m.value]
    assert any("c_readiness_muni" in unquote_plus(link) for link in links), links


def test_skills_screen_prints_the_command_that_gives_its_distributions():
    """The printed `topics` command, run as it is, gives the table on screen for the same filters."""
    import shlex
    import subprocess
    import sys
    at = _run("skills", {"s1_org": "103", "s1_gender": "Man"})
    _assert_clean(at)
    printed = next(c.value for c in at.code if c.value.startswith("python -m analysis topics"))
    assert "--where org_id=103" in printed and "--where gender=2" in printed
    done = subprocess.run([sys.executable, *shlex.split(printed)[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = pd.DataFrame(json.loads(done.stdout)["table"])
    shown = next(df.value for df in at.dataframe if "construct" in df.value.columns and "q1" in df.value.columns)
    assert shown["n"].tolist() == table["n"].tolist()
    assert_allclose(shown["mean"].to_numpy(float), table["mean"].to_numpy(float), rtol=1e-12)
