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
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    kept = data.loc[used, list(dict.fromkeys([group, *items]))]  # only the columns used below
    rows = []
    for c in instrument.readiness_dimensions:
        items = [it.id for it in c.items if it.id in kept.columns]
        if not items:
            continue
        agg = aggregation.aggregate(kept, group, items, c.scale.max - c.scale.min + 1)
        rwg = agg.groups["rwg"].dropna()
        rows.append({"dimension": c.key, "rwg_j_mean": agg.rwg_mean, "rwg_j_median": agg.rwg_median,
                     "share_rwg_j_at_least_70": float((rwg >= LOW_AGREEMENT).mean()) if len(rwg) else float("nan")})
    return pd.DataFrame(rows)
