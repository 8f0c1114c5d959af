"""Small-group protection: one disclosure rule for every filtered or grouped number.

Every grouped or filtered result that leaves ``analysis/`` goes through this module.

**The rule: publish only whole blocks of a fixed partition** (``disclosure_partition``).
The respondents of a survey are split once, from the columns any screen or command can
filter or group by (the *disclosure columns*: organisation, municipality, demographics),
into blocks of at least ``min_n`` respondents each. A block is a cell of the
cross-classification of those columns, or, where such a cell is too small, the pooled rest
of a cell one level up; a rest smaller than ``min_n`` is pooled with the smallest block
below that cell (secondary, or complementary, suppression in the sense of Hundepool et al.
2012, *Statistical Disclosure Control*, Wiley, sec. 4.4, applied to the partition rather than
to one table). A filtered view, a group inside it and a group of a grouped table are then
computed only from the blocks that lie *wholly* inside them (``Partition.inside``), and a
statistic of a variable only from blocks with at least ``min_n`` respondents who answered it
(``Partition.contributors``). Counts published are the counts of those respondents.

Why this is safe by construction: every published number (mean, sum of squares, count,
test statistic) is a function of the per-block data of whole blocks. Two respondents in the
same block belong to exactly the same published cells, so any linear combination of
published cells takes the same weight on every member of a block: it can single out a block
(at least ``min_n`` people pooled) but never fewer people. In particular any two views
differ by zero or at least ``min_n`` respondents, whatever filter columns, value sets or
groupings are asked for, on any screen or command, because all use the same partition. This
closes the difference attacks of Denning & Schlorer (1983, "Inference controls for
statistical databases", IEEE Computer 16(7)) without auditing the queries asked, which is
intractable in general (Adam & Wortmann 1989, ACM Computing Surveys 21(4)). The price is that
a view whose selection cuts through a block leaves that block out (the view says so).

``suppress`` (threshold rule with complementary suppression on one table) is kept for tables
whose cells are defined by answers rather than by respondents' attributes, such as a cross-
tabulation of participation patterns.

**Threshold**: ``effective_min_n`` applies the server's floor ``COPROD_MIN_N_FLOOR``
(default 5) to every request, from the pages and the commands alike.

R equivalent: ``sdcTable::protectTable(method = "SIMPLEHEURISTIC")`` implements the primary
threshold plus heuristic secondary suppression for one frequency table.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError

DEFAULT_MIN_N = 5
FLOOR_VARIABLE = "COPROD_MIN_N_FLOOR"
BLOCK = "_disclosure_block"  # column carried by filtered views: the block of each row


def min_n_floor() -> int:
    """The lowest threshold anyone may use on this server: ``COPROD_MIN_N_FLOOR`` (default 5).

    Set by whoever runs the server or the commands; a whole number of at least 1 is taken as
    it is, anything else raises ``InputError`` (a typo never silently weakens protection).
    """
    raw = os.environ.get(FLOOR_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MIN_N
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{FLOOR_VARIABLE}={raw!r} is not a whole number",
                         hint="set it to the smallest group size that may be shown, e.g. 5 or 10") from None
    if value < 1:
        raise InputError(f"{FLOOR_VARIABLE}={raw!r} must be at least 1",
                         hint="set it to the smallest group size that may be shown, e.g. 5 or 10")
    return value


def effective_min_n(requested=None) -> int:
    """The threshold a request gets: the one asked for (default 5), never below the floor."""
    value = DEFAULT_MIN_N if requested is None else check_min_n(requested)
    return max(value, min_n_floor())


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


# --------------------------------------------------------------------------- the partition
def disclosure_columns(data: pd.DataFrame, instrument=None, extra: Sequence[str] = ()) -> list[str]:
    """The columns a user can filter or group by, in the order the partition splits them.

    The instrument's categorical demographics and ``age_band`` (from ``age``), then ``extra``,
    each only when present in ``data``, demographics with fewer levels first (broad
    breakdowns keep most respondents). The instrument's grouping columns (organisation,
    municipality) come first when the survey has a practitioners' view (readiness
    dimensions), so that view keeps whole organisations, and last otherwise, so that the
    demographic breakdowns a citizen survey is read by keep nearly everyone.
    """
    groups = [c for c in (getattr(instrument, "group_columns", {}) or {}).values() if c in data.columns]
    demo = [d.id for d in (getattr(instrument, "demographics", []) or [])
            if getattr(d, "type", "categorical") != "numeric" and d.id in data.columns]
    if "age" in data.columns or "age_band" in data.columns:
        demo.append("age_band")
    demo += [c for c in extra if c in data.columns]
    demo = [c for c in dict.fromkeys(demo) if c not in groups]
    from analysis.derived import age_bands

    def n_levels(c: str) -> int:
        if c in data.columns:
            return int(data[c].nunique(dropna=False))
        return int(age_bands(data["age"]).nunique(dropna=False))  # the band, derived (as text: same count)

    levels = {c: n_levels(c) for c in demo}
    demo.sort(key=lambda c: (levels[c], c))
    groups_first = bool(getattr(instrument, "readiness_dimensions", None))
    return list(dict.fromkeys(groups + demo if groups_first else demo + groups))


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, missing as a level of its own."""
    codes, _ = pd.factorize(column, sort=False, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


@dataclass(frozen=True)
class Partition:
    """Blocks of at least ``min_n`` respondents (``block[i]`` = block of row ``i``; -1 = withheld).

    Built by ``disclosure_partition``; see the module docstring for why publishing only whole
    blocks is safe. ``index`` is the data's index, so masks can be aligned.
    """
    columns: tuple
    min_n: int
    block: np.ndarray = field(repr=False)
    index: pd.Index = field(repr=False)

    @property
    def withheld(self) -> np.ndarray:
        return self.block < 0

    def _aligned(self, mask) -> np.ndarray:
        if isinstance(mask, pd.Series):
            return mask.reindex(self.index).fillna(False).to_numpy(dtype=bool)
        return np.asarray(mask, dtype=bool)

    def inside(self, mask) -> np.ndarray:
        """Rows whose whole block lies inside ``mask`` (a view, or a group inside a view)."""
        m = self._aligned(mask)
        ok = ~self.withheld
        if not ok.any():
            return ok
        nblocks = int(self.block.max()) + 1
        size = np.bincount(self.block[ok], minlength=nblocks)
        hit = np.bincount(self.block[ok & m], minlength=nblocks)
        whole = (size == hit) & (size > 0)
        return ok & m & whole[np.where(ok, self.block, 0)]

    def contributors(self, mask, answered=None) -> np.ndarray:
        """Rows a statistic over ``mask`` may use: ``inside(mask)``, answered, and in a block
        with at least ``min_n`` such answers (so each block's part pools ``min_n`` people)."""
        return self._answered_blocks(self.inside(mask), answered)

    def contributors_each(self, mask, answers: Sequence) -> list[np.ndarray]:
        """``[contributors(mask, a) for a in answers]``, finding the blocks inside ``mask`` once
        (e.g. every pair of a correlation matrix)."""
        rows = self.inside(mask)
        return [self._answered_blocks(rows, answered) for answered in answers]

    def _answered_blocks(self, rows: np.ndarray, answered) -> np.ndarray:
        """``rows`` that answered, in a block with at least ``min_n`` such rows."""
        if answered is not None:
            rows = rows & self._aligned(answered)
        if not rows.any():
            return rows
        counts = np.bincount(self.block[rows], minlength=int(self.block.max()) + 1)
        return rows & (counts[np.where(rows, self.block, 0)] >= self.min_n)

    def cells(self, mask, by: pd.Series, answered=None) -> pd.Series:
        """The level of ``by`` of each row that may enter its group's statistic (else missing).

        A row counts for level ``l`` only when its whole block lies inside ``mask`` and has
        ``by == l`` throughout (``inside(mask & (by == l))`` for every level at once).
        """
        by = by.reindex(self.index)
        codes = _codes(by)
        ok = ~self.withheld
        nblocks = int(self.block.max()) + 1 if ok.any() else 0
        blk = np.where(ok, self.block, 0)
        lo = np.full(nblocks, np.iinfo(np.int64).max)
        hi = np.full(nblocks, -1)
        np.minimum.at(lo, blk[ok], codes[ok])
        np.maximum.at(hi, blk[ok], codes[ok])
        pure = ok & (lo[blk] == hi[blk]) & by.notna().to_numpy()
        rows = self.contributors(self._aligned(mask) & pure, answered)
        return by.where(pd.Series(rows, index=self.index))


def _smallest_blocks(cell: np.ndarray, ncell: int, block: np.ndarray, taken: np.ndarray,
                     sizes: np.ndarray) -> np.ndarray:
    """The smallest block already made in each cell (ties: the first made), -1 where none.

    Found over the blocks, not the rows: a block's rows lie in one cell at the depth being
    pooled and at every shallower one, since cells only merge going up."""
    best = np.full(ncell, -1, dtype=np.int64)
    if not taken.any():
        return best
    nblocks = len(sizes)
    cell_of = np.zeros(nblocks, dtype=np.int64)
    cell_of[block[taken]] = cell[taken]
    top = np.iinfo(np.int64).max
    smallest = np.full(ncell, top, dtype=np.int64)
    np.minimum.at(smallest, cell_of, sizes * nblocks + np.arange(nblocks))  # (size, block) order
    found = smallest != top
    best[found] = smallest[found] % nblocks
    return best


def disclosure_partition(data: pd.DataFrame, columns: Sequence[str], min_n: int = DEFAULT_MIN_N) -> Partition:
    """Split the respondents into blocks of at least ``min_n`` (the rule in the module docstring).

    Bottom-up over the cross-classification of ``columns`` (missing values are a level):
    at each depth, from the full cross-classification up to the whole data, the rows not yet
    in a block are pooled per cell; a pool of at least ``min_n`` becomes a block, a smaller
    one joins the smallest block already in that cell (complementary suppression), and a cell
    with no block yet passes its rows up. Whatever is left at the top, if fewer than
    ``min_n`` with no block to join, is withheld from everything.

    Parameters
    ----------
    data : the whole survey (never a filtered part: every view must use the same blocks).
    columns : the disclosure columns, in splitting order (``disclosure_columns``).
    min_n : the threshold (``effective_min_n`` applied by the caller).
    """
    min_n = check_min_n(min_n)
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError("unknown column", column=str(missing[0]),
                         hint="the columns a survey is filtered or grouped by must be in its data")
    n = len(data)
    block = np.full(n, -1, dtype=np.int64)
    sizes = np.zeros(0, dtype=np.int64)  # size of each block made so far
    # the cell of every row at every depth: codes combined column by column, kept compact
    cells_at = [np.zeros(n, dtype=np.int64)]
    for c in columns:
        codes = _codes(data[c])
        combined = cells_at[-1] * (int(codes.max()) + 1 if n else 1) + codes
        cells_at.append(np.asarray(pd.factorize(combined, sort=False)[0], dtype=np.int64))
    for depth in range(len(columns), -1, -1):
        cell = cells_at[depth]
        ncell = int(cell.max()) + 1 if n else 0
        free = block < 0
        pool = np.bincount(cell[free], minlength=ncell)
        best = _smallest_blocks(cell, ncell, block, ~free, sizes)
        grows = pool >= min_n
        new_block = np.full(ncell, -1, dtype=np.int64)
        new_block[grows] = len(sizes) + np.arange(int(grows.sum()))
        join = (pool > 0) & ~grows & (best >= 0)
        sizes = np.concatenate([sizes, pool[grows]])
        np.add.at(sizes, best[join], pool[join])
        target = np.where(grows, new_block, np.where(join, best, -1))
        assign = free & (target[cell] >= 0)
        block[assign] = target[cell[assign]]
    return Partition(columns=tuple(columns), min_n=min_n, block=block, index=data.index)


def partition_for(data: pd.DataFrame, instrument=None, min_n: int = DEFAULT_MIN_N,
                  columns: Sequence[str] | None = None) -> Partition:
    """The partition of a whole survey over its disclosure columns (``age_band`` derived)."""
    from analysis.derived import band_labels
    cols = list(columns) if columns is not None else disclosure_columns(data, instrument)
    frame = pd.DataFrame({c: data[c] for c in cols if c in data.columns}, index=data.index)
    if "age_band" in cols and "age_band" not in frame.columns and "age" in data.columns:
        frame["age_band"] = band_labels(data["age"])
    return disclosure_partition(frame, cols, min_n)


def protected_rows(data: pd.DataFrame, group: str, min_n: int = DEFAULT_MIN_N,
                   counted: pd.Series | None = None) -> pd.Series:
    """Rows that no statistic by ``group`` may use: those not in a block wholly inside one
    group of ``group`` (small groups, and the block that pools with them), on a partition of
    ``data`` by ``group`` alone. ``counted`` marks the rows that count as respondents."""
    min_n = check_min_n(min_n)
    if group not in data.columns:
        raise InputError("unknown group column", column=str(group),
                         hint="choose the column that holds the organisation or unit")
    counted = pd.Series(True, index=data.index) if counted is None else counted.reindex(data.index).fillna(False).astype(bool)
    part = disclosure_partition(data.loc[counted], [group], min_n)
    used = part.cells(np.ones(int(counted.sum()), dtype=bool), data.loc[counted, group])
    keep = pd.Series(False, index=data.index)
    keep.loc[used.index[used.notna().to_numpy()]] = True
    return ~keep


@dataclass
class FilterCheck:
    """What a filtered view may use: ``data`` (the rows of whole blocks inside the filters,
    with the block in column ``BLOCK``), ``n`` of them, and whether some selected rows were
    left out because their block reaches outside the filters (``partial``)."""
    data: pd.DataFrame
    n: int
    filters: dict
    partial: bool = False
    partition: Partition | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"n": self.n, "filters": self.filters, "partial": self.partial}


