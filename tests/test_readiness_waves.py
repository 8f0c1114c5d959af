"""Survey waves (issue 13, item 4): the sample's second wave (``sample_data/waves.py``: training
items lifted, everything else resampled) is recovered; favourable shares, their change and the
two-proportion z, and a dimension's Welch t, computed by hand from the file, equal the library's,
the command's and the page's; bad waves are refused or show nothing."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from streamlit.testing.v1 import AppTest

from analysis import cli
from analysis.errors import InputError
from analysis.readiness_view import practitioners_view
from analysis.readiness_waves import two_proportion_test, wave_changes
from conftest import ROOT
from ui import state

WAVES = ROOT / "sample_data" / "public_servants_waves.csv"
MIN_N = 5
TRAINING = ["ps_rdy_train1", "ps_rdy_train2", "ps_rdy_train3"]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(WAVES)


@pytest.fixture(scope="module")
def source() -> state.Source:
    return state.Source("public_servant", WAVES.name, WAVES.read_bytes())


@pytest.fixture(scope="module")
def data(source) -> pd.DataFrame:
    return state.prepare(source).data


@pytest.fixture(scope="module")
def instrument():
    return state.instrument("public_servant")


@pytest.fixture(scope="module")
def changes(data, instrument):
    return wave_changes(data, instrument, "org_id", min_n=MIN_N)


def _answers(raw: pd.DataFrame, wave: int, org: int, item: str) -> pd.Series:
    x = raw.loc[(raw["wave"] == wave) & (raw["org_id"] == org), item]
    return x.where(x.between(1, 5)).dropna()


def _cli(*argv: str) -> tuple[int, dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, (json.loads(out.getvalue()) if out.getvalue().strip() else None), err.getvalue()


def test_first_wave_is_the_unchanged_sample(raw):
    first = raw[raw["wave"] == 2024].drop(columns="wave").reset_index(drop=True)
    assert first.equals(pd.read_csv(ROOT / "sample_data" / "public_servants.csv"))
    assert (raw["wave"] == 2025).sum() == 1500


def test_two_proportion_test_matches_prop_test():
    """R: prop.test(c(30, 20), c(50, 50), correct = FALSE) gives X-squared = 4.0 (z = 2), p = 0.0455."""
    z, p = two_proportion_test(20, 50, 30, 50)
    assert z == pytest.approx(2.0, rel=1e-12)
    assert p == pytest.approx(0.04550026389635842, rel=1e-9)


@pytest.mark.parametrize("org, item", [(103, "ps_rdy_train1"), (110, "ps_rdy_train2"), (103, "ps_rdy_fin1")])
def test_favourable_change_by_hand(raw, changes, org, item):
    a, b = _answers(raw, 2024, org, item), _answers(raw, 2025, org, item)
    x1, x2 = int((a >= 4).sum()), int((b >= 4).sum())
    p = (x1 + x2) / (len(a) + len(b))
    z = (x2 / len(b) - x1 / len(a)) / np.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
    row = changes.for_group(org).set_index("measure").loc[item]
    assert row["before"] == pytest.approx(100 * x1 / len(a), rel=1e-12)
    assert row["after"] == pytest.approx(100 * x2 / len(b), rel=1e-12)
    assert row["statistic"] == pytest.approx(z, rel=1e-9)
    assert row["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_training_score_welch_by_hand(raw, changes):
    """Training score of each respondent: mean of the answered training items (at least two of
    three, the default min share), on 0-100; Welch's t between the waves of organisation 103."""
    def scores(wave):
        sub = raw.loc[(raw["wave"] == wave) & (raw["org_id"] == 103), TRAINING]
        sub = sub.where(sub.apply(lambda c: c.between(1, 5)))
        mean = sub.mean(axis=1).where(sub.notna().sum(axis=1) >= 2)
        return ((mean.dropna() - 1) / 4 * 100).to_numpy()
    a, b = scores(2024), scores(2025)
    t = stats.ttest_ind(b, a, equal_var=False)
    row = changes.for_group(103).set_index("measure").loc["rdy_training"]
    assert row["before"] == pytest.approx(a.mean(), rel=1e-12) and row["after"] == pytest.approx(b.mean(), rel=1e-12)
    assert row["statistic"] == pytest.approx(t.statistic, rel=1e-9) and row["p"] == pytest.approx(t.pvalue, rel=1e-9)


