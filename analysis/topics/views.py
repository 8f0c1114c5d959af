"""The filtered views every topic screen works on, and filters written as text."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.derived import age_bands
from analysis.errors import InputError


def _labelled(data: pd.DataFrame, instrument, column: str) -> pd.Series:
    """A demographic column with its level labels (as an ordered categorical); 'age' -> age bands."""
    if column == "age_band" and "age" in data.columns:
        return age_bands(data["age"])
    if column not in data.columns:
        raise InputError("unknown column", column=column,
                         hint=f"available columns include {', '.join(map(str, list(data.columns)[:15]))}")
    levels = None
    for d in getattr(instrument, "demographics", []) or []:
        if d.id == column and d.levels:
            levels = d.levels
    if levels:
        s = pd.to_numeric(data[column], errors="coerce")
        s = s.mask(s.isin(getattr(instrument, "missing_codes", []) or []))
        # each code's label, looked up once per distinct code rather than once per respondent
        names = {v: levels.get(int(v), str(v)) for v in s.dropna().unique()}
        return pd.Categorical(s.map(names), categories=list(levels.values()), ordered=True)
    s = data[column]
    if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
        return s.astype("Int64")  # whole-number codes read as floats because of missing cells
    return s


def apply_filters(data: pd.DataFrame, filters: dict | None, min_n: int = privacy.DEFAULT_MIN_N, *,
                  instrument=None, group: str | None = None,
                  partition: privacy.Partition | None = None) -> pd.DataFrame:
    """The rows a filtered view may use (``privacy.check_filter``): whole blocks of the
    survey's disclosure partition inside ``filters`` ({column: [values]}), each row carrying
    its block so groups inside the view use the same blocks. Without an ``instrument`` the
    partition is over the filtered columns and ``group``. ``partition``: the survey's
    partition made before (``privacy.partition_for(data, instrument, min_n)``, the same for
    every filter), so a filter change does not split the whole survey again."""
    columns = None
    if instrument is None:
        columns = list(dict.fromkeys(([group] if group else []) + list((filters or {}).keys())))
    return privacy.check_filter(data, filters, min_n, instrument=instrument, columns=columns,
                                partition=partition).data


def published(view: pd.DataFrame, answered, min_n: int = privacy.DEFAULT_MIN_N) -> pd.Series:
    """Rows of ``view`` a whole-view statistic of an answer may use (``privacy.usable``)."""
    return privacy.usable(view, min_n, answered)


def parse_where(data: pd.DataFrame, instrument, where: Sequence[str] | None) -> dict:
    """``["gender=Man", "org_id=103,104"]`` to ``{column: [values]}``: a value may be the code
    in the data or its label in the instrument (``Man`` for gender 2); ``age_band`` takes the
    band labels (``30-44``). ``InputError`` names the bad condition."""
    filters: dict = {}
    for cond in where or []:
        column, sep, values = str(cond).partition("=")
        column = column.strip()
        if not sep or not column or not values.strip():
            raise InputError(f"cannot read the filter '{cond}'", hint="write COLUMN=VALUE or COLUMN=V1,V2")
        if column not in data.columns and not (column == "age_band" and "age" in data.columns):
            raise InputError("unknown filter column", column=column,
                             hint=f"filter on one of: {', '.join(privacy.disclosure_columns(data, instrument))}")
        demographics = getattr(instrument, "demographics", []) or []
        levels = next((d.levels for d in demographics if d.id == column and d.levels), None)
        by_label = {str(v): k for k, v in (levels or {}).items()}
        chosen = []
        for v in (x.strip() for x in values.split(",")):
            if v in by_label:
                chosen.append(by_label[v])
            else:
                try:
                    number = float(v)
                    chosen.append(int(number) if number.is_integer() else number)
                except ValueError:
                    chosen.append(v)
        filters[column] = chosen
    return filters


def topic_one_keys(instrument) -> list[str]:
    """The constructs of research topic 1 (knowledge, skills, attitudes)."""
    return [c.key for c in instrument.constructs if str(c.topic) == "1"]


def _constructs(instrument, keys=None, *, families=None, present_in=None):
    out = []
    for c in instrument.constructs:
        if keys is not None and c.key not in keys:
            continue
        if families is not None and (c.family or "") not in families:
            continue
        if present_in is not None and c.key not in present_in.columns:
            continue
        out.append(c)
    return out
