"""Organisation-level tables of the resources screen (topic 2), privacy applied here, not in the
page: a score's organisation means with the readiness table's withheld organisations withheld
too, and the agreement within organisations on each readiness dimension.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis import aggregation, privacy
from analysis.readiness import LOW_AGREEMENT
from analysis.scoring import numeric_items


def organisation_means(data: pd.DataFrame, group: str, outcome: str, scale, *, min_n: int = privacy.DEFAULT_MIN_N,
                       hidden: Iterable = ()) -> pd.DataFrame:
    """Each organisation's mean of ``outcome`` (``analysis.aggregation.aggregate``; R
    ``tapply(x, g, mean)``) and its ``n``, on the respondents who answered it; organisations under
    ``min_n`` and those in ``hidden`` (what another table of the screen withholds) are withheld,
    with complementary suppression so no withheld value follows from the totals
    (``analysis.privacy.suppress``).

    Parameters
    ----------
    data : DataFrame
        Scored respondents (one column per scale score).
    group, outcome : str
        The organisation column and the score.
    scale : object with ``min`` and ``max``
        The score's response range (the number of options enters rwg, not the means).
    min_n : int
        The privacy threshold.
    hidden : iterable
        Organisations to withhold as well.
    """
    used = privacy.group_cells(data, group, min_n, answered=data[outcome].notna()).notna()
    data = data.loc[used, [group, outcome]]  # the two columns used, not a copy of every column
    agg = aggregation.aggregate(data, group, outcome, scale.max - scale.min + 1)
    table = agg.groups[["group", "n", "mean"]].copy()
    forced = table["group"].astype(str).isin({str(g) for g in hidden})
    return privacy.suppress(table, "n", min_n, value_cols=["mean"], totals=True, force=forced)


def _shown(ids: pd.Series, shown_groups: Iterable) -> np.ndarray:
    """Rows whose id, as text, is one of ``shown_groups`` as text (``ids.astype(str).isin``),
    each distinct id turned into text once."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    wanted = {str(g) for g in shown_groups}
    hit = np.array([str(u) in wanted for u in pd.Series(uniques, dtype=ids.dtype).astype(str)] + [False], dtype=bool)
    return hit[codes]


def dimension_agreement(data: pd.DataFrame, instrument, group: str, shown_groups: Iterable, *,
                        min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """rwg(j) of each readiness dimension's items over the organisations shown: its mean, median
    and the share of organisations at or above .70 (James, Demaree & Wolf 1984; LeBreton &
    Senter 2008; R ``multilevel::rwg.j``), on whole blocks of organisations the privacy
    partition publishes (``analysis.privacy.group_cells``)."""
    shown = _shown(data[group], shown_groups)
    used = privacy.group_cells(data, group, min_n).notna().to_numpy() & shown
    codes, order = aggregation.group_codes(data[group], used)  # one factorisation for every dimension
    rows = []
    for c in instrument.readiness_dimensions:
        items = [it.id for it in c.items if it.id in data.columns]
        if not items:
            continue
        options = c.scale.max - c.scale.min + 1
        answers = numeric_items(data, items)
        columns = [answers[i].to_numpy(dtype=float) for i in items]
        complete = codes >= 0
        for values in columns:
            complete &= ~np.isnan(values)
        n_g = np.bincount(codes[complete], minlength=len(order))
        unanswered = any(not np.count_nonzero(used & ~np.isnan(values)) for values in columns)
        if (n_g > 0).sum() < 2 or (n_g <= 1).all() or unanswered:
            # too few groups or an unanswered item: ``aggregate`` says which, as it always has
            aggregation.aggregate(data.loc[used, [group, *items]], group, items, options)
        x = np.empty((int(complete.sum()), len(items)), order="F")  # item by item, contiguous
        for j, values in enumerate(columns):
            x[:, j] = values[complete]
        # ``aggregate``'s rwg(j) (its group variances over the same rows in the same order, so the
        # same numbers) without its group labels, means and ICCs, which this table does not show
        _, _, var = aggregation.group_variances(x, codes[complete], len(order))
        value, _ = aggregation.rwg_j_from_variances(var, options)
        rwg = pd.Series(value[n_g > 0]).dropna()
        rows.append({"dimension": c.key,
                     "rwg_j_mean": float(rwg.mean()) if len(rwg) else float("nan"),
                     "rwg_j_median": float(rwg.median()) if len(rwg) else float("nan"),
                     "share_rwg_j_at_least_70": float((rwg >= LOW_AGREEMENT).mean()) if len(rwg) else float("nan")})
    return pd.DataFrame(rows)
