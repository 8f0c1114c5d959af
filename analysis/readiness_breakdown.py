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
    from analysis.readiness import _Shared
    return _breakdown_columns(data, instrument, group, _Shared(data))


def _breakdown_columns(data: pd.DataFrame, instrument, group: str, shared) -> list[str]:
    """``breakdown_columns``, the disclosure columns' codes and the groups taken from
    ``shared`` (``analysis.readiness._Shared``)."""
    columns, coded = shared.disclosure(instrument)
    groups = set((getattr(instrument, "group_columns", {}) or {}).values()) | {group}
    in_group = shared.grouping(group).codes  # respondents without a group are in none
    has_group = in_group >= 0
    n_groups = int(np.count_nonzero(np.bincount(in_group[has_group]))) if has_group.any() else 0
    out = []
    for col in columns:
        if col in groups or not (col in data.columns or (col == "age_band" and "age" in data.columns)):
            continue
        # some group has two values (missing counts as one): more (group, value) pairs than groups
        if col in coded:
            values = coded[col]
        else:
            values = privacy._codes(data[col]) if col in data.columns else privacy._band_codes(data["age"])[0]
        width = int(values.max()) + 1 if len(values) else 1
        pairs = in_group[has_group] * width + values[has_group]
        seen = (np.count_nonzero(np.bincount(pairs)) if n_groups * width <= 4 * len(pairs) + 1024
                else len(pd.unique(pairs)))  # the distinct pairs, counted directly when few can be
        if seen > n_groups:
            out.append(col)
    return out


def level_labels(instrument, column: str) -> dict:
    """A demographic's level labels from the instrument (code -> label), or {}."""
    demo = next((d for d in (getattr(instrument, "demographics", []) or []) if d.id == column), None)
    return dict(getattr(demo, "levels", None) or {})


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
    return _breakdown(data, instrument, by, group, min_n=min_n, partition=partition)


def _breakdown(data: pd.DataFrame, instrument, by: str, group: str, *, min_n: int,
               partition: privacy.Partition | None, shared=None) -> Breakdown:
    """``breakdown``; ``shared``: the arrays the views of ``data`` computed together share
    (``analysis.readiness._Shared``)."""
    from analysis.derived import band_labels
    from analysis.readiness import _group_table, _grouping, _Grouping, _Shared, resolve_group

    shared = shared if shared is not None else _Shared(data)
    min_n = privacy.check_min_n(min_n)
    group = resolve_group(data, instrument, group)
    allowed = _breakdown_columns(data, instrument, group, shared)
    if by not in allowed:
        raise InputError("this column cannot break an organisation down", column=str(by),
                         hint="break down by one of: " + (", ".join(allowed) or "none in this survey"))
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    column = data[by] if by in data.columns else band_labels(data["age"]).rename(by)  # the age band derived
    orgs, levels = shared.grouping(group), (shared.grouping(by) if by in data.columns else _grouping(column))
    # the cell of each respondent: (organisation, level) as a number; two ids with the same
    # text (1 and "1") share a cell, as they did when cells were the text "<id>\x1f<level>"
    org_text, level_text = _text_classes(orgs.labels), _text_classes(levels.labels)
    width = int(level_text.max(initial=-1)) + 1
    n_cells = (int(org_text.max(initial=-1)) + 1) * width
    both = (orgs.codes >= 0) & (levels.codes >= 0)
    cell = np.where(both, org_text[orgs.codes] * width + level_text[levels.codes], -1)
    # one readiness call over the (organisation, level) cells: the cell's blocks are those
    # pure in both, exactly as filtering on the organisation and grouping by the level
    # (``readiness``'s table of groups: its rwg, benchmark and ICCs over cells are not shown here)
    result = _group_table(data, instrument, CELL, min_n, None, partition, agreement=False,
                          grouping=_Grouping(list(range(n_cells)), cell), shared=shared)
    dims = [c.key for c in result.dims]
    grid = (org_text[:-1, None] * width + level_text[None, :-1]).reshape(-1)  # every (organisation, level) pair
    counted = np.zeros(len(data), dtype=bool)
    for item in items:
        counted |= data[item].notna().to_numpy()
    pair = np.where(counted & both, orgs.codes * len(levels.labels) + levels.codes, -1)
    sizes = np.bincount(pair[pair >= 0], minlength=len(orgs.labels) * len(levels.labels))
    small = sizes < min_n
    labels = level_labels(instrument, by)
    if not len(grid):  # no organisation or no level: the empty table the rows would make
        return Breakdown(by=by, min_n=min_n, group_column=group, dimensions=list(dims),
                         labels={c.key: c.label for c in result.dims},
                         table=pd.DataFrame({"n": pd.Series([], dtype=object)}))
    table = result.table
    shown = ~table["suppressed"].to_numpy()[grid]
    n_orgs, n_levels = len(orgs.labels), len(levels.labels)
    level_names = [_label(level, labels) for level in levels.labels]
    n = np.full(len(grid), None, dtype=object)
    n[shown] = table["n"].to_numpy()[grid][shown].tolist()
    columns = {"group": [g for g in orgs.labels for _ in range(n_levels)], "level": levels.labels * n_orgs,
               "label": level_names * n_orgs, "n": n, "suppressed": ~shown,
               "suppression": np.where(shown, "", np.where(small, "primary", "complementary")).tolist(),
               **{k: np.where(shown, table[k].to_numpy(dtype=float)[grid], np.nan) for k in ["index", *dims]}}
    out = pd.DataFrame(columns)
    out["n"] = pd.Series(n, dtype=object)  # None, not NaN, when suppressed
    return Breakdown(by=by, min_n=min_n, group_column=group, dimensions=list(dims),
                     labels={c.key: c.label for c in result.dims}, table=out)


def _text_classes(values: list) -> np.ndarray:
    """A code for each of ``values`` such that two share a code when their text (``str``) is
    the same, and -1 appended (the code of a row with no value)."""
    same, _ = pd.factorize(np.array([str(v) for v in values], dtype=object))
    return np.append(np.asarray(same, dtype=np.int64), -1)