TOO_FEW = "too few respondents to show"


def check_filter(data: pd.DataFrame, filters: Mapping | None, min_n: int = DEFAULT_MIN_N, *,
                 instrument=None, columns: Sequence[str] | None = None,
                 partition: Partition | None = None) -> FilterCheck:
    """The rows a filtered view may be computed from (the rule in the module docstring).

    ``filters`` maps a column to the values kept (rows must match every column). The view
    is the union of the blocks of ``partition`` (default: ``partition_for(data, instrument,
    min_n, columns)``) lying wholly inside the filters; ``InputError`` (without counts) when
    no block does. Filtering on a column outside the partition is refused, since views on it
    could not be protected. The rows keep their block in column ``BLOCK`` so that groups
    inside the view (``Partition.cells``) use the same blocks.
    """
    min_n = check_min_n(min_n)
    from analysis.derived import with_age_band
    frame = with_age_band(data)
    active = _normalise_filters(frame, filters)
    if partition is None and instrument is None and columns is None:
        columns = list(active)  # no study context: protect the filtered columns themselves
    part = partition if partition is not None else partition_for(frame, instrument, min_n, columns)
    outside = [c for c in active if c not in part.columns]
    if outside:
        raise InputError("this column cannot be used as a filter", column=str(outside[0]),
                         hint=f"filter on one of: {', '.join(part.columns)}")
    mask = filter_mask(frame, active) if active else pd.Series(True, index=frame.index)
    rows = part.inside(mask)
    if not rows.any():
        if not mask.any():
            raise InputError(f"no respondents match the filters ({_describe(active)})",
                             hint="remove or widen a filter")
        raise InputError(f"the filters ({_describe(active)}) leave {TOO_FEW}",
                         hint=f"remove or widen a filter: results need groups of at least {min_n} people")
    kept = frame if rows.all() else frame.loc[rows]  # the whole survey: its columns shared, not copied
    kept = pd.concat([kept, pd.Series(part.block[rows], index=kept.index, name=BLOCK)], axis=1)
    return FilterCheck(data=kept, n=int(rows.sum()), filters=active, partial=bool((mask.to_numpy() & ~rows).any()),
                       partition=part)


