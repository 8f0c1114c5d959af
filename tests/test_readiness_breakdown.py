"""Breakdowns inside an organisation (issue 13, item 3): every cell under the threshold is
suppressed, with complementary suppression, so that no suppressed cell can be worked out by
subtraction from the organisation's total or from the other cells, in any breakdown of any
organisation of the sample, or by combining breakdowns."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli, privacy
from analysis.derived import with_age_band
from analysis.errors import InputError
from analysis.readiness import readiness
from analysis.readiness_breakdown import breakdown, breakdown_columns
from conftest import ROOT
from ui import state

MIN_N = 5
SAMPLE = ROOT / "sample_data" / "public_servants.csv"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return state.prepare(state.sample_source("public_servant")).data


@pytest.fixture(scope="module")
def instrument():
    return state.instrument("public_servant")


def _splits(data, instrument) -> dict:
    cols = breakdown_columns(data, instrument, "org_id")
    assert cols == ["gender", "age_band", "role"]  # org_type is constant inside an organisation
    return {by: breakdown(data, instrument, by, "org_id", min_n=MIN_N) for by in cols}


def _totals(data, instrument) -> pd.DataFrame:
    return readiness(data, instrument, "org_id", min_n=MIN_N).groups.set_index("group")


@pytest.fixture(scope="module")
def splits(data, instrument) -> dict:
    return _splits(data, instrument)


@pytest.fixture(scope="module")
def totals(data, instrument) -> pd.DataFrame:
    return _totals(data, instrument)


@pytest.fixture(scope="module")
def members(data, instrument, splits):
    return _members(data, instrument, splits)


def _members(data, instrument, splits):
    """Who each published number is computed from, rebuilt with the disclosure partition
    (``analysis.privacy``) and checked against the published counts: {(org, by, level): rows}
    for the shown cells and {(org, None, None): rows} for the organisation totals."""
    keys = [c.key for c in instrument.readiness_dimensions]
    frame = with_age_band(data)
    counted = frame[keys].notna().any(axis=1)
    view = privacy.check_filter(frame, None, MIN_N, instrument=instrument).data
    out = {}
    org_cells = privacy.group_cells(view, "org_id", MIN_N, answered=counted.reindex(view.index))
    for org, rows in org_cells.dropna().groupby(org_cells.dropna()).groups.items():
        out[(org, None, None)] = set(rows)
    for by in splits:
        cell = view["org_id"].astype(str) + "|" + view[by].astype(str)
        cell = cell.where(view[by].notna())
        used = privacy.group_cells(view, cell, MIN_N, answered=counted.reindex(view.index) & cell.notna())
        for key, rows in used.dropna().groupby(used.dropna()).groups.items():
            org, level = key.split("|")
            out[(float(org), by, level)] = set(rows)
    return out


def _truth(data: pd.DataFrame, org, by: str, level) -> set:
    """The organisation's respondents with ``by == level`` who answered a readiness item."""
    frame = with_age_band(data)
    keys = [c for c in frame.columns if c.startswith("rdy_")]
    mask = (frame["org_id"] == org) & (frame[by].astype(str) == str(level)) & frame[keys].notna().any(axis=1)
    return set(frame.index[mask])


def test_rebuilt_members_give_the_published_counts(splits, totals, members):
    for org, row in totals.iterrows():
        if not row["suppressed"]:
            assert len(members[(float(org), None, None)]) == row["n"]
    for by, split in splits.items():
        for r in split.table.itertuples():
            key = (float(r.group), by, str(r.level))
            if r.suppressed:
                assert key not in members
            else:
                assert len(members[key]) == r.n


def test_every_small_cell_is_suppressed_and_labelled(data, splits):
    frame = with_age_band(data)
    for by, split in splits.items():
        for r in split.table.itertuples():
            size = len(_truth(frame, r.group, by, r.level))
            if size < MIN_N:
                assert r.suppressed and r.suppression == "primary" and pd.isna(r.index) and pd.isna(r.n)
            if r.suppressed and size >= MIN_N:
                assert r.suppression == "complementary"
            if not r.suppressed:
                assert MIN_N <= r.n <= size


def test_no_suppressed_cell_is_derivable_by_subtraction(data, splits, totals, members):
    _no_suppressed_cell_is_derivable(data, splits, totals, members)


@pytest.mark.parametrize("wave", [2024, 2025])
def test_no_suppressed_cell_is_derivable_in_any_wave(instrument, wave):
    """The same in each wave of the two-wave sample (each wave is analysed on its own)."""
    source = state.Source("public_servant", "public_servants_waves.csv",
                          (ROOT / "sample_data" / "public_servants_waves.csv").read_bytes())
    both = state.prepare(source).data
    data = both[both["wave"] == wave].drop(columns="wave")
    splits = _splits(data, instrument)
    totals = _totals(data, instrument)
    members = _members(data, instrument, splits)
    test_rebuilt_members_give_the_published_counts(splits, totals, members)
    _no_suppressed_cell_is_derivable(data, splits, totals, members)


