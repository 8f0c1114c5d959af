"""Item frames and correlation matrices: the input every factor model starts from.

``correlation_matrix`` is R's ``cor(x, use = "pairwise")`` (n = all rows, as psych uses for raw data) or,
listwise, ``cor(na.omit(x))``. Raw data or a ready correlation matrix are both accepted downstream.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.factor._linalg import _eigvalsh
from analysis.scoring import numeric_items


def _items_frame(data: pd.DataFrame, items: Sequence[str] | None = None, *, min_items: int = 2) -> pd.DataFrame:
    """Numeric item frame with clear messages for text or constant columns."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("expected a table (DataFrame) of item answers")
    items = list(data.columns) if items is None else list(items)
    if len(set(items)) != len(items):
        dup = sorted({c for c in items if items.count(c) > 1})
        raise InputError(f"item(s) listed twice: {', '.join(map(str, dup))}", hint="list each item once")
    x = numeric_items(data, items, min_items=min_items)
    for col in x.columns:
        values = x[col].to_numpy(dtype=float, na_value=np.nan)
        answered = values[~np.isnan(values)]
        if len(answered) == 0:
            raise InputError("the item has no answers", column=str(col), hint="drop it from the analysis")
        if answered.min() == answered.max():  # one distinct answer (no hashing of 600,000 values)
            raise InputError("the item has the same answer for everyone, so it cannot correlate with anything",
                             column=str(col), hint="drop this constant item")
    return x

def _is_correlation_matrix(data: pd.DataFrame) -> bool:
    if data.shape[0] != data.shape[1] or list(map(str, data.index)) != list(map(str, data.columns)):
        return False
    try:
        m = data.to_numpy(dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(m)) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0))

def correlation_matrix(data: pd.DataFrame, items: Sequence[str] | None = None, *,
                       missing: str = "pairwise") -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Pearson correlations of the items, their n and the pairwise counts.

    ``missing="pairwise"`` is R's ``cor(x, use="pairwise")`` with n = all rows (as psych uses
    for raw data); ``"listwise"`` drops incomplete rows first (``na.omit``).
    """
    if missing not in ("pairwise", "listwise"):
        raise InputError(f"unknown missing-data rule {missing!r}", hint="use 'pairwise' or 'listwise'")
    x = _items_frame(data, items)
    if missing == "listwise":
        x = x.dropna()
        if len(x) < 3:
            raise InputError(f"only {len(x)} rows answer all items", hint="use pairwise deletion or fewer items")
        _check_constant_after_deletion(x)
    present = x.notna().astype(float)
    counts = pd.DataFrame(present.T.to_numpy() @ present.to_numpy(), index=x.columns, columns=x.columns)
    corr = x.corr(method="pearson", min_periods=3)
    if corr.isna().to_numpy().any():
        i, j = np.argwhere(corr.isna().to_numpy())[0]
        raise InputError(f"items '{x.columns[i]}' and '{x.columns[j]}' are answered together by "
                         f"{int(counts.iat[i, j])} respondents, too few for a correlation",
                         column=str(x.columns[i]), hint="drop one of them or collect more answers")
    return corr, int(len(x)), counts

def _check_constant_after_deletion(x: pd.DataFrame) -> None:
    for col in x.columns:
        if x[col].nunique() < 2:
            raise InputError("the item is constant among the complete cases", column=str(col),
                             hint="drop it or use pairwise deletion")

def _corr_input(data_or_corr: pd.DataFrame, n_obs: int | None, missing: str):
    """(R, n, pairwise counts or None, raw) from raw data or a correlation matrix."""
    if isinstance(data_or_corr, pd.DataFrame) and _is_correlation_matrix(data_or_corr):
        r = data_or_corr.astype(float)
        r.index = r.columns
        return r, n_obs, None, None
    r, n, counts = correlation_matrix(data_or_corr, missing=missing)
    return r, (n if n_obs is None else n_obs), (counts if missing == "pairwise" else None), data_or_corr

def _select(data: pd.DataFrame, items: Sequence[str] | None) -> pd.DataFrame:
    return data if items is None else _items_frame(data, items)

def _check_singular(r: pd.DataFrame, what: str) -> None:
    values = _eigvalsh(r.to_numpy())
    if values.min() < 1e-10:
        raise InputError(f"the correlation matrix is singular, so {what} cannot be computed: some items are "
                         "(almost) exact linear combinations of others",
                         hint="drop duplicated items or items that are sums of other items")
