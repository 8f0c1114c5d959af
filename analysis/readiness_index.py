"""The readiness index: its one definition, used by every screen, model and command.

**Source.** The index summarises the organisation's readiness for digital co-production over
the instrument's readiness dimensions (``instrument.readiness_dimensions``; in the bundled
public-servant instrument: strategy, structure, flexible work, finance, training, leadership
and regulation). The dimensions follow the research seeds (``shared/seeds``): the call for
papers (seed 000) names people-centred strategies, adaptive structures and flexible work as
what advances organisational readiness, and the review of barriers and enablers (seed 003)
adds resources, training, leadership and regulation.

**Respondent index** (0-100), as the UK Civil Service People Survey builds its engagement
index (each answer on 0-100, a respondent's score the mean of theirs, a unit's index the mean
of its respondents' scores):

* each dimension score is the pipeline's scale score (``analysis.scoring``: the mean of the
  answered, reverse-keyed items, with at least ``min_share`` of them answered), rescaled to
  0-100: ``(score - scale min) / (scale max - scale min) * 100``;
* the respondent's index is the mean of their K dimension scores, and missing unless every
  dimension is scored (so every respondent's index weighs the same K dimensions).
  R: ``rowMeans(dims_0_100, na.rm = FALSE)``.

On the sample's 1-5 scales this is ``25 * (rowMeans(scores) - 1)``: the sample README's
``readiness_index`` (``rowMeans`` of the seven scores, missing if any is missing) on 0-100.

**Organisation index** (0-100): the mean of the respondent indices of the organisation's
respondents that have one (and that the privacy rule lets it use, ``analysis.privacy``),
with the t-based 95% CI of that mean. R: ``tapply(index, org, mean, na.rm = TRUE)``,
``t.test(index[org == g])$conf.int``.

The readiness view (``analysis.readiness``), the topic screens (``analysis.topics``: the
resources screen, the engagement model, the municipalities' readiness), the models' variable
``readiness_index`` (``analysis.model_data``) and the ``readiness`` command all take it
from here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError

INDEX = "readiness_index"


def to_0_100(score, scale):
    """Rescale a scale score from ``scale.min..scale.max`` to 0..100."""
    return (score - scale.min) / (scale.max - scale.min) * 100.0


def require_scored(data: pd.DataFrame, constructs) -> None:
    """``InputError`` unless ``data`` holds the score column of every construct in
    ``constructs`` whose items it holds: analyses take the pipeline's scored frame
    (``analysis.pipeline.prepare``) and never score again."""
    missing = [c.key for c in constructs if c.key not in data.columns and any(it.id in data.columns for it in c.items)]
    if missing:
        raise InputError(f"the data hold the items of {', '.join(missing)} but not their scores",
                         column=missing[0],
                         hint="prepare the data first (analysis.pipeline.prepare / prepare_survey): "
                              "it cleans the answers and adds one score column per scale")


def readiness_dimensions(data: pd.DataFrame, instrument) -> list:
    """The instrument's readiness dimensions scored in ``data`` (the pipeline's score columns)."""
    dims = list(instrument.readiness_dimensions)
    require_scored(data, dims)
    return [c for c in dims if c.key in data.columns]


def dimension_scores(data: pd.DataFrame, dims) -> pd.DataFrame:
    """The respondents' dimension scores on 0-100, one column per dimension key."""
    return pd.DataFrame({c.key: to_0_100(pd.to_numeric(data[c.key], errors="coerce"), c.scale) for c in dims},
                        index=data.index)


def _mean_of_dimensions(scores: pd.DataFrame) -> pd.Series:
    """The formula: the mean of the 0-100 dimension scores, missing unless all are scored."""
    return scores.mean(axis=1, skipna=False)


def _scores(data: pd.DataFrame, dims) -> dict:
    """``dimension_scores`` as one Series per dimension key, not joined into a frame (a
    600,000 x 7 copy)."""
    return {c.key: to_0_100(pd.to_numeric(data[c.key], errors="coerce"), c.scale) for c in dims}


def _index_of(scores: dict, index: pd.Index) -> pd.Series:
    """``_mean_of_dimensions`` of the frame the ``scores`` would make: the dimensions added
    one after the other (the order in which ``DataFrame.mean(axis=1)`` adds a float64 frame's
    columns, so the index is the same to the last bit) and divided by their number."""
    columns = list(scores.values())
    if not all(col.dtype == np.float64 for col in columns):  # e.g. float32 scores: the frame's own mean
        return _mean_of_dimensions(pd.DataFrame(scores, index=index))
    total = columns[0].to_numpy().copy()
    for col in columns[1:]:
        total += col.to_numpy()
    return pd.Series(total / len(columns), index=index)


