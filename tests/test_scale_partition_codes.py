"""The disclosure partition coded once (issue 15) gives exactly the blocks of the algorithm it
replaced: every column factorised (``pd.factorize``), the cells of every depth factorised over
all rows, the age band written as text first, ``grouped_rows`` through a view of the kept rows.

Whole-number ids are now coded by subtraction, categoricals by their codes and the age band
from the ages; the cells of a shallower depth are numbered over the deepest cells. The blocks
must be the same to the last row (block numbers included: the smallest block of a cell, ties
to the first made, depends on them), as must the rows ``grouped_rows`` lets a statistic use.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis import privacy
from analysis.derived import age_bands, band_labels


def _reference_partition(data: pd.DataFrame, columns, min_n: int) -> np.ndarray:
    """``privacy.disclosure_partition`` before issue 15's codes: its blocks."""
    n = len(data)
    block = np.full(n, -1, dtype=np.int64)
    sizes = np.zeros(0, dtype=np.int64)
    cells_at = [np.zeros(n, dtype=np.int64)]
    for c in columns:
        codes = np.asarray(pd.factorize(data[c], sort=False, use_na_sentinel=False)[0], dtype=np.int64)
        combined = cells_at[-1] * (int(codes.max()) + 1 if n else 1) + codes
        cells_at.append(np.asarray(pd.factorize(combined, sort=False)[0], dtype=np.int64))
    for depth in range(len(columns), -1, -1):
        cell = cells_at[depth]
        ncell = int(cell.max()) + 1 if n else 0
        free = block < 0
        pool = np.bincount(cell[free], minlength=ncell)
        best = privacy._smallest_blocks(cell, ncell, block, ~free, sizes)
        grows = pool >= min_n
        new_block = np.full(ncell, -1, dtype=np.int64)
        new_block[grows] = len(sizes) + np.arange(int(grows.sum()))
        join = (pool > 0) & ~grows & (best >= 0)
        sizes = np.concatenate([sizes, pool[grows]])
        np.add.at(sizes, best[join], pool[join])
        target = np.where(grows, new_block, np.where(join, best, -1))
        assign = free & (target[cell] >= 0)
        block[assign] = target[cell[assign]]
    return block


def _reference_columns(data: pd.DataFrame, instrument) -> list[str]:
    """``privacy.disclosure_columns`` before issue 15: levels counted by ``nunique``."""
    groups = [c for c in instrument.group_columns.values() if c in data.columns]
    demo = [d.id for d in instrument.demographics if d.id in data.columns]
    if "age" in data.columns or "age_band" in data.columns:
        demo.append("age_band")
    demo = [c for c in dict.fromkeys(demo) if c not in groups]
    levels = {c: int(data[c].nunique(dropna=False)) if c in data.columns
              else int(age_bands(data["age"]).nunique(dropna=False)) for c in demo}
    demo.sort(key=lambda c: (levels[c], c))
    return list(dict.fromkeys(groups + demo))


def _reference_grouped_rows(data, group, min_n, instrument, answered) -> pd.Series:
    """``privacy.grouped_rows`` before issue 15: ``group_cells`` on a view of the kept rows."""
    cols = _reference_columns(data, instrument)
    frame = pd.DataFrame({c: data[c] for c in cols if c in data.columns}, index=data.index)
    if "age_band" in cols and "age_band" not in frame.columns:
        frame["age_band"] = band_labels(data["age"])
    block = _reference_partition(frame, cols, min_n)
    rows = block >= 0
    out = pd.Series(False, index=data.index)
    if not rows.any():
        return out
    kept = data[group][rows]
    view = pd.DataFrame({group: kept, privacy.BLOCK: pd.Series(block[rows], index=kept.index)})
    ans = pd.Series(answered, index=data.index).reindex(view.index).fillna(False)
    cells = privacy.group_cells(view, group, min_n, ans)
    out.loc[view.index[cells.notna().to_numpy()]] = True
    return out


