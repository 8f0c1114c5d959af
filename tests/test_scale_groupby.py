"""Group-by statistics from sufficient statistics give, group for group, the numbers of the
per-group functions they replaced (``rwg``, ``rwg_j``, ``percentile_rank``), on many groups
with text and numeric labels, missing answers and groups of one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.aggregation import _group_order, aggregate, icc1_icc2, rwg, rwg_j
from analysis.readiness import percentile_rank, percentile_ranks


def _study(n=6000, groups=700, seed=3, labels="text"):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    u = rng.normal(size=groups)[g]
    items = {f"i{j}": np.clip(np.round(3 + u + rng.normal(size=n)), 1, 5) for j in range(4)}
    frame = pd.DataFrame(items)
    frame.iloc[rng.random((n, 4)) < 0.05] = np.nan
    if labels == "text":
        frame["g"] = np.array([f"org-{k}" for k in range(groups)], dtype=object)[g]
    else:  # numeric ids with gaps and a few missing
        ids = (g * 3 + 100).astype(float)
        ids[rng.random(n) < 0.01] = np.nan
        frame["g"] = ids
    frame.loc[frame.index[:3], "g"] = frame["g"].iloc[3]  # something shared
    return frame


@pytest.mark.parametrize("labels", ["text", "numeric"])
@pytest.mark.parametrize("k", [1, 4])
def test_aggregate_equals_the_per_group_functions(labels, k):
    data = _study(labels=labels)
    items = [f"i{j}" for j in range(k)]
    res = aggregate(data, "g", items, 5)
    keep = data[items].notna().all(axis=1) & data["g"].notna()
    sub = data[keep]
    from analysis.aggregation import _group_labels

    lab = _group_labels(sub["g"])
    assert res.groups["group"].tolist() == _group_order(sub["g"])
    for row in res.groups.itertuples():
        members = sub[(lab == row.group).to_numpy()]
        assert row.n == len(members)
        assert row.mean == pytest.approx(members[items].mean(axis=1).mean(), rel=1e-12)
        expected = (rwg(members[items[0]], 5) if k == 1 else rwg_j(members[items], 5)) if len(members) >= 2 \
            else float("nan")
        if np.isnan(expected):
            assert np.isnan(row.rwg)
        else:
            assert row.rwg == pytest.approx(expected, rel=1e-12, abs=1e-12)
    icc = icc1_icc2(pd.DataFrame({"s": sub[items].mean(axis=1), "g": lab}), "s", "g")
    assert (res.icc1, res.icc2) == (icc.icc1, icc.icc2)


def test_percentile_ranks_equal_percentile_rank():
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(50, 10, 2000))  # ties on purpose
    scores = np.concatenate([values[:500], [np.nan, -1e9, 1e9, 50.0]])
    fast = percentile_ranks(scores, values)
    slow = [percentile_rank(None if np.isnan(s) else s, values) for s in scores]
    np.testing.assert_array_equal(fast, np.array(slow, dtype=float))
    assert np.isnan(percentile_ranks([1.0], [np.nan])).all()


def test_readiness_group_statistics_equal_the_per_group_functions():
    from scipy import stats

    from analysis.instruments import load_instrument
    from analysis.readiness import _rwg_items, _rwg_items_by_group
    from analysis.readiness_index import group_means

    inst = load_instrument("public_servant")
    dims = list(inst.readiness_dimensions)
    rng = np.random.default_rng(5)
    n, groups = 5000, 400
    g = rng.integers(0, groups, n)
    g[:30] = 7  # one larger group; some groups will have 0 or 1 respondents
    cols = {it.id: np.clip(np.round(3 + rng.normal(size=n)), 1, 5) for c in dims for it in c.items}
    items = pd.DataFrame(cols)
    items.iloc[rng.random(items.shape) < 0.04] = np.nan
    scores = pd.DataFrame({c.key: items[[it.id for it in c.items]].mean(axis=1) for c in dims})
    scores.iloc[rng.random(scores.shape) < 0.05] = np.nan
    own = scores.mean(axis=1, skipna=False)  # the respondents' index (analysis.readiness_index)
    means = group_means(own, g).reindex(range(groups))
    fast_ci = (means["ci_high"] - means["mean"]).to_numpy()
    fast_rwg = _rwg_items_by_group(items, dims, g, groups)
    for k in range(groups):
        rows = np.flatnonzero(g == k)
        x = own.iloc[rows].dropna()
        slow_ci = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) >= 2 else np.nan
        slow_rwg = _rwg_items(items.iloc[rows], dims)
        for fast, slow in ((fast_ci[k], slow_ci), (fast_rwg[k], slow_rwg)):
            if np.isnan(slow):
                assert np.isnan(fast), k
            else:
                assert fast == pytest.approx(slow, rel=1e-12, abs=1e-13), k


def _smallest_by_rows(cell, ncell, block, taken, sizes):
    """``privacy._smallest_blocks`` as first written: every taken row sorted by (size, block)."""
    best = np.full(ncell, -1, dtype=np.int64)
    if taken.any():
        order = np.lexsort((block[taken], sizes[block[taken]]))
        cells_t, blocks_t = cell[taken][order], block[taken][order]
        first_cells, first_at = np.unique(cells_t, return_index=True)
        best[first_cells] = blocks_t[first_at]
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("min_n", [3, 5, 10])
def test_partition_finds_the_smallest_block_over_blocks_as_over_rows(seed, min_n, monkeypatch):
    from analysis import privacy

    rng = np.random.default_rng(seed)
    n = 5000
    data = pd.DataFrame({"org": rng.integers(0, 400, n), "gender": rng.choice(["w", "m", "d", None], n),
                         "band": rng.choice(["18-29", "30-44", "45-59", "60+"], n, p=[.1, .4, .4, .1]),
                         "edu": rng.integers(0, 7, n).astype(float)})
    data.loc[rng.random(n) < 0.02, "edu"] = np.nan
    for columns in (["org"], ["gender", "band", "edu", "org"], ["org", "gender", "band"]):
        got = privacy.disclosure_partition(data, columns, min_n).block
        with monkeypatch.context() as m:
            m.setattr(privacy, "_smallest_blocks", _smallest_by_rows)
            by_rows = privacy.disclosure_partition(data, columns, min_n).block
        np.testing.assert_array_equal(got, by_rows)
