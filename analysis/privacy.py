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
from functools import cached_property
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
    return _columns_and_codes(data, instrument, extra)[0]


def _columns_and_codes(data: pd.DataFrame, instrument=None, extra: Sequence[str] = ()) -> tuple[list[str], dict]:
    """``disclosure_columns`` and the level codes (``_level_codes``) of the demographics it
    counted the levels of, so that the partition does not code them again."""
    groups = [c for c in (getattr(instrument, "group_columns", {}) or {}).values() if c in data.columns]
    demo = [d.id for d in (getattr(instrument, "demographics", []) or [])
            if getattr(d, "type", "categorical") != "numeric" and d.id in data.columns]
    if "age" in data.columns or "age_band" in data.columns:
        demo.append("age_band")
    demo += [c for c in extra if c in data.columns]
    demo = [c for c in dict.fromkeys(demo) if c not in groups]
    coded = {c: _level_codes(data[c], count=True) if c in data.columns else _band_codes(data["age"]) for c in demo}
    levels = {c: coded[c][1] for c in demo}  # nunique(dropna=False): the age band's as derived
    demo.sort(key=lambda c: (levels[c], c))
    groups_first = bool(getattr(instrument, "readiness_dimensions", None))
    columns = list(dict.fromkeys(groups + demo if groups_first else demo + groups))
    return columns, {c: codes for c, (codes, _) in coded.items()}


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, missing as a level of its own."""
    return _level_codes(column)[0]


_DENSE = 1 << 24  # whole-number ids spanning at most this many values are coded by subtraction


def _level_codes(column: pd.Series, count: bool = False) -> tuple[np.ndarray, int]:
    """Non-negative integer codes of a column's values, two rows sharing a code exactly when
    ``pd.factorize(column, use_na_sentinel=False)`` gives them one (missing is a level of its
    own), and with ``count`` the number of levels (``nunique(dropna=False)``; else 0).

    The codes need not be those of ``factorize``: the partition numbers its cells by their
    first row, whatever codes tell the levels apart. Whole-number ids (an integer column, or a
    float column of whole numbers and missing values) are coded by subtracting the smallest,
    a categorical by its own codes, anything else by ``factorize``."""
    numpy_backed = isinstance(column.dtype, np.dtype)  # not text, categorical or nullable
    values = (column.to_numpy() if isinstance(column, pd.Series) else np.asarray(column)) if numpy_backed else None
    n = len(column)
    codes = None
    if n and isinstance(column.dtype, pd.CategoricalDtype):
        raw = np.asarray(column.cat.codes, dtype=np.int64)
        codes = np.where(raw >= 0, raw, len(column.cat.categories))
    elif n and isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        low, high = values.min(), values.max()
        if int(high) - int(low) < _DENSE:  # subtracted where it cannot overflow, into a new int64 array
            # (numpy's own int64, not an unpickled copy of it, which np.minimum.at handles 25x slower)
            if values.dtype.kind == "u":
                codes = (values - low).astype(np.int64)
            else:
                codes = values.astype(np.int64)
                codes -= int(low)
    elif n and isinstance(values, np.ndarray) and values.dtype == np.float64:
        low, high = np.fmin.reduce(values), np.fmax.reduce(values)  # NaN left out (all NaN: NaN)
        if high - low < _DENSE:  # finite, and few enough possible values
            shifted = values - low
            with np.errstate(invalid="ignore"):  # a missing value's code is set below
                codes = shifted.astype(np.int64)
            missing = np.isnan(values)
            if not ((codes == shifted) | missing).all():
                codes = None  # not whole numbers
            else:
                codes[missing] = int(high - low) + 1
        elif np.isnan(low):
            codes = np.zeros(n, dtype=np.int64)
    if codes is None:
        codes = np.asarray(pd.factorize(column, sort=False, use_na_sentinel=False)[0], dtype=np.int64)
        return codes, int(pd.Series(column).nunique(dropna=False)) if count else 0
    return codes, int(np.count_nonzero(np.bincount(codes))) if count and n else 0


def _band_codes(age: pd.Series) -> tuple[np.ndarray, int]:
    """``_level_codes(derived.band_labels(age))`` without writing the labels: the band of each
    age as ``pd.cut(age, [-inf, *AGE_BREAKS, inf], right=False)`` finds it (one code per band,
    one for a missing or infinite age)."""
    from analysis.derived import AGE_BREAKS
    x = pd.to_numeric(age, errors="coerce")
    x = x.to_numpy(dtype=float, na_value=np.nan) if isinstance(x, pd.Series) else np.asarray(x, dtype=float)
    codes = np.zeros(len(x), dtype=np.int8)
    for edge in AGE_BREAKS:  # the number of breaks at or below the age: its band
        codes += x >= edge
    codes[~(x < np.inf)] = len(AGE_BREAKS) + 1  # missing or infinite: outside every band
    codes = codes.astype(np.int64)
    return codes, int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


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

    @cached_property
    def _sizes(self) -> np.ndarray:
        """The number of rows of each block (made once: every view of the survey asks)."""
        ok = self.block >= 0
        return np.bincount(self.block[ok], minlength=int(self.block.max()) + 1 if ok.any() else 0)

    def inside(self, mask) -> np.ndarray:
        """Rows whose whole block lies inside ``mask`` (a view, or a group inside a view)."""
        m = self._aligned(mask)
        ok = ~self.withheld
        if not ok.any():
            return ok
        if m.all():  # every block lies inside
            return ok
        size = self._sizes
        hit = np.bincount(self.block[ok & m], minlength=len(size))
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
        pure = self._pure(_codes(by), by.notna().to_numpy())
        rows = self.contributors(self._aligned(mask) & pure, answered)
        return by.where(pd.Series(rows, index=self.index))

    def _pure(self, codes: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Rows (not withheld) whose block has one level of ``codes`` throughout, a ``present``
        one (a missing level is a level of its own, so a block is wholly present or not)."""
        ok = ~self.withheld
        if not ok.any():
            return ok
        nblocks = int(self.block.max()) + 1
        every = bool(ok.all())
        blk = self.block if every else np.where(ok, self.block, 0)
        lo = np.full(nblocks, np.iinfo(np.int64).max)
        hi = np.full(nblocks, -1)
        np.minimum.at(lo, blk if every else blk[ok], codes if every else codes[ok])
        np.maximum.at(hi, blk if every else blk[ok], codes if every else codes[ok])
        return ok & (lo == hi)[blk] & present


