"""Reverse-keying and scale scores: the one place where items become scale scores.

Reverse-keying follows the usual rule ``x' = (scale min + scale max) - x`` (e.g. on a
1..5 scale, 1 <-> 5), which keeps the response range and is what psych's ``reverse.code``
does with ``mini``/``maxi`` given. A scale score is the mean of the answered items,
reported only when at least ``min_share`` of the items were answered (the "person-mean
imputation" rule with a completeness threshold; Newman 2014, Organizational Research
Methods 17(4)).
"""
from __future__ import annotations

import warnings
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError


def reverse_key(values: pd.Series | np.ndarray, scale_min: float, scale_max: float):
    """Return ``scale_min + scale_max - values`` (missing stays missing)."""
    return (scale_min + scale_max) - values


def numeric_items(data: pd.DataFrame, items: Sequence[str], *, min_items: int = 1) -> pd.DataFrame:
    """Select ``items`` from ``data`` as floats, with a clear message for unknown or text columns."""
    items = list(items)
    if len(items) < min_items:
        raise InputError(f"at least {min_items} items are needed, got {len(items)}",
                         hint="pick more columns")
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise InputError(f"unknown column(s): {', '.join(map(str, missing))}",
                         hint=f"available columns include {', '.join(map(str, list(data.columns)[:12]))}")
    out = {}
    for col in items:
        s = data[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            converted = pd.to_numeric(s, errors="coerce")
            bad = s.notna() & converted.isna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"non-numeric answer {s.iloc[row]!r} ({int(bad.sum())} such cells)",
                                 column=str(col), row=row + 1,
                                 hint="recode text answers to numbers or set them to missing on the Data page")
            s = converted
        out[col] = s.astype(float)
    return pd.DataFrame(out, index=data.index)


def apply_reverse(data: pd.DataFrame, reverse: Iterable[str] | None, scale_min: float | None,
                  scale_max: float | None) -> pd.DataFrame:
    """Reverse-key the ``reverse`` columns of a numeric item frame (copy)."""
    reverse = [c for c in (reverse or [])]
    if not reverse:
        return data
    unknown = [c for c in reverse if c not in data.columns]
    if unknown:
        raise InputError(f"reverse-keyed item(s) not among the items: {', '.join(unknown)}")
    if scale_min is None or scale_max is None:
        # Without a stated range use the observed one, as psych::reverse.code does.
        scale_min = float(np.nanmin(data[reverse].to_numpy()))
        scale_max = float(np.nanmax(data[reverse].to_numpy()))
    out = data.copy()
    for col in reverse:
        out[col] = reverse_key(out[col], scale_min, scale_max)
    return out


def scale_score(data: pd.DataFrame, items: Sequence[str], *, reverse: Iterable[str] | None = None,
                scale_min: float | None = None, scale_max: float | None = None,
                min_share: float = 0.5) -> pd.Series:
    """Mean of the (reverse-keyed) items per respondent; NaN when fewer than
    ``min_share`` of the items are answered."""
    if not 0 < min_share <= 1:
        raise InputError("the minimum share of answered items must be between 0 and 1")
    x = apply_reverse(numeric_items(data, items), reverse, scale_min, scale_max)
    answered = x.notna().sum(axis=1)
    score = x.mean(axis=1, skipna=True)
    needed = int(np.ceil(min_share * len(items) - 1e-9))
    return score.where(answered >= max(needed, 1))


def _item_values(data: pd.DataFrame, col: str) -> np.ndarray:
    """One item column as floats (``numeric_items``' rules and messages for text)."""
    s = data[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    return numeric_items(data, [col])[col].to_numpy(dtype=float)


def score_instrument(data: pd.DataFrame, instrument, *, min_share: float = 0.5,
                     constructs: Iterable[str] | None = None) -> pd.DataFrame:
    """Add one column per construct of ``instrument`` (named by the construct key).

    Items missing from ``data`` are skipped; a construct with none of its items present
    gets no column. Returns a new frame (sharing the item columns with ``data``:
    copy-on-write). All constructs are scored in one pass over the item columns, with the
    rule of ``scale_score``: the mean of the answered, reverse-keyed items, item by item in
    the instrument's order (the order ``DataFrame.mean(axis=1)`` adds them in, so the
    scores are those of ``scale_score``), NaN below ``min_share`` answered.
    """
    if not 0 < min_share <= 1:
        raise InputError("the minimum share of answered items must be between 0 and 1")
    wanted = None if constructs is None else set(constructs)
    scores = {}
    for construct in instrument.constructs:
        if wanted is not None and construct.key not in wanted:
            continue
        present = [it for it in construct.items if it.id in data.columns]
        if not present:
            continue
        lo, hi = construct.scale.min, construct.scale.max
        total = np.zeros(len(data))
        answered = np.zeros(len(data), dtype=np.int64)
        for it in present:
            x = _item_values(data, it.id)
            if it.reverse:
                x = reverse_key(x, lo, hi)
            seen = ~np.isnan(x)
            total += np.where(seen, x, 0.0)
            answered += seen
        share = construct.min_share if getattr(construct, "min_share", None) else min_share
        needed = int(np.ceil(share * len(present) - 1e-9))
        with np.errstate(invalid="ignore", divide="ignore"):
            score = total / answered
        scores[construct.key] = np.where(answered >= max(needed, 1), score, np.nan)
    new = pd.DataFrame(scores, index=data.index)
    if not any(key in data.columns for key in scores):
        return pd.concat([data, new], axis=1)  # copy-on-write: the item columns are shared, not copied
    out = data.copy(deep=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        for key in scores:
            out[key] = new[key]
    return out