def score_arrays(data: pd.DataFrame, dims) -> tuple[dict, np.ndarray]:
    """The respondents' 0-100 dimension scores (``dimension_scores``) and their index
    (``respondent_index``) as float arrays, without a frame: the same numbers, bit for bit
    (float64 score columns rescaled by the same operations; others through the Series)."""
    if dims and all(data[c.key].dtype == np.float64 for c in dims):
        scores = {}
        for c in dims:  # to_0_100, its three operations in place on one new array
            score = data[c.key].to_numpy() - c.scale.min
            score /= c.scale.max - c.scale.min
            score *= 100.0
            scores[c.key] = score
        total = scores[dims[0].key].copy()
        for c in dims[1:]:  # the order in which DataFrame.mean(axis=1) adds the columns
            total += scores[c.key]
        return scores, total / len(dims)
    series = _scores(data, dims)
    index = _index_of(series, data.index) if dims else pd.Series(np.nan, index=data.index)
    return ({k: v.to_numpy(dtype=float, na_value=np.nan) for k, v in series.items()},
            index.to_numpy(dtype=float, na_value=np.nan))


def respondent_index(data: pd.DataFrame, instrument=None, *, dims=None) -> pd.Series:
    """Each respondent's readiness index (0-100; see the module docstring): the mean of the
    0-100 dimension scores, missing unless every dimension is scored. R:
    ``rowMeans(dims_0_100, na.rm = FALSE)``.

    ``data`` is the pipeline's scored frame; ``dims`` (the readiness constructs) default to
    ``readiness_dimensions(data, instrument)``."""
    if dims is None:
        dims = readiness_dimensions(data, instrument)
    if not dims:
        return pd.Series(np.nan, index=data.index, name=INDEX)
    return _index_of(_scores(data, dims), data.index).rename(INDEX)


def on_0_100(data: pd.DataFrame, dims, index_column: str) -> pd.DataFrame:
    """``data`` (a shallow copy) with its dimension scores rescaled to 0-100 and the
    ``respondent_index`` in ``index_column``: the frame the readiness views group."""
    scores = _scores(data, dims)
    out = data.copy(deep=False)  # shares the columns it does not replace
    with warnings.catch_warnings():  # a few columns set on a wide frame: no need to consolidate it
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for c in dims:
            out[c.key] = scores[c.key]
        out[index_column] = _index_of(scores, data.index) if dims else np.nan
    return out


def _t_quantile(p: float, df: np.ndarray) -> np.ndarray:
    """``scipy.stats.t.ppf(p, df)`` (R ``qt(p, df)``), missing where ``df`` is not positive, by
    the function ``t.ppf`` itself calls, ``scipy.special.stdtrit(df, p)``: the same numbers
    without importing ``scipy.stats`` (half a second on a screen's first visit)."""
    df = np.asarray(df, dtype=float)
    out = np.full(df.shape, np.nan)
    ok = df > 0
    distinct, at = np.unique(df[ok], return_inverse=True)  # many groups share a size: each once
    out[ok] = special.stdtrit(distinct, p)[at]
    return out