def test_the_documented_change_is_recovered(raw, changes):
    """Expected change of a training item's favourable share: half the 2024 share of 3s (the 3s
    lifted to 4); the other items do not move beyond sampling error."""
    fav = changes.changes[(changes.changes["kind"] == "favourable")].dropna(subset=["change"])
    for item in TRAINING:
        rows = fav[fav["measure"] == item]
        expected = [50 * (_answers(raw, 2024, g, item) == 3).mean() for g in rows["group"]]
        assert rows["change"].mean() == pytest.approx(np.mean(expected), abs=3.0)
        assert rows["change"].mean() > 10
    others = fav[~fav["measure"].isin(TRAINING)]
    assert abs(others.groupby("measure")["change"].mean()).max() < 3.5
    score = changes.changes[changes.changes["kind"] == "score"].dropna(subset=["p"])
    share = score.groupby("measure")["significant"].mean()
    assert share["rdy_training"] > 0.3 and share.drop(["rdy_training", "index"]).max() < 0.1


def test_small_organisations_show_no_change(raw, changes):
    small = raw[raw["wave"] == 2024]["org_id"].value_counts().loc[lambda c: c < MIN_N].index
    rows = changes.changes[changes.changes["group"].isin(small)]
    assert len(rows) and rows[["before", "after", "change", "p"]].isna().all().all()


def test_waves_with_different_items_are_refused(data, instrument):
    broken = data.copy()
    broken.loc[broken["wave"] == 2025, "ps_rdy_train1"] = np.nan
    with pytest.raises(InputError, match="wave 2025 has no answers to ps_rdy_train1"):
        wave_changes(broken, instrument, "org_id", min_n=MIN_N)


def test_a_wave_with_too_few_respondents_shows_nothing_for_it(data, instrument):
    few = pd.concat([data[data["wave"] == 2024], data[data["wave"] == 2025].head(3)])
    res = wave_changes(few, instrument, "org_id", min_n=MIN_N)
    assert res.changes.empty and res.trend["wave"].eq(2024).all()


def test_command_gives_the_library_changes(changes):
    code, out, _ = _cli("readiness", str(WAVES), "--instrument", "public_servant", "--group", "org_id",
                        "--wave", "2025", "--by", "gender", "--benchmark", "type", "--json")
    assert code == 0
    got = pd.DataFrame(out["waves"]["changes"])
    assert_allclose(got["change"].to_numpy(float), changes.changes["change"].to_numpy(float), rtol=1e-12)
    assert out["waves"]["previous"] == 2024 and out["waves"]["current"] == 2025
    code, _, err = _cli("readiness", str(WAVES), "--instrument", "public_servant", "--wave", "2030", "--json")
    assert code == 2 and "no wave '2030'" in err


def test_view_of_a_wave_is_that_wave_alone(data, instrument):
    view = practitioners_view(data, instrument, "org_id", min_n=MIN_N, wave=2024)
    alone = practitioners_view(data[data["wave"] == 2024].drop(columns="wave"), instrument, "org_id", min_n=MIN_N)
    assert_allclose(view.readiness.groups["index"].to_numpy(float), alone.readiness.groups["index"].to_numpy(float),
                    rtol=1e-12)
    assert view.waves.previous is None and view.waves.changes.empty


def test_page_shows_the_change_since_the_last_wave(source, changes, raw):
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.session_state["study_sources"] = {"public_servant": source}
    at.query_params["org"] = "103"
    at.run()
    assert not at.exception
    assert any(s.value == "Change since the previous wave (2024 to 2025)" for s in at.subheader)
    table = next(d.value for d in at.dataframe if "significant (p < .05)" in d.value.columns)
    lib = changes.for_group(103)
    assert_allclose(table["change"].to_numpy(float), lib["change"].to_numpy(float), rtol=1e-12)
    a, b = _answers(raw, 2024, 103, "ps_rdy_train1"), _answers(raw, 2025, 103, "ps_rdy_train1")
    row = table[table["measure"].str.startswith("I have received training")].iloc[0]
    assert row["2025"] - row["2024"] == pytest.approx(100 * ((b >= 4).mean() - (a >= 4).mean()), rel=1e-9)
    assert any(getattr(c, "key", None) == "rd_trend" for c in at.get("plotly_chart"))
    assert any("--wave 2025" in c.value for c in at.code)