def _smallest_blocks(cell: np.ndarray, ncell: int, block: np.ndarray, taken: np.ndarray,
                     sizes: np.ndarray) -> np.ndarray:
    """The smallest block already made in each cell (ties: the first made), -1 where none.

    ``cell``, ``block`` and ``taken`` describe rows (their cell, block, and whether they are
    in one); any rows holding at least one row of every block give the same answer, so
    ``disclosure_partition`` passes one per block. Found over the blocks, not the rows: a
    block's rows lie in one cell at the depth being pooled and at every shallower one, since
    cells only merge going up."""
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
    return _partition_of_codes([_codes(data[c]) for c in columns], columns, min_n, data.index)


def _partition_of_codes(coded: Sequence[np.ndarray], columns: Sequence[str], min_n: int, index: pd.Index) -> Partition:
    """``disclosure_partition`` of the columns given by their level codes (``_level_codes``:
    any codes telling the levels apart, since the cells are numbered by their first row)."""
    n = len(index)
    if n == 0:
        return Partition(columns=tuple(columns), min_n=min_n, block=np.zeros(0, dtype=np.int64), index=index)
    # the cell of every row at the deepest depth (the full cross-classification), numbered in
    # order of first appearance; a cell of a shallower depth is a union of these, so its
    # number (also by first appearance) is found over these cells instead of over the rows
    key, bound = np.zeros(n, dtype=np.int64), 1
    for codes in coded:
        width = int(codes.max()) + 1
        if bound * width >= 1 << 62:  # keep the combined key within int64
            key = np.asarray(pd.factorize(key, sort=False)[0], dtype=np.int64)
            bound = int(key.max()) + 1
        key *= width  # in place: no new array per column
        key += codes
        bound *= width
    fine = np.asarray(pd.factorize(key, sort=False)[0], dtype=np.int64)
    nfine = int(fine.max()) + 1
    row_of = np.empty(nfine, dtype=np.int64)
    row_of[fine] = np.arange(n)  # a row of each cell (any: they share every code)
    cells_at = [np.zeros(nfine, dtype=np.int64)]  # the cell of each deepest cell at every depth
    for codes in coded:
        combined = cells_at[-1] * (int(codes.max()) + 1) + codes[row_of]
        cells_at.append(np.asarray(pd.factorize(combined, sort=False)[0], dtype=np.int64))
    sizes = np.zeros(0, dtype=np.int64)  # size of each block made so far
    block_fine = np.zeros(0, dtype=np.int64)  # a deepest cell holding rows of each block
    free = np.arange(n)  # the rows in no block yet, and their deepest cells
    free_fine = fine
    block = np.full(n, -1, dtype=np.int64)
    for depth in range(len(coded), -1, -1):
        if not len(free):
            break  # every row is in a block: nothing is pooled any more
        ncell = int(cells_at[depth].max()) + 1
        cell = cells_at[depth][free_fine]
        pool = np.bincount(cell, minlength=ncell)
        # the smallest block of each cell: one row (the block's cell) per block
        best = _smallest_blocks(cells_at[depth][block_fine], ncell, np.arange(len(sizes)),
                                np.ones(len(sizes), dtype=bool), sizes)
        grows = pool >= min_n
        new_block = np.full(ncell, -1, dtype=np.int64)
        new_block[grows] = len(sizes) + np.arange(int(grows.sum()))
        join = (pool > 0) & ~grows & (best >= 0)
        sizes = np.concatenate([sizes, pool[grows]])
        np.add.at(sizes, best[join], pool[join])
        fine_in = np.empty(ncell, dtype=np.int64)
        fine_in[cell] = free_fine  # a deepest cell of each cell's free rows
        block_fine = np.concatenate([block_fine, fine_in[grows]])
        target = np.where(grows, new_block, np.where(join, best, -1))[cell]
        left = target < 0
        if len(free) == n:  # the deepest depth: every row was free
            block = target
            free = np.flatnonzero(left)
            free_fine = fine[free]
        else:
            block[free[~left]] = target[~left]
            free, free_fine = free[left], free_fine[left]
    return Partition(columns=tuple(columns), min_n=min_n, block=block, index=index)


