"""Pairwise correlations with Fisher-z confidence intervals."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import privacy
from analysis.errors import InputError
from analysis.formatting import p_text
from analysis.topics.views import published


def correlations(data: pd.DataFrame, columns: Sequence[str], *, method: str = "pearson",
                 min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Pairwise correlations: n, r, 95% CI (Fisher z, SE 1 / sqrt(n - 3); Fisher 1921), p (t test
    with n - 2 df, or ``scipy.stats.spearmanr``). R ``cor.test``. Each pair uses the rows
    ``published`` allows for both answers."""
    columns = [c for c in columns]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"unknown column(s): {', '.join(missing)}", hint="score the data first")
    if len(columns) < 2:
        raise InputError("a correlation matrix needs at least two scores")
    if method not in ("pearson", "spearman"):
        raise InputError(f"unknown correlation method '{method}'", hint="use pearson or spearman")
    values = data[columns].apply(pd.to_numeric, errors="coerce")
    rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            keep = _pair_rows(data, values, a, b, min_n)
            x, y = values.loc[keep, a].to_numpy(float), values.loc[keep, b].to_numpy(float)
            n = len(x)
            if n < 4:
                rows.append({"x": a, "y": b, "n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
                continue
            if method == "spearman":
                r, p = stats.spearmanr(x, y)
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


def _pair_rows(data: pd.DataFrame, values: pd.DataFrame, a: str, b: str, min_n: int) -> pd.Series:
    """The rows a pair's correlation uses: both answered, and published (``privacy.usable``)."""
    return published(data, values[a].notna() & values[b].notna(), min_n)


def correlation_rows(data: pd.DataFrame, columns: Sequence[str], *,
                     min_n: int = privacy.DEFAULT_MIN_N) -> dict[tuple[str, str], pd.Index]:
    """The index labels each pair of :func:`correlations` uses (for a script that must use the
    same respondents, ``analysis.reproduce.correlations``)."""
    values = data[list(columns)].apply(pd.to_numeric, errors="coerce")
    return {(a, b): data.index[_pair_rows(data, values, a, b, min_n).to_numpy()]
            for i, a in enumerate(columns) for b in list(columns)[i + 1:]}
