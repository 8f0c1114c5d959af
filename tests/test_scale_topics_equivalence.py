"""The topic screens' functions rewritten for national scale (issue 15) give exactly what the
per-pair / per-respondent versions they replaced gave: the correlations' rows and numbers, the
rows each pair leaves out for the R script, the labelled backgrounds, the age bands as text and
a filtered view made on a partition computed beforehand. The references below are the replaced
code, kept here verbatim."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import privacy
from analysis import topics as T
from analysis.derived import age_bands, band_labels, with_age_band
from analysis.instruments import load_instrument
from analysis.pipeline import prepare
from analysis.reproduce.correlations import withheld_rows
from analysis.topics.views import _labelled, published

ROOT = Path(__file__).resolve().parents[1]
SCORES = ["digital_skills", "coproduction_attitude", "psm_attraction", "psm_compassion", "perceived_usefulness"]


@pytest.fixture(scope="module")
def servants():
    prepared = prepare(ROOT / "sample_data" / "public_servants.csv", "public_servant")
    # knock out answers, so some blocks keep fewer than min_n answers to a pair
    rng = np.random.default_rng(7)
    data = prepared.data.copy()
    for column in SCORES:
        data.loc[rng.random(len(data)) < 0.25, column] = np.nan
    return SimpleNamespace(raw=prepared.raw, data=data, instrument=prepared.instrument)


def _views(servants):
    inst = servants.instrument
    orgs = sorted(servants.data["org_id"].dropna().unique())[:12]
    for filters in (None, {"gender": [1]}, {"org_id": orgs}):
        yield T.apply_filters(servants.data, filters, 5, instrument=inst)
    yield servants.data  # a frame not filtered through check_filter: one block


def _reference_correlations(data, columns, method, min_n):
    """analysis.topics.correlations before issue 15: the view's partition read again per pair."""
    values = data[columns].apply(pd.to_numeric, errors="coerce")
    rows, used = [], {}
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            keep = published(data, values[a].notna() & values[b].notna(), min_n)
            used[(a, b)] = data.index[keep.to_numpy()]
            x, y = values.loc[keep, a].to_numpy(float), values.loc[keep, b].to_numpy(float)
            n = len(x)
            if n < 4:
                rows.append({"x": a, "y": b, "n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
                continue
            r, p = stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)
            z, half = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3)
            rows.append({"x": a, "y": b, "n": n, "r": float(r), "ci_low": float(np.tanh(z - half)),
                         "ci_high": float(np.tanh(z + half)), "p": float(p)})
    return pd.DataFrame(rows, columns=["x", "y", "n", "r", "ci_low", "ci_high", "p"]), used


@pytest.mark.parametrize("method", ["pearson", "spearman"])
@pytest.mark.parametrize("min_n", [5, 10])
def test_correlations_use_the_same_rows_and_give_the_same_numbers(servants, method, min_n):
    for view in _views(servants):
        expected, used = _reference_correlations(view, SCORES, method, min_n)
        got = T.correlations(view, SCORES, method=method, min_n=min_n)
        pd.testing.assert_frame_equal(got.drop(columns=["reading"]), expected, check_exact=True)
        rows = T.correlation_rows(view, SCORES, min_n=min_n)
        assert list(rows) == list(used)
        assert all(rows[pair].equals(used[pair]) for pair in used)


def test_withheld_rows_are_the_answered_rows_each_pair_leaves_out(servants):
    for view in _views(servants):
        values = view[SCORES].apply(pd.to_numeric, errors="coerce")
        expected = {}
        for (a, b), used in T.correlation_rows(view, SCORES, min_n=5).items():
            answered = view.index[(values[a].notna() & values[b].notna()).to_numpy()]
            left = answered.difference(used)
            if len(left):
                expected[f"{a}|{b}"] = sorted(int(p) + 1 for p in servants.raw.index.get_indexer(left) if p >= 0)
        got = withheld_rows(servants, view, SCORES, 5)
        assert got == expected
        assert all(isinstance(v, int) for rows in got.values() for v in rows)
    assert any(withheld_rows(servants, view, SCORES, 5) for view in _views(servants))  # the test has something to check


def test_contributors_each_is_contributors_per_answer(servants):
    view = T.apply_filters(servants.data, {"gender": [1, 2]}, 5, instrument=servants.instrument)
    part = privacy.view_partition(view, 5)
    mask = (view["age"] > 30).to_numpy()
    answers = [view[c].notna().to_numpy() for c in SCORES] + [None]
    for got, answered in zip(part.contributors_each(mask, answers), answers):
        np.testing.assert_array_equal(got, part.contributors(mask, answered))


