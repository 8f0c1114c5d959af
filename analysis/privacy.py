"""Small-group protection: minimum group size and complementary suppression.

Every grouped or filtered result that leaves ``analysis/`` for a practitioner's screen goes
through this module. The rules, following the threshold rule with secondary (complementary)
cell suppression of Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4-5:

1. **Primary suppression** (threshold rule): a cell (group) with ``0 < n < min_n``
   respondents publishes no statistic: its values become ``None`` and ``suppressed`` is True.
   Group sizes themselves stay visible: they say how many people answered, not what they
   answered. Empty cells (``n == 0``) hold nobody and are not protected.
2. **Complementary suppression**: where a total over the cells is published (or can be
   obtained on another screen), a suppressed cell could be recovered as
   ``total - sum of the published cells``. So, within each partition that adds up to a
   total, the suppressed cells must together be at least two non-empty cells holding at
   least ``min_n`` respondents; while that fails, the smallest still-published non-empty
   cell is suppressed as well (the "next-smallest cell" heuristic, Hundepool et al. 2012,
   sec. 4.4). What can then be derived is only the pooled value of ``>= min_n`` people
   from ``>= 2`` groups. Several partition dimensions are handled by repeating the rule
   over each dimension until nothing changes.
3. **Filters and differencing** (``check_filter``): a filtered view is refused when it
   holds fewer than ``min_n`` respondents, or when it differs by ``1 .. min_n - 1``
   respondents from the unfiltered data or from any view with fewer of the same filter
   conditions (a difference attack: subtracting two published views isolates the few
   people in between; Denning & Schlörer 1983, "Inference controls for statistical
   databases", IEEE Computer 16(7)). Within a filtered view a group is suppressed when its
   filtered part or its remainder is ``1 .. min_n - 1`` respondents.
4. **Protected respondents**: the respondents of groups suppressed on the *unfiltered* data
   (primary and complementary) stay suppressed in every filtered view and are left out of
   filtered and grouped results (``protected_rows``); they enter only unfiltered, ungrouped
   totals, from which rule 2 keeps them pooled. Auditing arbitrary sets of overlapping
   queries is intractable in general (Adam & Wortmann 1989, ACM Computing Surveys 21(4));
   rule 4 is what makes the readiness view safe for *any* filter combination, because
   no published filtered or grouped number contains a suppressed respondent at all.

R equivalent: ``sdcTable::protectTable(method = "SIMPLEHEURISTIC")`` implements the same idea
(primary threshold plus heuristic secondary suppression) for frequency tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError

DEFAULT_MIN_N = 5


def check_min_n(min_n) -> int:
    """The privacy threshold as an int; InputError unless it is a whole number of at least 1."""
    try:
        value = int(min_n)
    except (TypeError, ValueError):
        raise InputError(f"the minimum group size must be a whole number, got {min_n!r}") from None
    if value < 1 or value != min_n:
        raise InputError(f"the minimum group size must be a whole number of at least 1, got {min_n!r}",
                         hint="the usual choice is 5")
    return value


def _complementary(n: pd.Series, suppressed: pd.Series, min_n: int) -> pd.Series:
    """Rule 2 on one partition: add next-smallest non-empty cells until the suppressed
    cells are >= 2 non-empty cells with >= min_n respondents together (or none is left)."""
    suppressed = suppressed.copy()
    nonempty = n > 0
    while True:
        hidden = suppressed & nonempty
        if not hidden.any():
            return suppressed
        if hidden.sum() >= 2 and n[hidden].sum() >= min_n:
            return suppressed
        candidates = n[nonempty & ~suppressed]
        if candidates.empty:
            return suppressed
        suppressed[candidates.sort_values(kind="stable").index[0]] = True


def suppress(table: pd.DataFrame, count_col: str = "n", min_n: int = DEFAULT_MIN_N,
             value_cols: Sequence[str] | None = None, totals: bool | str | Sequence[str] | None = True,
             *, force=None) -> pd.DataFrame:
    """Apply primary and complementary suppression to a table of groups (cells).

    Parameters
    ----------
    table : one row per cell, with a respondent count in ``count_col``.
    value_cols : columns to blank where suppressed; default every float column except
        ``count_col``.
    totals : ``True`` when a total over all rows is (or may be) published; ``False``/``None``
        when no total exists (primary suppression only); a column name or list of column
        names when the table is a cross-classification whose margins are published: each
        named column is one dimension, and rows agreeing on all other named columns form a
        partition that adds up to a margin.
    force : boolean mask (aligned with ``table``) of cells that must be suppressed anyway,
        e.g. groups suppressed on the unfiltered data (rule 4 of the module docstring).

    Returns a copy with ``suppressed`` (bool) and ``suppression`` ("primary" for cells
    below ``min_n``, "complementary" for the others hidden, forced ones included, or "") columns; suppressed values are missing (JSON ``null``).
    Formula source: Hundepool et al. (2012), threshold rule and secondary suppression.
    R: ``sdcTable::protectTable(..., method = "SIMPLEHEURISTIC")``.
    """
    min_n = check_min_n(min_n)
    if count_col not in table.columns:
        raise InputError(f"the table has no count column '{count_col}'", column=count_col)
    out = table.copy()
    n = pd.to_numeric(out[count_col], errors="coerce").fillna(0)
    if value_cols is None:
        value_cols = [c for c in out.columns if c != count_col and pd.api.types.is_float_dtype(out[c])]
    primary = (n > 0) & (n < min_n)
    suppressed = primary.copy()
    if force is not None:
        suppressed |= pd.Series(np.asarray(force, dtype=bool), index=out.index)
    if totals is True:
        dims = [None]
    elif not totals:
        dims = []
    else:
        dims = [totals] if isinstance(totals, str) else list(totals)
        unknown = [d for d in dims if d not in out.columns]
        if unknown:
            raise InputError(f"unknown margin column(s): {', '.join(unknown)}")
    changed = bool(dims)
    while changed:
        changed = False
        for dim in dims:
            others = [d for d in dims if d is not None and d != dim]
            parts = [out.index] if not others else [idx for _, idx in out.groupby(others, dropna=False).groups.items()]
            for idx in parts:
                new = _complementary(n.loc[idx], suppressed.loc[idx], min_n)
                if (new != suppressed.loc[idx]).any():
                    suppressed.loc[idx] = new
                    changed = True
    for col in value_cols:
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype(float).where(~suppressed)
        else:
            out[col] = out[col].astype(object).where(~suppressed, None)
    out["suppressed"] = suppressed.astype(bool)
    out["suppression"] = np.where(primary, "primary", np.where(suppressed, "complementary", ""))
    return out


def _normalise_filters(data: pd.DataFrame, filters: Mapping | None) -> dict:
    """Drop empty filters, check columns, coerce values to the column's type."""
    active = {}
    for col, values in (filters or {}).items():
        if values is None:
            continue
        if isinstance(values, (str, int, float, np.integer, np.floating)):
            values = [values]
        values = list(values)
        if not values:
            continue
        if col not in data.columns:
            raise InputError("unknown filter column", column=str(col),
                             hint=f"filter on one of: {', '.join(map(str, list(data.columns)[:15]))}")
        if pd.api.types.is_numeric_dtype(data[col]):
            coerced = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
            if coerced.isna().any():
                bad = values[int(np.flatnonzero(coerced.isna().to_numpy())[0])]
                raise InputError(f"filter value {bad!r} is not a number", column=str(col),
                                 hint="pick one of the values listed for this column")
            values = coerced.tolist()
        active[col] = values
    return active