def _survey(rng, n: int) -> pd.DataFrame:
    data = pd.DataFrame({
        "org": rng.integers(100, 100 + int(rng.integers(1, 80)), n),
        "unit": rng.integers(0, 30, n).astype(float),
        "gender": rng.choice(["w", "m", "d", None], n),
        "role": pd.Categorical(rng.choice(["a", "b", "c", None], n)),
        "band": pd.array(rng.choice(["18-29", "30-44", None], n), dtype="string"),
        "edu": rng.integers(0, 7, n).astype(float),
        "half": rng.choice([0.5, 1.5, 2.0, -0.0, 0.0, np.nan], n),
        "big": rng.choice([1, 10 ** 12, -5], n),
        "flag": rng.choice([True, False], n),
        "mixed": pd.Series(rng.choice(np.array([1, "1", 2.0, None], dtype=object), n), dtype=object),
        "age": rng.choice([np.nan, 17, 18, 29.5, 30, 44, 45, 59.99, 60, 99, np.inf, -np.inf], n),
    })
    data.loc[rng.random(n) < 0.03, "edu"] = np.nan
    data.loc[rng.random(n) < 0.02, "unit"] = np.nan
    return data


COLUMNS = [["org"], ["gender", "band", "edu", "org"], ["org", "role", "half"], ["big", "flag", "mixed"],
           ["unit", "gender"], ["edu", "half", "role", "band", "org", "flag"], []]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("min_n", [1, 3, 5, 10])
def test_partition_of_codes_equals_the_factorised_partition(seed, min_n):
    rng = np.random.default_rng(seed)
    data = _survey(rng, int(rng.integers(1, 4000)))
    for columns in COLUMNS:
        got = privacy.disclosure_partition(data, columns, min_n).block
        np.testing.assert_array_equal(got, _reference_partition(data, columns, min_n))


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_level_codes_tell_the_same_levels_apart(seed):
    rng = np.random.default_rng(seed)
    data = _survey(rng, 3000)
    for column in data.columns:
        codes, levels = privacy._level_codes(data[column], count=True)
        factorised = pd.factorize(data[column], use_na_sentinel=False)[0]
        assert levels == data[column].nunique(dropna=False), column
        assert len(set(zip(codes, factorised))) == len(set(factorised)) == len(set(codes)), column
    codes, levels = privacy._band_codes(data["age"])
    labels = pd.factorize(band_labels(data["age"]), use_na_sentinel=False)[0]
    assert len(set(zip(codes, labels))) == len(set(labels)) == len(set(codes)) == levels


@pytest.mark.parametrize("seed", [8, 9])
@pytest.mark.parametrize("min_n", [3, 5])
def test_partition_for_and_grouped_rows_equal_the_view_of_kept_rows(seed, min_n):
    rng = np.random.default_rng(seed)
    data = _survey(rng, 3000)
    demographics = [SimpleNamespace(id=c, type="categorical") for c in ("gender", "edu", "role")]
    instrument = SimpleNamespace(group_columns={"organisation": "org", "unit": "unit"}, readiness_dimensions=[1],
                                 demographics=demographics)
    assert privacy.disclosure_columns(data, instrument) == _reference_columns(data, instrument)
    reference = _reference_columns(data, instrument)
    frame = pd.DataFrame({c: data[c] for c in reference if c in data.columns}, index=data.index)
    frame["age_band"] = band_labels(data["age"])
    np.testing.assert_array_equal(privacy.partition_for(data, instrument, min_n).block,
                                  _reference_partition(frame, reference, min_n))
    answered = rng.random(len(data)) < 0.9
    for group in ("org", "unit", "gender", "role"):
        expected = _reference_grouped_rows(data, group, min_n, instrument, answered)
        for given in (answered, pd.Series(answered, index=data.index)):
            got = privacy.grouped_rows(data, group, min_n, instrument=instrument, answered=given)
            pd.testing.assert_series_equal(got, expected)


def test_level_codes_of_narrow_and_wide_integer_columns():
    """Ids coded by subtraction in 64 bits (no wrap-around of int8 - min), or by factorize
    where they span too many values: the same levels apart, the same blocks."""
    rng = np.random.default_rng(11)
    n = 3000
    data = pd.DataFrame({"i8": rng.integers(-128, 128, n).astype(np.int8),
                         "u64": rng.choice(np.array([0, 2 ** 63, 2 ** 64 - 1], dtype=np.uint64), n),
                         "wide": rng.choice([-(10 ** 15), 0, 10 ** 15], n),
                         "f32": rng.integers(0, 5, n).astype(np.float32)})
    for column in data.columns:
        codes, levels = privacy._level_codes(data[column], count=True)
        factorised = pd.factorize(data[column], use_na_sentinel=False)[0]
        assert len(set(zip(codes, factorised))) == len(set(factorised)) == len(set(codes)) == levels, column
    for min_n in (3, 5):
        got = privacy.disclosure_partition(data, list(data.columns), min_n).block
        np.testing.assert_array_equal(got, _reference_partition(data, list(data.columns), min_n))