def _no_suppressed_cell_is_derivable(data, splits, totals, members):
    """Every breakdown of every organisation: the organisation's total minus its shown cells is
    empty or at least min_n people of more than one suppressed level; and, over all breakdowns
    of an organisation together, no suppressed cell's respondents are a linear combination of
    the published cells (least squares on the membership indicators), and every set of people
    sharing the same published cells (an atom, the finest thing any arithmetic can isolate) has
    at least min_n people."""
    frame = with_age_band(data)
    checked = suppressed_seen = 0
    for org, row in totals.iterrows():
        if row["suppressed"]:
            for split in splits.values():
                assert split.for_group(org)["suppressed"].all()
            continue
        total = members[(float(org), None, None)]
        people = sorted(total)
        pos = {p: i for i, p in enumerate(people)}
        published = [np.ones(len(people))]
        hidden = []
        for by, split in splits.items():
            cells = split.for_group(org)
            shown_n = int(cells.loc[~cells["suppressed"], "n"].sum())
            residual = len(total) - shown_n
            secret = [(_truth(frame, org, by, r.level) & total) for r in cells.itertuples() if r.suppressed]
            secret = [s for s in secret if s]
            if residual:
                assert residual >= MIN_N
                assert all(len(s) != residual for s in secret), (org, by)  # never exactly one hidden level
            for r in cells.itertuples():
                if not r.suppressed:
                    vec = np.zeros(len(people))
                    vec[[pos[p] for p in members[(float(org), by, str(r.level))]]] = 1
                    published.append(vec)
            hidden += [(by, s) for s in secret]
            checked += 1
        basis = np.array(published)
        patterns = pd.Series([tuple(basis[:, i]) for i in range(len(people))]).value_counts()
        assert patterns.min() >= MIN_N, (org, patterns.min())
        for by, s in hidden:
            target = np.zeros(len(people))
            target[[pos[p] for p in s]] = 1
            coef, *_ = np.linalg.lstsq(basis.T, target, rcond=None)
            assert np.linalg.norm(basis.T @ coef - target) > 1e-6, (org, by, len(s))
            suppressed_seen += 1
    assert checked == 3 * int((~totals["suppressed"]).sum())
    assert suppressed_seen > 100  # the sample does exercise the rule


def test_shown_cells_equal_the_mean_of_their_members(data, splits, members):
    """A shown cell's dimension scores are its members' mean 0-100 scores (when every member
    block has enough answers, i.e. the dimension's n is the cell's n)."""
    inst = state.instrument("public_servant")
    scale = {c.key: c.scale for c in inst.readiness_dimensions}
    cells = splits["gender"].table
    checked = 0
    for r in cells[~cells["suppressed"]].itertuples():
        rows = sorted(members[(float(r.group), "gender", str(r.level))])
        sub = data.loc[rows]
        for k, sc in scale.items():
            if sub[k].notna().all():
                expected = ((sub[k] - sc.min) / (sc.max - sc.min) * 100).mean()
                assert getattr(r, k) == pytest.approx(expected, rel=1e-12)
                checked += 1
    assert checked > 100


def test_unknown_breakdown_column_is_refused(data, instrument):
    with pytest.raises(InputError, match="cannot break an organisation down"):
        breakdown(data, instrument, "org_type", "org_id", min_n=MIN_N)


def test_command_and_page_give_the_library_cells(splits):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["readiness", str(SAMPLE), "--instrument", "public_servant", "--group", "org_id",
                         "--by", "gender", "--json"]) == 0
    cells = pd.DataFrame(json.loads(out.getvalue())["breakdown"]["cells"])
    lib = splits["gender"].table
    assert cells["suppressed"].tolist() == lib["suppressed"].tolist()
    assert_allclose(cells["index"].to_numpy(float), lib["index"].to_numpy(float), rtol=1e-12)
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = "103"
    at.run()
    at.selectbox(key="by").set_value("gender").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "readiness index" in d.value.columns)
    mine = lib[lib["group"] == 103]
    assert table["gender"].tolist() == ["Woman", "Man", "Other or prefer to self-describe"]
    assert_allclose(table["readiness index"].to_numpy(float), mine["index"].to_numpy(float), rtol=1e-12)
    assert table["shown"].tolist()[2].startswith("not shown")
    assert any("--by gender" in c.value for c in at.code)