def filter_mask(data: pd.DataFrame, filters: Mapping) -> pd.Series:
    """Rows matching every ``{column: [values]}`` condition (numeric columns compared as numbers)."""
    mask = pd.Series(True, index=data.index)
    for col, values in filters.items():
        if pd.api.types.is_numeric_dtype(data[col]):
            mask &= data[col].isin(values)
        else:
            mask &= data[col].astype(str).isin([str(v) for v in values])
    return mask


def _describe(filters: Mapping) -> str:
    if not filters:
        return "no filter"
    return "; ".join(f"{c} in {', '.join(map(str, v))}" for c, v in filters.items())


def protected_rows(data: pd.DataFrame, group: str, min_n: int = DEFAULT_MIN_N,
                   counted: pd.Series | None = None) -> pd.Series:
    """Rows of the groups that ``suppress`` hides on this (unfiltered) data: groups with
    fewer than ``min_n`` respondents and their complementary partners (rule 4).

    ``counted`` (boolean mask) says which rows count as respondents (default: all rows).
    """
    min_n = check_min_n(min_n)
    if group not in data.columns:
        raise InputError("unknown group column", column=str(group),
                         hint="choose the column that holds the organisation or unit")
    counted = pd.Series(True, index=data.index) if counted is None else counted.astype(bool)
    sizes = counted.groupby(data[group], dropna=True).sum().rename("n").reset_index()
    table = suppress(sizes, "n", min_n, value_cols=[], totals=True)
    hidden = set(table.loc[table["suppressed"], group])
    return data[group].isin(hidden)


