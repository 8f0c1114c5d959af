"""Derived respondent variables with one definition each (used by privacy, topics and pages)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

AGE_BREAKS = (18, 30, 45, 60)
AGE_BAND = "age_band"


def age_bands(age: pd.Series, breaks: Sequence[int] = AGE_BREAKS) -> pd.Series:
    """Age in years to ordered bands, e.g. 18-29, 30-44, 45-59, 60+ (under the first break: '<18')."""
    age = pd.to_numeric(age, errors="coerce")
    edges = [-np.inf] + list(breaks) + [np.inf]
    labels = [f"<{breaks[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(breaks[:-1], breaks[1:])] + [f"{breaks[-1]}+"]
    return pd.cut(age, edges, right=False, labels=labels)


def with_age_band(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` plus an ``age_band`` column (text labels) when it has ``age`` and no band yet."""
    if "age" not in data.columns or AGE_BAND in data.columns:
        return data
    return pd.concat([data, band_labels(data["age"]).rename(AGE_BAND)], axis=1)  # one new column, the rest not copied


def band_labels(age: pd.Series, breaks: Sequence[int] = AGE_BREAKS) -> pd.Series:
    """``age_bands(age).astype("string")`` (missing: ``<NA>``), made from the few labels by the
    codes instead of converting 600,000 cells one by one."""
    bands = age_bands(age, breaks)
    labels = pd.array(np.asarray(bands.cat.categories, dtype=object), dtype="string")
    return pd.Series(labels.take(bands.cat.codes.to_numpy(), allow_fill=True), index=bands.index, name=bands.name)
