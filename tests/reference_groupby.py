"""Reference implementations the national-scale code replaced, kept here to pin the new code
against (issue 15): rwg(j) of every group by a loop over the groups, and the rows each
readiness statistic may use by group, found as ``privacy.group_cells`` finds them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.aggregation import _check_options, null_variance
from analysis.readiness import _contributors


def rwg_j_by_group(x: np.ndarray, codes: np.ndarray, n_groups: int, options: int) -> np.ndarray:
    """``rwg_j`` of every group at once, number for number: each group's complete rows
    (code -1 left out, as are rows with a missing item) are put side by side, item by item,
    in their original order, and summed with the two-pass variance pandas computes inside
    ``rwg_j`` (item means, then squared deviations, n - 1), so the sums run over the same
    values in the same order. One sort and a loop over numpy slices, not a frame per group.

    Parameters
    ----------
    x : answers, rows by items (one column for ``rwg``-like use).
    codes : the group 0..n_groups-1 of each row, -1 for none.
    n_groups : the number of groups.
    options : the number of response options A (null variance (A^2 - 1) / 12).

    Returns
    -------
    numpy.ndarray of n_groups rwg(j) values, NaN for groups with fewer than two complete rows.
    R: ``multilevel::rwg.j(x, grpid, ranvar = (A^2 - 1) / 12)``.
    """
    sigma2 = null_variance(_check_options(options))
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    codes = np.asarray(codes, dtype=np.int64)
    rows = np.flatnonzero((codes >= 0) & ~np.isnan(x).any(axis=1))
    rows = rows[np.argsort(codes[rows], kind="stable")]
    columns = np.ascontiguousarray(x[rows].T)  # item by item: a group's answers side by side
    bounds = np.searchsorted(codes[rows], np.arange(n_groups + 1))
    out = np.full(n_groups, np.nan)
    j = columns.shape[0]
    for g in np.flatnonzero(np.diff(bounds) >= 2):
        block = columns[:, bounds[g]:bounds[g + 1]]
        n = block.shape[1]
        avg = block.sum(axis=1, dtype=np.float64) / n
        var = ((avg[:, None] - block) ** 2).sum(axis=1, dtype=np.float64) / (n - 1)
        s2 = min(float(var.sum(dtype=np.float64) / j), sigma2)
        ratio = s2 / sigma2
        out[g] = j * (1 - ratio) / (j * (1 - ratio) + ratio)
    return out


def group_contributors(view: pd.DataFrame, group: str, min_n: int):
    """``answered -> rows`` giving, as a boolean array over ``view``, the rows of
    ``privacy.group_cells(view, group, min_n, answered)`` (those with a group level), the
    partition and the blocks pure in one group found once for every statistic asked.

    ``group_cells`` keeps a row when its block lies wholly inside one group and has at least
    ``min_n`` rows answered (``Partition.contributors``). The blocks wholly inside one group
    are those of ``group_cells(view, group, min_n)`` (a block with fewer than ``min_n`` rows
    has fewer than ``min_n`` answered), found here once; each statistic then only counts its
    answered rows per block, as ``Partition.contributors`` does."""
    part = privacy.view_partition(view, min_n, view[group])
    whole = part.inside(privacy.group_cells(view, group, min_n).notna().to_numpy())
    found = _contributors(part.block, whole, part.min_n)

    def rows(answered) -> np.ndarray:
        if isinstance(answered, pd.Series):
            answered = answered.reindex(part.index).fillna(False).to_numpy(dtype=bool)
        return found(np.asarray(answered, dtype=bool))

    return rows
