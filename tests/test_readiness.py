"""Readiness index and dimensions against hand computation; a small organisation stays hidden."""
from __future__ import annotations

import io
import itertools
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis.cli import main
from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.readiness import readiness
from analysis.results import to_jsonable
from analysis.topics import age_bands, apply_filters
from readiness_hand import hand_scores

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "public_servants.csv"


@pytest.fixture(scope="module")
def instrument():
    return load_instrument("public_servant")


@pytest.fixture(scope="module")
def raw():
    """The file as it is: the hand computations start from it."""
    return pd.read_csv(SAMPLE)


@pytest.fixture(scope="module")
def servants(instrument):
    """The sample through the pipeline: analyses take its scored frame and never score again."""
    from analysis.pipeline import prepare
    return prepare(SAMPLE, instrument).data


def test_analyses_refuse_data_the_pipeline_did_not_score(raw, instrument):
    with pytest.raises(InputError, match="not their scores"):
        readiness(raw, instrument, "org_id")


def test_index_and_dimensions_match_hand_computation(servants, raw, instrument):
    res = readiness(servants, instrument, "org_id", min_n=5)
    hand = hand_scores(raw, instrument)
    keys = [c.key for c in instrument.constructs if c.readiness_dimension]
    assert res.dimensions == keys
    by_org = hand.groupby("org_id")[keys].mean()
    shown = res.groups[~res.groups["suppressed"]].set_index("group")
    assert len(shown) > 40
    # a dimension cell uses every answer of the organisation unless a block of its partition
    # has fewer than min_n answers to that dimension (analysis.privacy); then it uses fewer
    answered = hand.groupby("org_id")[keys].count().loc[shown.index]
    used = shown[[f"{k}_n" for k in keys]].to_numpy(float)
    complete = used == answered.to_numpy(float)
    assert complete.mean() > 0.97 and (used <= answered.to_numpy(float)).all()
    actual, expected = shown[keys].to_numpy(float), by_org.loc[shown.index, keys].to_numpy()
    assert_allclose(actual[complete], expected[complete], atol=1e-9)
    # the index: the mean of the respondents' own index (mean of their seven 0-100 scores,
    # rowMeans(na.rm = FALSE)) over the organisation's respondents with one
    by_person = hand.groupby("org_id")["index"].mean().loc[shown.index].to_numpy()
    rows = complete.all(axis=1)
    assert_allclose(shown["index"].to_numpy(float)[rows], by_person[rows], atol=1e-9)
    # where every respondent has every dimension scored it is the mean of the dimension bars
    full = hand.groupby("org_id")[keys].count().min(axis=1).loc[shown.index].to_numpy() == shown["n"].to_numpy(float)
    assert_allclose(shown["index"].to_numpy(float)[rows & full], expected[rows & full].mean(axis=1), atol=1e-9)
    # the 95% CI of one dimension in one organisation
    org = shown.index[0]
    x = hand.loc[hand["org_id"] == org, keys[0]].dropna()
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=x.std(ddof=1) / np.sqrt(len(x)))
    assert_allclose([shown.loc[org, f"{keys[0]}_ci_low"], shown.loc[org, f"{keys[0]}_ci_high"]], [lo, hi], atol=1e-9)
    assert shown.loc[org, f"{keys[0]}_n"] == len(x)
    # benchmark: median and quartiles over the organisations shown
    med = np.percentile(shown["index"].dropna(), [25, 50, 75])
    bench = res.benchmark.set_index("measure")
    assert_allclose(bench.loc["index", ["q1", "median", "q3"]].to_numpy(float), med, atol=1e-9)


def test_rwg_uses_reverse_keyed_readiness_items(servants, raw, instrument):
    res = readiness(servants, instrument, "org_id")
    org = res.groups.loc[~res.groups["suppressed"], "group"].iloc[0]
    items = [it for c in instrument.constructs if c.readiness_dimension for it in c.items]
    x = raw.loc[raw["org_id"] == org, [it.id for it in items]].replace(-99, np.nan).dropna().astype(float)
    for it in items:
        if it.reverse:
            x[it.id] = 6 - x[it.id]
    s2 = min(x.var(ddof=1).mean(), 2.0)
    j = x.shape[1]
    expected = j * (1 - s2 / 2) / (j * (1 - s2 / 2) + s2 / 2)
    row = res.groups.set_index("group").loc[org]
    assert_allclose(row["rwg"], expected, atol=1e-9)
    assert row["low_agreement"] == (expected < 0.70)


def _only_one_small(servants):
    """Sample data with a single organisation below 5 (org 101, two people)."""
    sizes = servants.groupby("org_id").size()
    others_small = sizes[(sizes < 5) & (sizes.index != 101)].index
    data = servants[~servants["org_id"].isin(others_small)].copy()
    assert (data.groupby("org_id").size() < 5).sum() == 1
    return data