def view_partition(view: pd.DataFrame, min_n: int, by: pd.Series | None = None) -> Partition:
    """The partition carried by a filtered view (its ``BLOCK`` column). A frame without one
    was not filtered through ``check_filter`` and is treated as a whole survey partitioned by
    ``by`` alone (one table's protection), or as one block when there is no ``by``."""
    if BLOCK in view.columns:
        return Partition(columns=(), min_n=min_n, block=view[BLOCK].to_numpy(dtype=np.int64), index=view.index)
    if by is not None:
        return disclosure_partition(pd.DataFrame({"by": by.reindex(view.index)}), ["by"], min_n)
    block = np.zeros(len(view), dtype=np.int64) if len(view) >= min_n else np.full(len(view), -1, dtype=np.int64)
    return Partition(columns=(), min_n=min_n, block=block, index=view.index)


def group_cells(view: pd.DataFrame, by: str | pd.Series, min_n: int, answered=None) -> pd.Series:
    """Level of ``by`` for each row of a view that may enter its group's statistic, else missing
    (``Partition.cells`` on the view's blocks; rows outside whole pure blocks drop out)."""
    series = view[by] if isinstance(by, str) else by.reindex(view.index)
    part = view_partition(view, min_n, series)
    return part.cells(np.ones(len(view), dtype=bool), series, answered)


