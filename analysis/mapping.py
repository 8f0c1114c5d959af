"""Matching a file's columns to an instrument's items.

``auto_map`` proposes a mapping ``{item_id: column}``; the Data page shows it with
``mapping_table`` so the user can correct it, and ``apply_mapping`` renames the columns
to item ids. Matching goes from strict to loose and never assigns a column twice:

1. the column name equals the item id;
2. equal after ignoring case and punctuation (``PS_DSK1``, ``ps.dsk1``, ``ps-dsk1``);
3. survey-platform decorations: a question prefix (LimeSurvey ``Q3[ps_dsk1]``, read as
   ``Q3_ps_dsk1``) or a choice/loop suffix (Qualtrics ``ps_dsk1_1``), each only when it
   leaves exactly one candidate.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

import pandas as pd

from analysis.errors import InputError

_SEPARATORS = r"[\s_.\-\[\]:/]"


def normalise(name: object) -> str:
    """Lower-case alphanumerics only: ``'PS_DSK1'``, ``'ps.dsk1'`` -> ``'psdsk1'``."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _tokens(name: object) -> list[str]:
    return [t for t in re.split(_SEPARATORS + "+", str(name).lower()) if t]


def _platform_match(column: object, item_id: str) -> bool:
    """Column is ``<prefix><sep><item>`` or ``<item><sep><short suffix>`` (token-wise)."""
    col, item = _tokens(column), _tokens(item_id)
    if not item or len(col) <= len(item):
        return False
    if col[-len(item):] == item:  # Q3[ps_dsk1] / Q3_ps_dsk1 / G1.ps_dsk1
        return True
    if col[:len(item)] == item:   # ps_dsk1_1 / ps_dsk1_TEXT (Qualtrics)
        rest = col[len(item):]
        return len(rest) == 1 and (rest[0].isdigit() or rest[0] in ("text", "1a"))
    return False


def auto_map(columns: Iterable[object], instrument) -> dict[str, str]:
    """Propose ``{item_id: column}`` for the instrument's items found among ``columns``.

    Items with no (or no unambiguous) match are left out; ``mapping_table`` lists them.
    """
    columns = [c for c in columns]
    item_ids = [it.id for it in instrument.items]
    mapping: dict[str, str] = {}
    used: set = set()

    def assign(item_id, column):
        mapping[item_id] = column
        used.add(column)

    for item_id in item_ids:  # 1. exact
        if item_id in columns:
            assign(item_id, item_id)
    by_norm: dict[str, list] = {}
    for c in columns:
        by_norm.setdefault(normalise(c), []).append(c)
    for item_id in item_ids:  # 2. case/punctuation-insensitive
        if item_id in mapping:
            continue
        candidates = [c for c in by_norm.get(normalise(item_id), []) if c not in used]
        if len(candidates) == 1:
            assign(item_id, candidates[0])
    for item_id in item_ids:  # 3. platform prefixes/suffixes, only when unambiguous both ways
        if item_id in mapping:
            continue
        candidates = [c for c in columns if c not in used and _platform_match(c, item_id)]
        if len(candidates) != 1:
            continue
        rivals = [other for other in item_ids if other != item_id and other not in mapping
                  and _platform_match(candidates[0], other)]
        if not rivals:
            assign(item_id, candidates[0])
    # Keep the instrument's order.
    return {i: mapping[i] for i in item_ids if i in mapping}


def mapping_table(columns: Iterable[object], instrument, mapping: Mapping[str, object] | None) -> pd.DataFrame:
    """One row per item for the mapping editor.

    Columns: ``item``, ``construct``, ``text``, ``reverse``, ``column`` (None when
    unmapped) and ``status``: ``mapped``; ``not found`` (no column); ``unknown column``
    (the mapped name is not in the file); ``used twice`` (one column mapped to two items).
    """
    columns = list(columns)
    present = set(columns)
    mapping = dict(mapping or {})
    counts: dict = {}
    for col in mapping.values():
        if col is not None:
            counts[col] = counts.get(col, 0) + 1
    rows = []
    for item in instrument.items:
        col = mapping.get(item.id)
        if col is None or (isinstance(col, str) and col == ""):
            col, status = None, "not found"
        elif col not in present:
            status = "unknown column"
        elif counts.get(col, 0) > 1:
            status = "used twice"
        else:
            status = "mapped"
        rows.append({"item": item.id, "construct": getattr(item, "construct", None), "text": item.text,
                     "reverse": bool(item.reverse), "column": col, "status": status})
    return pd.DataFrame(rows, columns=["item", "construct", "text", "reverse", "column", "status"])


def unmapped_columns(columns: Iterable[object], instrument, mapping: Mapping[str, object]) -> list:
    """Columns that are neither mapped to an item nor an id/group/demographic column."""
    known = set(mapping.values()) | {instrument.id_column} | set(_group_columns(instrument))
    known |= {d.id for d in getattr(instrument, "demographics", [])}
    return [c for c in columns if c not in known]


def _group_columns(instrument) -> list[str]:
    groups = getattr(instrument, "group_columns", None) or {}
    return list(groups.values()) if isinstance(groups, Mapping) else list(groups)


def check_mapping(columns: Iterable[object], mapping: Mapping[str, object], *, file: str | None = None) -> None:
    """Raise InputError if the mapping names a missing column or uses a column twice."""
    present = set(columns)
    seen: dict = {}
    for item_id, col in mapping.items():
        if col is None:
            continue
        if col not in present:
            raise InputError(f"item '{item_id}' is mapped to column '{col}', which is not in the data",
                             file=file, hint="pick one of the file's columns in the mapping editor")
        if col in seen:
            raise InputError(f"column '{col}' is mapped to two items ('{seen[col]}' and '{item_id}')",
                             file=file, column=str(col), hint="map each column to one item only")
        seen[col] = item_id


def apply_mapping(data: pd.DataFrame, mapping: Mapping[str, object]) -> pd.DataFrame:
    """A copy of ``data`` with mapped columns renamed to their item ids.

    All other columns (respondent id, groups, demographics, anything else) are kept. A
    column that already carries an item's id but is not the one mapped to it is kept as
    ``<name>_unmapped`` so nothing is silently overwritten.
    """
    mapping = {k: v for k, v in mapping.items() if v is not None}
    check_mapping(data.columns, mapping)
    renames = {col: item_id for item_id, col in mapping.items() if col != item_id}
    sources = set(mapping.values())
    clashes = {}
    for item_id in renames.values():
        if item_id in data.columns and item_id not in sources:
            new = f"{item_id}_unmapped"
            while new in data.columns:
                new += "_"
            clashes[item_id] = new
    out = data.rename(columns={**clashes, **renames})
    return out.copy()
