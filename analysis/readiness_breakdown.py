"""Readiness inside an organisation broken down by a demographic (gender, role, age band ...).

Every cell (organisation x level) gets the readiness index and dimension scores exactly as
``analysis.readiness.readiness`` defines them, computed on the cell instead of the whole
organisation.

**Privacy, with complementary suppression by construction** (``analysis.privacy``): a cell
uses only the whole blocks of the survey's one disclosure partition that lie inside the
organisation *and* inside the level (blocks are at least ``min_n`` respondents). A level with
fewer than ``min_n`` respondents has no such block and is suppressed (primary suppression);
its respondents sit in a block mixed with another level, which is therefore left out of that
level too, so the other level's cell either drops that block or, when nothing else is left,
is suppressed as well (complementary suppression, Hundepool et al. 2012, *Statistical
Disclosure Control*, sec. 4.4). The organisation's total minus the shown cells is thus a
union of whole mixed blocks, never one level's respondents alone, and no combination of
published cells, in any breakdown or filtered view, can isolate fewer than ``min_n`` people
(proof in ``analysis.privacy``'s docstring). A shown cell's ``n`` can therefore be smaller
than the number of people of that level in the organisation.

Suppression labels: ``primary`` when the level has fewer than ``min_n`` respondents in the
organisation (zero included, so an empty level looks like any small one), ``complementary``
when it has more but no whole block of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError

CELL = "_breakdown_cell"
SEP = "\x1f"


def breakdown_columns(data: pd.DataFrame, instrument, group: str) -> list[str]:
    """Columns an organisation can be broken down by: the survey's disclosure columns (the
    categorical demographics and ``age_band``) other than the grouping columns and those
    constant within every group (an organisation's type splits nothing inside it)."""
    from analysis.derived import with_age_band
    columns = privacy.disclosure_columns(data, instrument)
    frame = with_age_band(data[[c for c in dict.fromkeys([group, *columns, "age"]) if c in data.columns]])
    groups = set((getattr(instrument, "group_columns", {}) or {}).values()) | {group}
    in_group, _ = pd.factorize(frame[group])  # respondents without a group are in none
    has_group = in_group >= 0
    n_groups = len(pd.unique(in_group[has_group]))
    out = []
    for col in columns:
        if col in groups or col not in frame.columns:
            continue
        # some group has two values (missing counts as one): more (group, value) pairs than groups
        values, _ = pd.factorize(frame[col], use_na_sentinel=False)
        pairs = in_group[has_group].astype(np.int64) * (int(values.max()) + 1 if len(values) else 1) + values[has_group]
        if len(pd.unique(pairs)) > n_groups:
            out.append(col)
    return out


def level_labels(instrument, column: str) -> dict:
    """A demographic's level labels from the instrument (code -> label), or {}."""
    demo = next((d for d in (getattr(instrument, "demographics", []) or []) if d.id == column), None)
    return dict(getattr(demo, "levels", None) or {})


def _text_codes(column: pd.Series, values: list) -> tuple[np.ndarray, np.ndarray]:
    """A code for each row of ``column`` and for each of ``values`` such that two share a code
    when their text (``str``) is the same; -1 for a missing row. Each distinct value is
    turned into text once."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = [str(u) for u in np.asarray(uniques, dtype=object)] + [str(v) for v in values]
    same, _ = pd.factorize(np.array(text, dtype=object))
    same = np.asarray(same, dtype=np.int64)
    return np.append(same[:len(uniques)], -1)[codes], same[len(uniques):]


def _label(value, labels: dict) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(labels.get(value, value))


@dataclass
class Breakdown:
    """``table``: one row per group and level of ``by`` with ``group, level, label, n,
    suppressed, suppression, index`` and one 0-100 score per dimension (``dimensions``)."""
    by: str
    min_n: int
    group_column: str
    dimensions: list
    labels: dict
    table: pd.DataFrame

    def for_group(self, group_id) -> pd.DataFrame:
        return self.table[self.table["group"].astype(str) == str(group_id)].reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"by": self.by, "min_n": self.min_n, "group_column": self.group_column,
                "dimensions": list(self.dimensions), "labels": dict(self.labels), "cells": self.table}


def breakdown(data: pd.DataFrame, instrument, by: str, group: str = "org_id", *,
              min_n: int = privacy.DEFAULT_MIN_N, partition: privacy.Partition | None = None) -> Breakdown:
    """Readiness of every organisation broken down by ``by`` (see the module docstring).

    Parameters
    ----------
    data : the whole survey, the pipeline's scored frame, as for ``readiness``.
    instrument : the instrument with the readiness dimensions.
    by : a column of ``breakdown_columns`` (e.g. ``gender``, ``role``, ``age_band``).
    group : the organisation column.
    min_n : the privacy threshold.
    partition : the survey's disclosure partition (``analysis.readiness.survey_partition``)
        when the caller made it already; made here otherwise.

    Returns
    -------
    Breakdown, every (organisation, level) pair of the survey listed, suppressed ones blank.
    """
    from analysis.derived import with_age_band
    from analysis.readiness import _group_table, resolve_group

    min_n = privacy.check_min_n(min_n)
    group = resolve_group(data, instrument, group)
    allowed = breakdown_columns(data, instrument, group)
    if by not in allowed:
        raise InputError("this column cannot break an organisation down", column=str(by),
                         hint="break down by one of: " + (", ".join(allowed) or "none in this survey"))
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    scores = [c.key for c in instrument.readiness_dimensions if c.key in data.columns]
    keep = [group, *privacy.disclosure_columns(data, instrument), *(["age"] if "age" in data.columns else []), *items,
            *scores]
    frame = with_age_band(data[[c for c in dict.fromkeys(keep) if c in data.columns]])
    levels = frame[by].dropna().drop_duplicates()
    levels = sorted(levels.tolist(), key=(float if pd.api.types.is_numeric_dtype(frame[by]) else str))
    orgs = sorted(frame[group].dropna().drop_duplicates().tolist(),
                  key=(float if pd.api.types.is_numeric_dtype(frame[group]) else str))
    # the cell of each respondent: (organisation, level) as a number; two ids with the same
    # text (1 and "1") share a cell, as they did when cells were the text "<id>\x1f<level>"
    org_rows, org_codes = _text_codes(frame[group], orgs)
    level_rows, level_codes = _text_codes(frame[by], levels)
    width = int(max(level_codes.max(initial=-1), level_rows.max(initial=-1))) + 1
    cell = np.where((org_rows >= 0) & (level_rows >= 0), org_rows * width + level_rows, -1)
    frame = pd.concat([frame, pd.Series(np.where(cell >= 0, cell, np.nan), index=frame.index, name=CELL)], axis=1)
    # one readiness call over the (organisation, level) cells: the cell's blocks are those
    # pure in both, exactly as filtering on the organisation and grouping by the level
    # (``readiness``'s table of groups: its rwg, benchmark and ICCs over cells are not shown here)
    result = _group_table(frame, instrument, CELL, min_n, None, partition, agreement=False)
    dims = [c.key for c in result.dims]
    grid = [float(o * width + lv) for o in org_codes for lv in level_codes]
    cells = result.table.set_index("group").reindex(grid)  # every (organisation, level) pair, in order
    counted = frame[items].notna().any(axis=1)
    sizes = frame.loc[counted, [group, by]].groupby([group, by]).size()
    small = (sizes.reindex(pd.MultiIndex.from_product([orgs, levels]), fill_value=0).to_numpy() < min_n
             if len(orgs) and len(levels) else np.zeros(0, dtype=bool))
    labels = level_labels(instrument, by)
    shown_all = (cells["suppressed"] == False).to_numpy()  # noqa: E712 (missing: no such cell)
    values = {k: cells[k].to_numpy() for k in ["n", "index", *dims]}
    rows = []
    at = 0
    for g in orgs:
        for level in levels:
            shown = bool(shown_all[at])
            rows.append({"group": g, "level": level, "label": _label(level, labels),
                         "n": int(values["n"][at]) if shown else None, "suppressed": not shown,
                         "suppression": "" if shown else ("primary" if small[at] else "complementary"),
                         "index": float(values["index"][at]) if shown else float("nan"),
                         **{k: (float(values[k][at]) if shown else float("nan")) for k in dims}})
            at += 1
    table = pd.DataFrame(rows)
    table["n"] = pd.Series([r["n"] for r in rows], dtype=object)  # None, not NaN, when suppressed
    return Breakdown(by=by, min_n=min_n, group_column=group, dimensions=list(dims),
                     labels={c.key: c.label for c in result.dims}, table=table)
