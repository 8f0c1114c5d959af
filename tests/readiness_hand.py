"""The readiness scores and index written out with plain pandas from a sample file, for the tests
to check the library against (answers 1-5, -99 missing, reverse-keyed items as 6 - x, a scale
score when at least half its items are answered, rescaled (score - 1) / 4 * 100)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def hand_scores(raw: pd.DataFrame, instrument) -> pd.DataFrame:
    """``org_id`` and the 0-100 score of every readiness dimension per respondent, and ``index``:
    the mean of the seven when all are there (R ``rowMeans(..., na.rm = FALSE)``)."""
    out = pd.DataFrame({"org_id": raw["org_id"]})
    if "municipality_id" in raw.columns:
        out["municipality_id"] = raw["municipality_id"]
    for c in instrument.readiness_dimensions:
        x = raw[[it.id for it in c.items]].replace(-99, np.nan).astype(float)
        for it in c.items:
            if it.reverse:
                x[it.id] = 6 - x[it.id]
        mean = x.mean(axis=1).where(x.notna().sum(axis=1) >= np.ceil(len(c.items) / 2))
        out[c.key] = (mean - 1) / 4 * 100
    out["index"] = out[[c.key for c in instrument.readiness_dimensions]].mean(axis=1, skipna=False)
    return out