def usable(view: pd.DataFrame, min_n: int, answered=None) -> pd.Series:
    """Rows of a view a whole-view statistic may use (``Partition.contributors``)."""
    part = view_partition(view, min_n)
    return pd.Series(part.contributors(np.ones(len(view), dtype=bool), answered), index=view.index)


def grouped_rows(data: pd.DataFrame, group: str, min_n: int = DEFAULT_MIN_N, *, instrument=None,
                 answered=None) -> pd.Series:
    """Rows of a whole survey (or of a filtered view carrying ``BLOCK``) that statistics by
    ``group`` may use: whole blocks of the survey's partition with one ``group`` value and at
    least ``min_n`` answers (``answered``). Every grouped output uses this, so all of them
    share the one partition (two partitions could be played against each other)."""
    if group not in data.columns:
        raise InputError("unknown group column", column=str(group),
                         hint="choose the column that holds the organisation or unit")
    if BLOCK in data.columns:
        view = data
    else:
        # check_filter(data, None, ...) without its copy of every column of the kept rows:
        # only the group and the block are used here
        min_n = check_min_n(min_n)
        try:
            part = partition_for(data, instrument, min_n, None if instrument is not None else [group])
        except InputError:
            return pd.Series(False, index=data.index)
        rows = part.inside(np.ones(len(data), dtype=bool))
        if not rows.any():
            return pd.Series(False, index=data.index)
        kept = data[group][rows]
        view = pd.DataFrame({group: kept, BLOCK: pd.Series(part.block[rows], index=kept.index)})
    ans = None if answered is None else pd.Series(answered, index=data.index).reindex(view.index).fillna(False)
    cells = group_cells(view, group, min_n, ans)
    out = pd.Series(False, index=data.index)
    out.loc[view.index[cells.notna().to_numpy()]] = True
    return out


def published_group_effects(effects: pd.DataFrame, min_n: int = DEFAULT_MIN_N) -> pd.DataFrame:
    """A model's per-group estimates (``MixedResult.ranef()``) without the groups of fewer than
    ``min_n`` observations: their conditional modes are estimated from those few people's
    answers, so they are not listed at all (threshold rule, Hundepool et al. 2012)."""
    min_n = check_min_n(min_n)
    if "n" not in effects.columns:
        raise InputError("the group effects carry no group sizes", hint="use MixedResult.ranef()")
    return effects[effects["n"] >= min_n].reset_index(drop=True)