@dataclass
class FilterCheck:
    """Outcome of ``check_filter``: the rows a filtered view may use and the groups it must hide."""
    data: pd.DataFrame
    n: int
    filters: dict
    suppress_groups: list = field(default_factory=list)
    protected_groups: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"n": self.n, "filters": self.filters, "suppress_groups": self.suppress_groups,
                "protected_groups": self.protected_groups}


def check_filter(data: pd.DataFrame, filters: Mapping | None, min_n: int = DEFAULT_MIN_N, *,
                 group: str | None = None, counted: pd.Series | None = None) -> FilterCheck:
    """Guard a filtered view against small subsets and difference attacks (rule 3).

    ``filters`` maps a column to the list of values kept (rows must match every column).
    Raises ``InputError`` (plain message) when the filtered view holds fewer than ``min_n``
    respondents, or differs by ``1 .. min_n - 1`` respondents from the unfiltered view or
    from a view with any subset of the same conditions. With ``group`` (rule 4), groups
    suppressed on the unfiltered data are "protected": their rows are left out of a filtered
    view and they stay suppressed; other groups whose filtered part or remainder is
    ``1 .. min_n - 1`` are listed in ``suppress_groups``. ``counted`` marks the rows that
    count as respondents (e.g. those with a score). Source: Denning & Schlörer (1983).
    """
    min_n = check_min_n(min_n)
    active = _normalise_filters(data, filters)
    counted = pd.Series(True, index=data.index) if counted is None else counted.reindex(data.index).fillna(False).astype(bool)
    protected = (protected_rows(data, group, min_n, counted) if group is not None
                 else pd.Series(False, index=data.index))
    protected_groups = sorted(set(data.loc[protected, group]), key=str) if group is not None else []
    if not active:
        return FilterCheck(data=data, n=int(counted.sum()), filters={},
                           protected_groups=protected_groups)

    def view(conditions: dict) -> pd.Series:
        # the rows a published view with these conditions is computed from
        if not conditions:
            return counted
        return filter_mask(data, conditions) & counted & ~protected

    full = view(active)
    n_full = int(full.sum())
    if n_full == 0:
        raise InputError(f"no respondents match the filters ({_describe(active)})",
                         hint="remove or widen a filter")
    if n_full < min_n:
        raise InputError(f"the filters ({_describe(active)}) leave {n_full} respondents, fewer than the "
                         f"minimum of {min_n} needed to show results", hint="remove or widen a filter")
    keys = list(active)
    subsets = [dict((k, active[k]) for k in combo) for r in range(len(keys)) for combo in combinations(keys, r)]
    for sub in subsets:
        diff = int((view(sub) & ~full).sum())
        if 0 < diff < min_n:
            raise InputError(f"the filters ({_describe(active)}) differ from the view with {_describe(sub)} "
                             f"by only {diff} respondents, so comparing the two would reveal their answers",
                             hint=f"remove or widen a filter so the difference has at least {min_n} people")
    suppress_groups: list = []
    if group is not None:
        for g, rows in data.groupby(group, dropna=True).groups.items():
            if g in protected_groups:
                continue
            in_view = int(full.loc[rows].sum())
            small = 0 < in_view < min_n
            for sub in subsets:
                diff = int((view(sub).loc[rows] & ~full.loc[rows]).sum())
                small = small or (0 < diff < min_n)
            if small:
                suppress_groups.append(g)
    kept = data.loc[filter_mask(data, active) & ~protected]
    return FilterCheck(data=kept, n=n_full, filters=active, suppress_groups=suppress_groups,
                       protected_groups=protected_groups)