def test_labelled_backgrounds_are_the_per_respondent_lookup():
    inst = load_instrument("citizen")
    rng = np.random.default_rng(1)

    def reference(data, column, levels):
        s = pd.to_numeric(data[column], errors="coerce")
        s = s.mask(s.isin(getattr(inst, "missing_codes", []) or []))
        return pd.Categorical(s.map(lambda v: levels.get(int(v), str(v)) if pd.notna(v) else None),
                              categories=list(levels.values()), ordered=True)

    checked = 0
    for demo in inst.demographics:
        if not demo.levels:
            continue
        codes = np.array(list(demo.levels) + [-99, np.nan], dtype=float)  # a missing code, a blank
        for values in (rng.choice(codes, 3000), rng.choice(codes, 3000).astype(object)):
            data = pd.DataFrame({demo.id: values})
            pd.testing.assert_series_equal(pd.Series(_labelled(data, inst, demo.id)),
                                           pd.Series(reference(data, demo.id, demo.levels)))
            checked += 1
    assert checked


def test_age_band_labels_are_the_bands_as_text():
    rng = np.random.default_rng(3)
    age = pd.Series(np.where(rng.random(5000) < 0.1, np.nan, rng.integers(12, 90, 5000)), index=np.arange(5000) * 3)
    pd.testing.assert_series_equal(band_labels(age), age_bands(age).astype("string"))
    frame = pd.DataFrame({"age": age, "x": 1.0})
    assert with_age_band(frame)["age_band"].equals(age_bands(age).astype("string").rename("age_band"))


@pytest.mark.parametrize("filters", [None, {"gender": [1]}, {"age_band": ["30-44"], "role": [1, 2]}])
def test_a_view_on_a_partition_made_beforehand_is_the_view(servants, filters):
    inst = servants.instrument
    part = privacy.partition_for(with_age_band(servants.data), inst, 5)
    got = T.apply_filters(with_age_band(servants.data), filters, 5, instrument=inst, partition=part)
    pd.testing.assert_frame_equal(got, T.apply_filters(servants.data, filters, 5, instrument=inst), check_exact=True)


def test_spearman_on_order_codes_is_spearman_on_the_scores():
    from analysis.topics.correlations import _order_codes

    rng = np.random.default_rng(5)
    n = 40_000
    few = np.round(rng.normal(3, 1, n) * 4) / 4  # a scale score: few distinct values, many ties
    few[:10] = -0.0
    few[10:20] = 0.0
    many = rng.normal(size=n)  # more distinct values than 16-bit codes hold: kept as it is
    related = few + rng.normal(size=n)
    values = np.column_stack([few, many, related])
    values[rng.random((n, 3)) < 0.1] = np.nan
    codes = _order_codes(values)
    assert codes[0].dtype == np.int16 and codes[1].dtype == float
    for i, j in ((0, 1), (0, 2), (1, 2)):
        keep = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j]) & (rng.random(n) < 0.8)
        expected = stats.spearmanr(values[keep, i], values[keep, j])
        got = stats.spearmanr(codes[i][keep], codes[j][keep])
        assert (got.statistic, got.pvalue) == (expected.statistic, expected.pvalue)


def _reference_dimension_agreement(data, instrument, group, shown_groups, min_n):
    """analysis.topics.dimension_agreement before issue 15's fourth round: a whole ``aggregate``
    (group labels, means, ICCs) per readiness dimension, of which the rwg(j) summary was kept."""
    from analysis import aggregation
    from analysis.readiness import LOW_AGREEMENT
    from analysis.topics.organisations import _shown
    shown = _shown(data[group], shown_groups)
    used = privacy.group_cells(data, group, min_n).notna().to_numpy() & shown
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    kept = data.loc[used, list(dict.fromkeys([group, *items]))]
    rows = []
    for c in instrument.readiness_dimensions:
        items = [it.id for it in c.items if it.id in kept.columns]
        if not items:
            continue
        agg = aggregation.aggregate(kept, group, items, c.scale.max - c.scale.min + 1)
        rwg = agg.groups["rwg"].dropna()
        rows.append({"dimension": c.key, "rwg_j_mean": agg.rwg_mean, "rwg_j_median": agg.rwg_median,
                     "share_rwg_j_at_least_70": float((rwg >= LOW_AGREEMENT).mean()) if len(rwg) else float("nan")})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("min_n", [5, 10])
def test_dimension_agreement_is_the_aggregate_per_dimension(servants, min_n):
    inst = load_instrument("public_servant")
    data = servants.data.copy()
    rng = np.random.default_rng(11)  # missing answers, so groups differ per dimension
    items = [it.id for c in inst.readiness_dimensions for it in c.items]
    for column in items[::3]:
        data.loc[rng.random(len(data)) < 0.2, column] = np.nan
    for view in (data, T.apply_filters(data, {"gender": [1]}, min_n, instrument=inst)):
        shown = sorted(view["org_id"].dropna().unique())[1:]  # one organisation not shown
        got = T.dimension_agreement(view, inst, "org_id", shown, min_n=min_n)
        want = _reference_dimension_agreement(view, inst, "org_id", shown, min_n)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