def test_small_organisation_shows_nothing_anywhere(servants, instrument):
    data = _only_one_small(servants)
    res = readiness(data, instrument, "org_id", min_n=5)
    row = res.groups.set_index("group").loc[101]
    assert row["suppressed"] and pd.isna(row["n"])
    value_cols = [c for c in res.groups.columns if c not in ("group", "n", "suppressed", "suppression", "low_agreement")
                  and not c.endswith("_n")]
    assert row[value_cols].isna().all()
    assert row["low_agreement"] is None
    # its two respondents are pooled with a block of another organisation, so the total
    # minus the groups shown is never fewer than 5 people
    counted = len(data)
    shown_n = res.groups.loc[~res.groups["suppressed"], "n"].sum()
    assert counted - shown_n >= 5
    # benchmark leaves it out; percentiles are null
    assert res.benchmark["n_groups"].max() <= data["org_id"].nunique() - 1
    assert res.percentiles.loc[res.percentiles["group"] == 101, "percentile"].isna().all()
    wts = res.where_to_start(101)
    assert wts.suppressed and wts.table.empty
    assert "no scores" in res.reading(101)
    js = to_jsonable(res)
    g = next(x for x in js["groups"] if x["group"] == 101)
    assert g["index"] is None and g["rwg"] is None and all(v is None for v in g["dimensions"].values())
    assert all(v is None for v in js["benchmark"]["percentiles"]["101"].values())
    assert "101" not in json.dumps(js["benchmark"]["measures"])


def test_where_to_start_links_dimensions_below_median_to_evidence(servants, instrument):
    res = readiness(servants, instrument, "org_id")
    bench = res.benchmark.set_index("measure")["median"]
    for org in res.groups.loc[~res.groups["suppressed"], "group"].head(10):
        wts = res.where_to_start(org)
        row = res.groups.set_index("group").loc[org]
        below = sorted((row[k] - bench[k], k) for k in res.dimensions if row[k] < bench[k])
        assert wts.table["dimension"].tolist() == [k for _, k in below[:3]]
        for enablers in wts.table["enablers"]:
            assert enablers and all(e["source"] and e["text"] for e in enablers)
    with pytest.raises(InputError):
        res.where_to_start(99999)


@pytest.mark.slow
def test_no_filter_combination_reveals_the_small_organisation(servants, raw, instrument):
    """Brute force over gender x role x age-band filters: every view hides org 101, and no
    linear combination of what the views publish (each group's rows, as used) isolates org
    101 or any of its members (the full search is in tests/test_disclosure.py)."""
    from analysis import privacy
    data = _only_one_small(servants).reset_index(drop=True)
    data["age_band"] = age_bands(data["age"]).astype(str)
    choices = {
        "gender": [None, [1], [2], [1, 2]],
        "role": [None, [1], [3], [1, 2]],
        "age_band": [None, ["30-44"], ["45-59"], ["45-59", "60+"]],
    }
    members = (data["org_id"] == 101).to_numpy()
    hand = hand_scores(_only_one_small(raw).reset_index(drop=True), instrument)
    published = []
    refused = allowed = 0
    for combo in itertools.product(*choices.values()):
        filters = {k: v for k, v in zip(choices, combo) if v is not None}
        try:
            res = readiness(data, instrument, "org_id", min_n=5, filters=filters)
        except InputError as exc:
            assert "too few respondents" in str(exc) or "no respondents" in str(exc)
            refused += 1
            continue
        allowed += 1
        row = res.groups.set_index("group").loc[101]
        assert row["suppressed"] and pd.isna(row["index"]) and pd.isna(row["n"])
        assert all(pd.isna(row[k]) for k in res.dimensions)
        assert res.where_to_start(101).table.empty
        view = apply_filters(data, filters, 5, instrument=instrument)
        published.append(data.index.isin(view.index).astype(float))  # the topic screens' view
        answered = hand.loc[view.index, res.dimensions].notna().any(axis=1)
        cells = privacy.group_cells(view, "org_id", 5, answered=answered)
        for g in res.groups.loc[~res.groups["suppressed"], "group"]:
            published.append(data.index.isin(view.index[(cells == g).to_numpy()]).astype(float))
    assert allowed > 20 and refused > 0
    # A target is derivable iff it lies in the row space of what was published, i.e. iff
    # rank([A; t]) == rank(A). One SVD of A (duplicate rows dropped: same row space) gives an
    # orthonormal basis V of that space; t adds a rank iff its residual t - V V't is not zero,
    # with numpy.linalg.matrix_rank's own tolerance (S.max() * max(M, N) * eps).
    a = np.unique(np.array(published), axis=0)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    tol = s.max() * max(a.shape) * np.finfo(float).eps
    basis = vt[s > tol]
    for target in [members.astype(float)] + [np.eye(len(data))[i] for i in np.flatnonzero(members)]:
        residual = target - basis.T @ (basis @ target)
        assert np.linalg.norm(residual) > tol, "org 101 is derivable"


