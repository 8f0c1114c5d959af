"""The readiness family computed from integer group codes (issue 15) gives, to the last bit, the
numbers of the straightforward computations it replaced: pandas group-bys on the group labels
(text for ICCs, objects for group means), a crosstab of the classified answers per question,
text keys for the breakdown's cells, ``rwg_j`` on each group's own frame, ``group_cells`` per
statistic, a per-cell label look-up and a per-municipality loop for the linked readiness.

Exact equality, not a tolerance, for everything that is ranked, rounded or compared with a
cut-off (group means, shares, counts, rwg(j), which groups are shown): pandas sums a group by
``ufunc.reduceat`` when the group ids run in order over the rows and by Kahan summation
otherwise, so a rewrite that changed which groups come first would move the last digits, and
groups with the same answers would no longer tie. The sample is used as read (rows grouped by
organisation) and shuffled, so both summations are exercised.

The standard deviations behind the confidence intervals and the ICCs' sums of squares are now
summed by ``np.bincount`` / ``np.add.reduceat`` instead of pandas' group-bys (issue 15, fifth
round): those are equal up to the order of floating-point summation (``rtol=1e-12``, and
``atol=1e-12`` for values near 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import privacy
from analysis.aggregation import _group_labels, icc1_icc2, rwg_j
from analysis.derived import with_age_band
from analysis.instruments import load_instrument
from analysis.model_data import _level_labels
from analysis.pipeline import prepare
from analysis.readiness import readiness, survey_partition
from analysis.readiness_breakdown import SEP, _label, breakdown, breakdown_columns, level_labels
from analysis.readiness_index import INDEX, dimension_scores, group_means, respondent_index
from analysis.readiness_questions import SHARES, classify, question_results
from analysis.topics.linking import link_readiness_to_municipalities
from reference_groupby import group_contributors, rwg_j_by_group

SAMPLE = "sample_data/public_servants.csv"


@pytest.fixture(scope="module")
def instrument():
    return load_instrument("public_servant")


@pytest.fixture(scope="module")
def sample(instrument) -> pd.DataFrame:
    return prepare(SAMPLE, instrument).data


@pytest.fixture(scope="module", params=["as read", "shuffled"])
def data(request, sample) -> pd.DataFrame:
    if request.param == "as read":
        return sample
    return sample.sample(frac=1.0, random_state=7)  # groups interleaved, the index shuffled too


def _items(instrument, data) -> list[str]:
    return [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]


def _exact(a, b) -> None:
    np.testing.assert_array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def test_icc_equals_the_group_by_on_text_labels(data):
    data = pd.concat([data, (data["org_id"] - 100).rename("unit")], axis=1)  # ids 1..60: "10" < "2" as text
    for group in ("org_id", "unit", "municipality_id", "gender", "role"):
        got = icc1_icc2(data, "rdy_strategy", group)
        y = data["rdy_strategy"].astype(float)
        g = _group_labels(data[group])
        keep = y.notna() & g.notna()
        y, g = y[keep], g[keep]
        means = y.groupby(g).transform("mean")
        msb = float(((means - y.mean()) ** 2).sum()) / (g.nunique() - 1)
        msw = float(((y - means) ** 2).sum()) / (len(y) - g.nunique())
        k = len(y) / g.nunique()
        assert (got.msb, got.msw) == (msb, msw)
        assert got.icc1 == float((msb - msw) / (msb + (k - 1) * msw))


def test_group_means_equal_the_group_by_on_objects(data, instrument):
    index = respondent_index(data, instrument)
    for groups in (data["org_id"], data["gender"], data["org_id"].astype(str), data["org_id"].to_numpy()):
        got = group_means(index, groups)
        frame = pd.DataFrame({"value": index.to_numpy(dtype=float), "group": np.asarray(groups, dtype=object)})
        frame = frame[frame["group"].notna() & frame["value"].notna()]
        agg = frame.groupby("group", sort=False)["value"].agg(["mean", "std", "count"])
        pd.testing.assert_index_equal(got.index, agg.index.rename("group"), exact=True)
        _exact(got["mean"], agg["mean"])
        _exact(got["n"], agg["count"])


def test_respondent_index_equals_the_row_mean_of_the_frame(data, instrument):
    dims = [c for c in instrument.readiness_dimensions if c.key in data.columns]
    expected = dimension_scores(data, dims).mean(axis=1, skipna=False)
    got = respondent_index(data, dims=dims)
    pd.testing.assert_series_equal(got, expected.rename(INDEX), check_exact=True)


@pytest.mark.parametrize("options", [5, 7])
def test_rwg_j_by_group_equals_rwg_j_of_each_group(data, instrument, options):
    items = _items(instrument, data)
    frame = data[items].copy()
    frame.iloc[::13, 2] = np.nan  # respondents with a missing item drop out
    for group in ("org_id", "gender"):
        ids = sorted(data[group].dropna().unique())
        codes = pd.Index(ids).get_indexer(data[group])
        for cols in (items, items[:3], items[:1]):
            got = rwg_j_by_group(frame[cols].to_numpy(dtype=float), codes, len(ids), options)
            expected = [rwg_j(frame.loc[(data[group] == g).to_numpy(), cols], options) for g in ids]
            _exact(got, expected)


@pytest.mark.parametrize("min_n", [5, 10])
def test_group_contributors_equal_group_cells(data, instrument, min_n):
    view = privacy.check_filter(data, {"role": [1, 2]}, min_n, instrument=instrument).data
    rows = group_contributors(view, "org_id", min_n)
    for column in ["rdy_strategy", *_items(instrument, data)[:4]]:
        answered = view[column].notna()
        expected = privacy.group_cells(view, "org_id", min_n, answered=answered).notna().to_numpy()
        np.testing.assert_array_equal(rows(answered), expected)
        np.testing.assert_array_equal(rows(answered.to_numpy()), expected)


def test_survey_partition_is_the_partition_check_filter_builds(data, instrument):
    built = privacy.check_filter(data, None, 5, instrument=instrument).partition
    given = survey_partition(data, instrument, 5)
    assert given.columns == built.columns
    np.testing.assert_array_equal(given.block, built.block)
    a = readiness(data, instrument, "org_id", min_n=5)
    b = readiness(data, instrument, "org_id", min_n=5, partition=given)
    pd.testing.assert_frame_equal(a.groups, b.groups, check_exact=True)


def test_question_shares_equal_a_crosstab_of_the_classified_answers(data, instrument):
    result = question_results(data, instrument, "org_id", min_n=5)
    view = privacy.check_filter(data, None, 5, instrument=instrument).data
    items = result.items
    counted = data[items["item"].tolist()].notna().any(axis=1) & data["org_id"].notna()
    cell = privacy.group_cells(view, "org_id", 5, answered=counted.reindex(view.index))
    all_groups = sorted(data["org_id"].dropna().unique().tolist())
    for spec in items.itertuples():
        rows = privacy.group_cells(view, "org_id", 5, answered=view[spec.item].notna() & cell.notna())
        kind = classify(view[spec.item], spec.scale_min, spec.scale_max, spec.reverse)
        use = rows.notna()
        counts = pd.crosstab(rows[use], kind[use]).reindex(columns=list(SHARES), fill_value=0)
        n = counts.sum(axis=1)
        shares = (counts.div(n, axis=0) * 100.0).reindex(all_groups)
        got = result.groups[result.groups["item"] == spec.item].set_index("group")
        for share in SHARES:
            _exact(got[share], shares[share])
        _exact(got["n"], n.reindex(all_groups))


def test_breakdown_columns_equal_a_group_by_nunique(data, instrument):
    frame = with_age_band(data)
    expected = [c for c in privacy.disclosure_columns(data, instrument)
                if c not in {"org_id", "municipality_id"} and c in frame.columns
                and frame.groupby("org_id")[c].nunique(dropna=False).max() > 1]
    assert breakdown_columns(data, instrument, "org_id") == expected


@pytest.mark.parametrize("by", ["gender", "role", "age_band"])
def test_breakdown_equals_readiness_over_text_cell_keys(data, instrument, by):
    got = breakdown(data, instrument, by, "org_id", min_n=5).table
    frame = with_age_band(data)
    keys = frame["org_id"].map(str) + SEP + frame[by].map(str)
    frame = pd.concat([frame, keys.where(frame["org_id"].notna() & frame[by].notna()).rename("_cell")], axis=1)
    cells = readiness(frame, instrument, "_cell", min_n=5).groups.set_index("group")
    counted = frame[_items(instrument, data)].notna().any(axis=1)
    sizes = frame.loc[counted, ["org_id", by]].groupby(["org_id", by]).size()
    levels = sorted(frame[by].dropna().unique().tolist(), key=float if frame[by].dtype.kind in "if" else str)
    labels = level_labels(instrument, by)
    rows = []
    for g in sorted(frame["org_id"].dropna().unique().tolist()):
        for level in levels:
            key = f"{g}{SEP}{level}"
            shown = key in cells.index and not bool(cells.loc[key, "suppressed"])
            row = cells.loc[key] if shown else None
            small = int(sizes.get((g, level), 0)) < 5
            rows.append({"group": g, "level": level, "label": _label(level, labels),
                         "n": int(row["n"]) if shown else None, "suppressed": not shown,
                         "suppression": "" if shown else ("primary" if small else "complementary"),
                         "index": float(row["index"]) if shown else float("nan"),
                         **{k: (float(row[k]) if shown else float("nan")) for k in got.columns[7:]}})
    expected = pd.DataFrame(rows)
    expected["n"] = pd.Series([r["n"] for r in rows], dtype=object)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_level_labels_equal_the_per_answer_look_up():
    labels = {1.0: "Woman", 2.0: "Man", 3.0: "Other"}

    def per_answer(column):
        numeric = pd.to_numeric(column, errors="coerce")
        return [np.nan if pd.isna(raw) else labels.get(code, str(raw)) for raw, code in zip(column, numeric)]

    for column in (pd.Series([1, 2, 3, 4, 1]), pd.Series([1.0, np.nan, 2.0, 7.5, -0.0, 0.0]),
                   pd.Series(["1", "2", None, "x", "1.0"]), pd.Series(["1", 2, None, 1.0, True], dtype=object),
                   pd.Series([1, None, 3], dtype="Int64"), pd.Series([True, False]),
                   pd.Series(pd.Categorical([1, 2, None])), pd.Series([], dtype=float)):
        expected, got = per_answer(column), _level_labels(column, labels)
        assert repr(got) == repr(expected)
        if expected:
            assert pd.Series(got).dtype == pd.Series(expected).dtype


def test_linked_readiness_equals_the_loop_over_municipalities(sample, instrument):
    """The municipalities, counts and mean readiness exactly; rwg(j) (each item's variance now
    from exact counts of the answers per municipality) equal up to the order of floating-point
    summation."""
    citizens = prepare("sample_data/citizens.csv", "citizen").data
    got = link_readiness_to_municipalities(sample, citizens, instrument, min_n=5).municipalities
    dims = [c for c in instrument.readiness_dimensions if c.key in sample.columns]
    index = respondent_index(sample, dims=dims)
    keep = index.notna() & privacy.grouped_rows(sample, "org_id", 5, instrument=instrument, answered=index.notna())
    items = _items(instrument, sample)
    used = pd.concat([sample.loc[keep, ["org_id", "municipality_id", *items]], index[keep].rename(INDEX)], axis=1)
    answers = used[items].copy()
    for c in dims:
        for it in c.items:
            if it.reverse:
                answers[it.id] = c.scale.min + c.scale.max - answers[it.id]
    means = group_means(used[INDEX], used["municipality_id"])
    rows = [{"municipality": m, "n_servants": int(len(sub)), "n_orgs": int(sub["org_id"].nunique()),
             "readiness": float(means.loc[m, "mean"]), "rwg": rwg_j(answers.loc[sub.index], 5)}
            for m, sub in used.groupby("municipality_id")]
    expected = pd.DataFrame(rows, columns=["municipality", "n_servants", "n_orgs", "readiness", "rwg"])
    expected = privacy.suppress(expected, "n_servants", 5, value_cols=["readiness", "rwg"], totals=True)
    pd.testing.assert_frame_equal(got.drop(columns="rwg"), expected.drop(columns="rwg"), check_exact=True)
    np.testing.assert_allclose(got["rwg"], expected["rwg"], rtol=1e-12, atol=1e-12)
    assert got["rwg"].notna().sum() > 10


@pytest.mark.parametrize("kind", ["type", "parent"])
def test_question_benchmarks_equal_the_median_of_each_comparator_set(data, instrument, kind):
    from analysis.organisations import organisations, read_lookup

    orgs = organisations(data, "org_id", instrument=instrument, lookup=read_lookup("sample_data/organisations.csv"))
    result = question_results(data, instrument, "org_id", min_n=5,
                              benchmark_by=orgs.types() if kind == "type" else orgs.parents())
    shown = result.groups[~result.groups["suppressed"]]
    sets = [("all organisations", set(result.comparators))]
    sets += [(k, {g for g, v in result.comparators.items() if v == k})
             for k in dict.fromkeys(result.comparators.values()) if k != "all organisations"]
    rows = []
    for name, members in sets:
        part = shown[shown["group"].isin(members)]
        for item in result.items["item"]:
            vals = part[part["item"] == item]
            rows.append({"comparator": name, "item": item, "n_groups": int(len(vals)),
                         **{s: float(vals[s].median()) if len(vals) else float("nan") for s in SHARES}})
    assert len(sets) > 2
    pd.testing.assert_frame_equal(result.benchmarks, pd.DataFrame(rows), check_exact=True)


def test_wave_pieces_equal_their_per_group_forms():
    """The waves' Welch tests of every group at once equal scipy's ``ttest_ind(b, a,
    equal_var=False)`` group by group (up to the order of floating-point summation), with the
    old per-group df and its missing cases: fewer than two answers, identical answers."""
    import warnings

    from scipy import stats

    from analysis.readiness_waves import _moments, _two_proportion_tests, _welch, two_proportion_test

    rng = np.random.default_rng(11)
    waves = []
    for _ in range(2):
        cells = pd.Series(rng.integers(0, 40, 3000).astype(float))
        cells[rng.random(3000) < 0.1] = np.nan
        cells[cells == 7] = np.nan  # a group without answers in a wave
        values = pd.Series(np.round(rng.normal(50, 10, 3000)))
        values[rng.random(3000) < 0.1] = np.nan
        values[cells == 3] = 42.0  # identical answers
        values[(cells == 5) & (np.arange(3000) > 100)] = np.nan  # one answer at most
        waves.append((cells, values))
    groups = pd.Index(np.arange(40, dtype=float))
    aligned = [_moments(c, v).reindex(groups).fillna({"n": 0.0}) for c, v in waves]
    t, df, p = _welch(*aligned)
    for k, g in enumerate(groups):
        a, b = (v[c == g].dropna().to_numpy(float) for c, v in waves)
        if len(a) < 2 or len(b) < 2:
            assert np.isnan(t[k]) and np.isnan(df[k]) and np.isnan(p[k])
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = stats.ttest_ind(b, a, equal_var=False)
        va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
        ref_df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else np.nan
        np.testing.assert_allclose([t[k], df[k], p[k]], [ref.statistic, ref_df, ref.pvalue], rtol=1e-10, atol=1e-12)
    assert np.isnan(t[3]) and np.isnan(df[3])  # identical answers in both waves: undefined
    n1, n2 = rng.integers(1, 400, 500).astype(float), rng.integers(1, 400, 500).astype(float)
    x1, x2 = np.floor(rng.random(500) * (n1 + 1)), np.floor(rng.random(500) * (n2 + 1))
    x1[:5], x2[:5] = 0, 0  # no variance: undefined
    z, p = _two_proportion_tests(x1, n1, x2, n2)
    expected = np.array([two_proportion_test(int(a), b, int(c), d) for a, b, c, d in zip(x1, n1, x2, n2)])
    np.testing.assert_array_equal(z, expected[:, 0])
    np.testing.assert_array_equal(p, expected[:, 1])


def _old_t_means(values: np.ndarray, codes: np.ndarray, level: float = 0.95):
    """``readiness_index._t_means`` before issue 15's fifth round: pandas group-by mean and std."""
    from scipy import stats

    keep = (codes >= 0) & ~np.isnan(values)
    grouped = pd.Series(values[keep]).groupby(codes[keep], sort=False)
    mean_by = grouped.mean()
    order = np.asarray(mean_by.index, dtype=np.int64)
    count = np.bincount(codes[keep], minlength=int(order.max()) + 1 if len(order) else 0)[order]
    mean = mean_by.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        half = (stats.t.ppf(0.5 + level / 2, np.where(count >= 2, count - 1, np.nan))
                * grouped.std().to_numpy() / np.sqrt(np.maximum(count, 1)))
    return order, count, mean, mean - half, mean + half