def _code_stats(values: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    """Per code 0..n_groups-1 (-1: none; rows with a missing value left out): ``n``, the mean,
    the sample standard deviation (n - 1; missing below two values) and the sum of squared
    deviations from the mean (``_code_stats_of``)."""
    keep = (codes >= 0) & ~np.isnan(values)
    return _code_stats_of([values], [keep], codes, n_groups)[0]


def _runs(codes: np.ndarray, n_groups: int) -> np.ndarray | None:
    """Where each run of equal codes starts, when every code forms one run (pandas then sums
    by ``np.add.reduceat``); ``None`` when some code comes back after another."""
    change = np.empty(len(codes), dtype=bool)
    change[0] = True
    np.not_equal(codes[1:], codes[:-1], out=change[1:])
    if np.count_nonzero(change) > n_groups:  # more runs than groups: some group has two
        return None
    starts = np.flatnonzero(change)
    return starts if np.bincount(codes[starts], minlength=n_groups).max() == 1 else None


def _code_stats_of(values: list, uses: list, codes: np.ndarray, n_groups: int) -> list[tuple[np.ndarray, ...]]:
    """``_code_stats`` of each array of ``values`` at its rows ``uses`` (boolean, none missing
    a value or with code -1), the groups ``codes`` 0..n_groups-1 shared: per group ``n``, the
    mean, the sample standard deviation (n - 1; missing below two values) and the sum of
    squared deviations from the mean.

    The mean is ``pd.Series(values[use]).groupby(codes[use], sort=False).mean()`` to the last
    bit, so that groups with the same answers tie, and halves round, as before: where each
    group's rows form one run, pandas sums each run by ``np.add.reduceat`` (as here, without
    building the group-by), the deviations then summed per run too (equal to pandas' standard
    deviation up to the order of floating-point summation); otherwise pandas sums compensated,
    row by row, whatever numbers the groups have: the arrays needing that go through one
    group-by together, each missing where not used (skipped, as a row left out), with its
    standard deviation (pandas' own)."""
    out: list = [None] * len(values)
    together = []
    for j, (x, use) in enumerate(zip(values, uses)):
        at = np.flatnonzero(use)
        c = codes[at]
        starts = _runs(c, n_groups) if len(c) else np.zeros(0, dtype=np.int64)
        if starts is None:
            together.append(j)
            continue
        v = x[at]
        count = np.zeros(n_groups, dtype=np.int64)
        mean = np.full(n_groups, np.nan)
        ss = np.zeros(n_groups)
        if len(c):
            runs = c[starts]
            size = np.diff(starts, append=len(c))
            count[runs] = size
            mean[runs] = np.add.reduceat(v, starts) / size.astype(np.float64)
            dev = v - np.repeat(mean[runs], size)
            ss[runs] = np.add.reduceat(dev * dev, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[j] = (count, mean, np.where(count >= 2, np.sqrt(ss / (count - 1)), np.nan), ss)
    if together:
        block = np.empty((len(codes), len(together)), order="F")  # one column per array, not copied by pandas
        used = np.zeros(len(codes), dtype=bool)
        for i, j in enumerate(together):
            np.copyto(block[:, i], np.where(uses[j], values[j], np.nan))
            used |= uses[j]
        groups = pd.Categorical.from_codes(np.where(used, codes, -1), categories=np.arange(n_groups))
        grouped = pd.DataFrame(block, copy=False).groupby(groups, observed=False, sort=True)
        means = grouped.mean().to_numpy(dtype=float)
        sds = grouped.std().to_numpy(dtype=float)
        for i, j in enumerate(together):
            count = np.bincount(codes[uses[j]], minlength=n_groups)
            sd = np.where(count >= 2, sds[:, i], np.nan)
            with np.errstate(invalid="ignore"):
                out[j] = (count, means[:, i], sd, np.where(count >= 2, sd * sd * (count - 1), 0.0))
    return out


def _t_interval(n: np.ndarray, mean: np.ndarray, sd: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``mean -/+ t(.5 + level / 2, n - 1) * sd / sqrt(n)`` (missing below two values)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        half = _t_quantile(0.5 + level / 2, np.where(n >= 2, n - 1, np.nan)) * sd / np.sqrt(np.maximum(n, 1))
    return mean - half, mean + half


def _t_means(values: np.ndarray, codes: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """Per code present, in order of first appearance (as a group-by with ``sort=False``
    lists them): the codes, ``n``, ``mean``, ``ci_low`` and ``ci_high``; rows with a missing
    value or a code of -1 left out (``_code_stats``)."""
    keep = (codes >= 0) & ~np.isnan(values)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    count, mean, sd, _ = _code_stats(values, codes, n_groups)
    present = np.flatnonzero(count)
    first = np.full(n_groups, len(codes))
    rows = np.flatnonzero(keep)
    np.minimum.at(first, codes[rows], rows)
    order = present[np.argsort(first[present], kind="stable")]
    low, high = _t_interval(count[order], mean[order], sd[order], level)
    return order, count[order], mean[order], low, high


def group_means(values: pd.Series, groups, *, level: float = 0.95) -> pd.DataFrame:
    """Per group (index ``group``): ``n`` (rows with a value), ``mean``, ``ci_low`` and
    ``ci_high`` (t interval ``mean +/- t(.975, n - 1) sd / sqrt(n)``, R ``t.test(x)$conf.int``;
    missing below two values). ``groups`` labels the rows of ``values``; rows missing
    either are left out. An organisation's readiness index is ``group_means`` of the
    ``respondent_index``."""
    value = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    labels = np.asarray(groups, dtype=object) if not isinstance(groups, (pd.Series, pd.Index, np.ndarray)) \
        else groups
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)  # each label once, not 600,000 objects
    order, n, mean, low, high = _t_means(value, np.asarray(codes, dtype=np.int64), level)
    # the labels as a group-by on them gives them: their type inferred from the values
    index = pd.Index(np.asarray(uniques, dtype=object)[order].tolist(), name="group")
    return pd.DataFrame({"n": n, "mean": mean, "ci_low": low, "ci_high": high}, index=index)


def means_by_code(values: np.ndarray, codes: np.ndarray, n_groups: int, *,
                  level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``group_means`` of groups given as codes 0..n_groups-1 (-1: none), as arrays in code
    order: ``n`` (0 for a group without values), ``mean``, ``ci_low``, ``ci_high`` (missing
    for a group without values)."""
    n, mean, sd, _ = _code_stats(np.asarray(values, dtype=float), np.asarray(codes, dtype=np.int64), n_groups)
    low, high = _t_interval(n, mean, sd, level)
    return n.astype(np.int64), mean, low, high


def organisation_index(data: pd.DataFrame, instrument, group: str) -> pd.DataFrame:
    """Every group's readiness index from all its respondents (``group_means`` of the
    ``respondent_index``): the definition without the privacy rule, which
    ``analysis.readiness.readiness`` adds (whole blocks of at least ``min_n`` respondents)
    before anything is shown."""
    return group_means(respondent_index(data, instrument), data[group])