def test_command_json_equals_library(servants, instrument):
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["readiness", str(SAMPLE), "--instrument", "public_servant", "--group", "org_id",
                     "--min-n", "5", "--json"])
    assert code == 0
    out = json.loads(buf.getvalue())
    expected = json.loads(json.dumps(to_jsonable(readiness(servants, instrument, "org_id", min_n=5))))
    assert {k: out[k] for k in expected} == expected  # the readiness keys as the library gives them
    assert set(out) - set(expected) == {"comparison", "comparison_benchmark", "comparison_percentiles",
                                        "organisations", "questions", "breakdown", "waves"}  # practitioners
    assert set(out) >= {"min_n", "dimensions", "groups", "benchmark"}
    assert set(out["groups"][0]) == {"group", "n", "suppressed", "index", "dimensions", "rwg"}
    small = [g for g in out["groups"] if g["suppressed"]]
    assert small and all(g["index"] is None and g["n"] is None for g in small)


def test_command_bad_input_exits_2(capsys):
    assert main(["readiness", str(SAMPLE), "--group", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_every_sample_dimension_has_its_own_evidence(instrument):
    from analysis.readiness import evidence_for
    themes = {c.key: evidence_for(c) for c in instrument.readiness_dimensions}
    assert "general" not in {t["id"] for t in themes.values()}
    assert len({t["id"] for t in themes.values()}) == len(themes)
    assert "training" in themes["rdy_training"]["enablers"][0]["text"].lower()
    assert all("(" in e["source"] for t in themes.values() for e in t["enablers"])


def test_filtered_view_scores_equal_scores_of_the_rows_used(servants, raw, instrument):
    """A filtered view's organisation scores are the hand-computed scores of the rows it
    publishes: whole blocks of the partition inside the filter and the organisation."""
    from analysis import privacy
    res = readiness(servants, instrument, "org_id", filters={"gender": [1]})
    view = apply_filters(servants, {"gender": [1]}, 5, instrument=instrument)
    assert (servants.loc[view.index, "gender"] == 1).all()
    hand = hand_scores(raw.loc[view.index], instrument)
    cells = privacy.group_cells(view, "org_id", 5, answered=hand[res.dimensions].notna().any(axis=1))
    shown = res.groups[~res.groups["suppressed"]].set_index("group")
    keys = res.dimensions
    used = hand[cells.notna()]
    expected = used.groupby("org_id")[keys].mean().loc[shown.index].to_numpy()
    actual = shown[keys].to_numpy(float)
    complete = shown[[f"{k}_n" for k in keys]].to_numpy(float) == used.groupby("org_id")[keys].count().loc[shown.index].to_numpy()
    assert complete.mean() > 0.9
    assert_allclose(actual[complete], expected[complete], atol=1e-9)
    assert (shown["n"] >= 5).all()
    assert res.groups.set_index("group").loc[101, "suppressed"]


def test_index_ci_is_the_t_interval_of_respondents_index_when_answers_are_complete():
    """The index is the mean of respondents' own index, so its CI is the plain t interval of
    those (computed here by hand)."""
    from scipy import stats as sps

    from analysis.instruments import load_instrument
    from analysis.pipeline import prepare
    from analysis.readiness import readiness as readiness_fn

    inst = load_instrument("public_servant")
    data = prepare(ROOT / "sample_data" / "public_servants.csv", inst).data
    dims = inst.readiness_dimensions
    scores = pd.DataFrame({c.key: (data[c.key] - c.scale.min) / (c.scale.max - c.scale.min) * 100 for c in dims})
    scores["org_id"] = data["org_id"]
    complete_orgs = [g for g, part in scores.groupby("org_id")
                     if len(part) >= 5 and part[[c.key for c in dims]].notna().all().all()]
    assert complete_orgs, "the sample should have organisations with complete readiness answers"
    result = readiness_fn(data, inst, "org_id").groups.set_index("group")
    for g in complete_orgs[:5]:
        person = scores.loc[scores["org_id"] == g, [c.key for c in dims]].mean(axis=1)
        half = sps.t.ppf(0.975, len(person) - 1) * person.std(ddof=1) / np.sqrt(len(person))
        row = result.loc[g]
        if row["suppressed"]:
            continue
        assert abs(row["index"] - person.mean()) < 1e-9
        assert abs(row["index_ci_low"] - (person.mean() - half)) < 1e-9
        assert abs(row["index_ci_high"] - (person.mean() + half)) < 1e-9