@pytest.mark.parametrize("layout", ["runs in order", "runs in any order", "interleaved"])
def test_group_statistics_give_pandas_means_to_the_bit(layout):
    from analysis.readiness_index import _t_means, means_by_code

    rng = np.random.default_rng(3)
    codes = np.sort(rng.integers(0, 300, 20000))
    if layout == "runs in any order":  # each group one run, the runs shuffled
        order = rng.permutation(300)
        codes = np.concatenate([np.full(int((codes == g).sum()), g) for g in order])
    elif layout == "interleaved":
        codes = rng.permutation(codes)
    codes[rng.random(len(codes)) < 0.02] = -1
    codes[codes == 7] = 8  # a code without rows
    values = np.round(rng.normal(3, 1, len(codes)) * 3) / 3 * 25  # scores: few values, many ties
    values[rng.random(len(codes)) < 0.05] = np.nan
    values[codes == 11] = 42.0  # a group with no spread
    got, expected = _t_means(values, codes, 0.95), _old_t_means(values, codes)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    _exact(got[2], expected[2])
    for a, b in zip(got[3:], expected[3:]):  # equal up to the order of floating-point summation
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    n, mean, low, high = means_by_code(values, codes, 301)
    _exact(mean[expected[0]], expected[2])
    np.testing.assert_array_equal(n[expected[0]], expected[1])
    assert np.isnan(mean[7]) and n[7] == 0
    np.testing.assert_allclose(high[expected[0]], expected[4], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("min_n", [5, 10])
def test_readiness_intervals_and_iccs_equal_the_group_bys(data, instrument, min_n):
    """The group means exactly, their t intervals and the ICCs up to the order of summation."""
    from analysis.readiness_index import on_0_100

    result = readiness(data, instrument, "org_id", min_n=min_n)
    view = on_0_100(data, [c for c in instrument.readiness_dimensions if c.key in data.columns], "_index")
    rows = view.loc[result.rows]
    shown = result.groups[~result.groups["suppressed"]].set_index("group")
    for c in instrument.readiness_dimensions:
        y = rows[c.key].to_numpy(dtype=float)
        icc = icc1_icc2(rows, c.key, "org_id")
        got = result.icc.set_index("dimension").loc[c.key]
        np.testing.assert_allclose([got["icc1"], got["icc2"]], [icc.icc1, icc.icc2], rtol=1e-12, atol=1e-12)
        assert (got["n_groups"], got["n_obs"]) == (icc.n_groups, icc.n_obs)
        # each group's interval from its rows that enter the mean (whole blocks with min_n answers)
        groups = pd.Index(sorted(data["org_id"].unique()))
        codes = groups.get_indexer(rows["org_id"])
        order, n, mean, low, high = _old_t_means(y, codes)
        with_n = shown[f"{c.key}_n"].astype(float)
        same = (with_n.reindex(groups[order]).to_numpy() == n)  # blocks short of answers leave out rows
        np.testing.assert_allclose(shown.loc[groups[order][same], f"{c.key}_ci_low"], low[same], rtol=1e-12)
        np.testing.assert_allclose(shown.loc[groups[order][same], f"{c.key}_ci_high"], high[same], rtol=1e-12)
        _exact(shown.loc[groups[order][same], c.key], mean[same])
        assert same.sum() >= 0.8 * len(shown)


def test_readiness_iccs_group_ids_by_their_text(sample, instrument):
    """Ids whose text is the same (1 and "1" in one column) are one group for the ICCs, as for
    ``aggregation.icc1_icc2``, though two rows of the readiness table."""
    from analysis.readiness_index import on_0_100

    data = sample.copy()
    unit = data["org_id"].astype(object)
    unit[data["role"] != 1] = data["org_id"].astype(str)  # blocks lie within a role: within a unit
    data["unit"] = unit
    result = readiness(data, instrument, "unit", min_n=5)
    shown = result.groups.loc[~result.groups["suppressed"], "group"]
    assert shown.map(str).duplicated().sum() >= 5  # both 1 and "1" shown for some organisations
    dims = [c for c in instrument.readiness_dimensions if c.key in data.columns]
    rows = on_0_100(data, dims, "_index").loc[result.rows]
    for c in dims:
        icc = icc1_icc2(rows, c.key, "unit")
        got = result.icc.set_index("dimension").loc[c.key]
        np.testing.assert_allclose([got["icc1"], got["icc2"]], [icc.icc1, icc.icc2], rtol=1e-12, atol=1e-12)
        assert (got["n_groups"], got["n_obs"]) == (icc.n_groups, icc.n_obs)
