"""Pairwise correlations with Fisher-z confidence intervals."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import privacy
from analysis.errors import InputError
from analysis.formatting import p_text


def correlations(data: pd.DataFrame, columns: Sequence[str], *, method: str = "pearson",
                 min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Pairwise correlations: n, r, 95% CI (Fisher z, SE 1 / sqrt(n - 3); Fisher 1921), p (t test
    with n - 2 df, or ``scipy.stats.spearmanr``). R ``cor.test``. Each pair uses the rows
    ``published`` allows for both answers (``privacy.Partition.contributors_each``: the view's
    blocks found once for all pairs)."""
    columns = [c for c in columns]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"unknown column(s): {', '.join(missing)}", hint="score the data first")
    if len(columns) < 2:
        raise InputError("a correlation matrix needs at least two scores")
    if method not in ("pearson", "spearman"):
        raise InputError(f"unknown correlation method '{method}'", hint="use pearson or spearman")
    values = _numeric(data, columns)
    ordered = _order_codes(values) if method == "spearman" else []
    rows = []
    for (a, b), keep in _pair_masks(data, values, columns, min_n).items():
        i, j = columns.index(a), columns.index(b)
        x, y = values[:, i][keep], values[:, j][keep]  # a column, then its rows: not a 2-d fancy index
        n = len(x)
        if n < 4:
            rows.append({"x": a, "y": b, "n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
            continue
        if method == "spearman":  # on the scores' order codes: the same ranks, sorted in linear time
            r, p = stats.spearmanr(ordered[i][keep], ordered[j][keep])
        else:
            r, p = stats.pearsonr(x, y)
        z, half = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3)
        rows.append({"x": a, "y": b, "n": n, "r": float(r), "ci_low": float(np.tanh(z - half)),
                     "ci_high": float(np.tanh(z + half)), "p": float(p)})
    out = pd.DataFrame(rows, columns=["x", "y", "n", "r", "ci_low", "ci_high", "p"])
    out["reading"] = [f"{a} and {b}: r = {r:.2f} (n = {n}, {p_text(pp)})" if np.isfinite(r)
                      else f"{a} and {b}: {privacy.TOO_FEW}" for a, b, r, n, pp in
                      zip(out["x"], out["y"], out["r"], out["n"], out["p"])]
    return out


def _pair_masks(data: pd.DataFrame, values: np.ndarray, columns: Sequence[str],
                min_n: int) -> dict[tuple[str, str], np.ndarray]:
    """The rows each pair's correlation uses, as a boolean mask over ``data``: both answered, and
    published (``privacy.usable`` with the pair's answers): the view's partition is read once
    for all pairs instead of once per pair."""
    answered = ~np.isnan(values)
    pairs = [(i, j) for i in range(len(columns)) for j in range(i + 1, len(columns))]
    masks = privacy.view_partition(data, min_n).contributors_each(
        np.ones(len(data), dtype=bool), [answered[:, i] & answered[:, j] for i, j in pairs])
    return {(columns[i], columns[j]): keep for (i, j), keep in zip(pairs, masks)}


def correlation_rows(data: pd.DataFrame, columns: Sequence[str], *,
                     min_n: int = privacy.DEFAULT_MIN_N) -> dict[tuple[str, str], pd.Index]:
    """The index labels each pair of :func:`correlations` uses (for a script that must use the
    same respondents, ``analysis.reproduce.correlations``)."""
    return {pair: data.index[keep] for pair, keep in correlation_masks(data, columns, min_n=min_n).items()}


def correlation_masks(data: pd.DataFrame, columns: Sequence[str], *,
                      min_n: int = privacy.DEFAULT_MIN_N) -> dict[tuple[str, str], np.ndarray]:
    """:func:`correlation_rows` as boolean masks over the rows of ``data``."""
    columns = list(columns)
    return _pair_masks(data, _numeric(data, columns), columns, min_n)


def _order_codes(values: np.ndarray) -> list[np.ndarray]:
    """Each column's answers replaced by their place among the column's distinct answers
    (``pandas.factorize(sort=True)``; missing: -1). The codes order the respondents exactly as
    the answers do, ties included, so any subset has the same ranks (``scipy.stats.rankdata``)
    and hence the same Spearman rho and p; but a scale score has few distinct values, and
    16-bit codes are sorted by counting instead of comparing 600,000 floats for every pair. A
    column with more distinct values than 16 bits hold is kept as it is."""
    out = []
    for column in values.T:
        codes, distinct = pd.factorize(column, sort=True)
        out.append(column if len(distinct) >= np.iinfo(np.int16).max else codes.astype(np.int16))
    return out


def _numeric(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The scores as numbers (anything else missing: NaN), one contiguous column each, so a
    pair's rows are picked from two columns rather than across all of them."""
    values = np.empty((len(data), len(columns)), dtype=float, order="F")
    for i, c in enumerate(columns):
        values[:, i] = pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values