def partition_for(data: pd.DataFrame, instrument=None, min_n: int = DEFAULT_MIN_N,
                  columns: Sequence[str] | None = None) -> Partition:
    """The partition of a whole survey over its disclosure columns (``age_band`` derived):
    ``disclosure_partition`` of those columns, each coded once (the demographics' codes
    counted for their order reused, the age band coded from the ages without its labels)."""
    coded: dict[str, np.ndarray] = {}
    if columns is not None:
        cols = list(columns)
    else:
        cols, coded = _columns_and_codes(data, instrument)
    return _partition_for(data, cols, coded, min_n)


def _partition_for(data: pd.DataFrame, cols: list, coded: dict, min_n: int) -> Partition:
    """``partition_for`` over the columns ``cols``, ``coded`` holding the codes of some of them
    already (``_columns_and_codes``)."""
    min_n = check_min_n(min_n)
    present = [c for c in cols if c in data.columns or (c == "age_band" and "age" in data.columns)]
    missing = [c for c in cols if c not in present]
    if missing:
        raise InputError("unknown column", column=str(missing[0]),
                         hint="the columns a survey is filtered or grouped by must be in its data")
    codes = [coded[c] if c in coded else _codes(data[c]) if c in data.columns else _band_codes(data["age"])[0]
             for c in cols]
    return _partition_of_codes(codes, cols, min_n, data.index)


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
    rows, part, active, partial = _filter(frame, filters, min_n, instrument, columns, partition)
    kept = frame if rows.all() else frame.loc[rows]  # the whole survey: its columns shared, not copied
    kept = pd.concat([kept, pd.Series(part.block[rows], index=kept.index, name=BLOCK)], axis=1)
    return FilterCheck(data=kept, n=int(rows.sum()), filters=active, partial=partial, partition=part)


def filtered_rows(data: pd.DataFrame, filters: Mapping | None, min_n: int = DEFAULT_MIN_N, *,
                  instrument=None, columns: Sequence[str] | None = None,
                  partition: Partition | None = None) -> tuple[np.ndarray, Partition, dict, bool]:
    """``check_filter`` without building the view: which rows of ``data`` the view holds (a
    boolean array), the partition, the filters as applied and whether some selected rows were
    left out (``partial``); the same checks, the same errors. A caller reading a few columns
    of the view takes them at these rows instead of copying every column of the kept rows."""
    min_n = check_min_n(min_n)
    from analysis.derived import with_age_band
    # the age band is derived only to filter on it (the partition codes it from the ages),
    # or to name the columns when a filter's column is unknown, as check_filter does
    frame = with_age_band(data) if any(c not in data.columns for c in (filters or {})) else data
    return _filter(frame, filters, min_n, instrument, columns, partition)


def _filter(frame: pd.DataFrame, filters, min_n: int, instrument, columns, partition):
    """The rows of ``frame`` a view filtered by ``filters`` may use (``check_filter``)."""
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
    return rows, part, active, bool((mask.to_numpy() & ~rows).any())


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
        ans = None if answered is None else pd.Series(answered, index=data.index).fillna(False)
        return pd.Series(group_cells(data, group, min_n, ans).notna().to_numpy(), index=data.index)
    # group_cells on check_filter(data, None, ...) without building that view: the rows of
    # blocks (all but the withheld) with one group value, at least min_n of them answered
    min_n = check_min_n(min_n)
    try:
        part = partition_for(data, instrument, min_n, None if instrument is not None else [group])
    except InputError:
        return pd.Series(False, index=data.index)
    by = data[group]
    rows = part._pure(_codes(by), by.notna().to_numpy())
    if answered is not None:
        if isinstance(answered, pd.Series) and answered.index.equals(data.index):
            ans = answered.fillna(False).to_numpy(dtype=bool)
        else:
            ans = pd.Series(answered, index=data.index).fillna(False).to_numpy(dtype=bool)
        rows &= ans
    return pd.Series(part._answered_blocks(rows, None), index=data.index)


def published_group_effects(effects: pd.DataFrame, min_n: int = DEFAULT_MIN_N) -> pd.DataFrame:
    """A model's per-group estimates (``MixedResult.ranef()``) without the groups of fewer than
    ``min_n`` observations: their conditional modes are estimated from those few people's
    answers, so they are not listed at all (threshold rule, Hundepool et al. 2012)."""
    min_n = check_min_n(min_n)
    if "n" not in effects.columns:
        raise InputError("the group effects carry no group sizes", hint="use MixedResult.ranef()")
    return effects[effects["n"] >= min_n].reset_index(drop=True)
