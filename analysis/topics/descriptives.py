"""Distributions of the construct scores (the skills screen's table)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.readiness_index import to_0_100
from analysis.topics.views import _constructs, apply_filters, published, topic_one_keys


def describe_constructs(scored: pd.DataFrame, instrument, keys=None, *,
                        min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Distribution of each construct score: n, mean, sd, quartiles, mean on 0-100.

    Computed from the respondents ``published`` allows (whole blocks with at least ``min_n``
    answers); a construct with none is listed with ``n`` 0 and no values. No minimum or
    maximum is given: each is one person's score.
    """
    rows = []
    for c in _constructs(instrument, keys, present_in=scored):
        x = scored.loc[published(scored, scored[c.key].notna(), min_n), c.key]
        if x.empty:
            rows.append({"construct": c.key, "label": c.label, "topic": c.topic, "family": c.family, "n": 0,
                         "scale_min": c.scale.min, "scale_max": c.scale.max,
                         "reading": f"{c.label}: {privacy.TOO_FEW} in this view."})
            continue
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        mean100 = float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0])
        rows.append({"construct": c.key, "label": c.label, "topic": c.topic, "family": c.family, "n": int(len(x)),
                     "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
                     "q1": q1, "median": med, "q3": q3,
                     "scale_min": c.scale.min, "scale_max": c.scale.max, "mean_0_100": mean100,
                     "reading": f"{c.label}: mean {x.mean():.2f} on {c.scale.min}-{c.scale.max} "
                                f"(half of the {len(x)} respondents between {q1:.2f} and {q3:.2f})."})
    return pd.DataFrame(rows)


def distributions(data: pd.DataFrame, instrument, filters: dict | None = None, *,
                  min_n: int = privacy.DEFAULT_MIN_N, keys=None) -> pd.DataFrame:
    """The skills screen's distributions table for a filtered view: ``apply_filters`` on the
    whole survey, then ``describe_constructs`` on the topic-1 constructs (or ``keys``)."""
    view = apply_filters(data, filters, min_n, instrument=instrument)
    return describe_constructs(view, instrument, topic_one_keys(instrument) if keys is None else keys, min_n=min_n)
