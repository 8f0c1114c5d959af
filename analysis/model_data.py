"""The respondent table a multilevel model of the surveys is fitted on, and derived predictors.

Survey-specific (the instruments' demographics, the readiness index, linking the two
surveys), so it sits above the generic mixed-model engine (``analysis.mixed``): this module
imports the engine, never the reverse.

``model_data`` turns cleaned, scored survey data into modelling variables (categorical
demographics as their labels, construct scores, a few documented derived variables);
``with_derived`` adds the centred predictors a formula names by prefix (``c_x`` grand-mean
centred, ``cwc_x`` centred within cluster, ``gm_x`` group mean, ``c_gm_x`` centred group
mean; Enders & Tofighi 2007), so a formula typed on the Models page, written in a shared
link or given to ``python -m analysis mixed --instrument ...`` builds the same columns.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.mixed import center, group_mean
from analysis.mixed.slopes import first_group
from analysis.readiness_index import INDEX, readiness_dimensions, respondent_index

# Prefixes of derived predictors written into formulas (Enders & Tofighi 2007). The longest
# prefix is tried first, so ``c_gm_x`` is the centred group mean of ``x``, not ``c_`` of ``gm_x``.
DERIVED_PREFIXES = {
    "c_gm_": "group mean of {base} per {group}, minus the grand mean of {base} (level 2)",
    "gm_": "group mean of {base} per {group} (level 2)",
    "cwc_": "{base} minus its group mean per {group} (centred within cluster, level 1)",
    "c_": "{base} minus its grand mean (grand-mean centred)",
}
GROUP_PREFIXES = ("c_gm_", "gm_", "cwc_")
_NAME = re.compile(r"`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*")


def model_data(data: pd.DataFrame, instrument, *, servants: pd.DataFrame | None = None,
               servant_instrument=None, min_n: int = 5) -> pd.DataFrame:
    """The respondent-level table the Models page fits: ids, grouping columns, demographics
    (categorical ones as their labels, so terms read ``genderWoman``), one column per
    construct score, every other non-item column of ``data`` as it is,
    ``age10`` (age in decades), ``female`` (1 = gender "Woman", as in
    ``sample_data/README.md``), ``readiness_index`` (``analysis.readiness_index``: the mean
    of the 0-100 readiness dimension scores, missing if any is missing; the readiness view's
    scale, and the sample README's ``readiness_index`` as ``25 * (x - 1)``) and, for
    citizens, ``any_digital`` / ``any_offline`` (``analysis.topics.participation``).

    With ``servants`` (prepared public-servant data) and ``servant_instrument``, citizens also
    get ``readiness_muni``: their municipality's readiness from the servants' answers, as
    ``analysis.topics.link_readiness_to_municipalities`` aggregates it (small organisations
    and municipalities below ``min_n`` servants left out), a level-2 predictor linking the
    two surveys."""
    from analysis.topics import participation

    groups = [c for c in instrument.group_columns.values() if c in data.columns]
    keep = [c for c in dict.fromkeys([instrument.id_column, *groups]) if c in data.columns]
    frame = data[keep].copy()
    for demo in instrument.demographics:
        if demo.id not in data.columns:
            continue
        column = data[demo.id]
        if demo.type == "categorical" and demo.levels:
            frame[demo.id] = _level_labels(column, {float(k): str(v) for k, v in demo.levels.items()})
        else:
            frame[demo.id] = pd.to_numeric(column, errors="coerce")
    for construct in instrument.constructs:
        if construct.key in data.columns:
            frame[construct.key] = data[construct.key]
    # every other column of the file that is not an item (a researcher's own covariates such as
    # hours worked): numbers as numbers, anything else as a categorical predictor
    items = set(instrument.item_ids)
    for col in data.columns:
        if col not in frame.columns and col not in items:
            frame[col] = data[col]
    if "age" in frame.columns:
        frame["age10"] = frame["age"] / 10
    if "gender" in frame.columns and (frame["gender"] == "Woman").any():
        frame["female"] = (frame["gender"] == "Woman").astype(float).where(frame["gender"].notna())
    dims = readiness_dimensions(data, instrument)
    if dims:
        frame[INDEX] = respondent_index(data, dims=dims)
    if servants is not None and servant_instrument is not None:
        from analysis.topics import link_readiness_to_municipalities

        linked = link_readiness_to_municipalities(servants, data, servant_instrument, min_n=min_n)
        frame["readiness_muni"] = linked.data["readiness_muni"]
    try:
        part = participation(data, instrument)
        frame["any_digital"], frame["any_offline"] = part["any_digital"], part["any_offline"]
    except InputError:  # an instrument without yes/no co-production items
        pass
    return frame


def _level_labels(column: pd.Series, labels: dict) -> list:
    """Each answer's level label (``labels``: code as float -> label), the answer as text when
    it has none, missing when missing: a list, so pandas infers the column's type as from the
    labels themselves. Each distinct answer is looked up once (a national survey has 600,000
    answers and a handful of codes); columns whose equal values could print differently (text
    mixed with numbers, a negative zero) are mapped answer by answer."""
    numbers = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    one_text = pd.api.types.is_string_dtype(column) and not pd.api.types.is_object_dtype(column)
    if numbers and pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        numbers = not bool(np.any((values == 0) & np.signbit(values)))
    if not (numbers or one_text):
        numeric = pd.to_numeric(column, errors="coerce")
        return [np.nan if pd.isna(raw) else labels.get(code, str(raw)) for raw, code in zip(column, numeric)]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    raw = pd.Series(uniques, dtype=column.dtype)
    numeric = pd.to_numeric(raw, errors="coerce")
    mapped = [labels.get(code, str(value)) for value, code in zip(raw, numeric)]
    return np.array([*mapped, np.nan], dtype=object)[codes].tolist()


def derived_names(formula: str) -> list[str]:
    """Names in ``formula`` that carry one of the centring prefixes."""
    return [n for n in dict.fromkeys(_NAME.findall(formula or ""))
            if any(n.startswith(p) for p in DERIVED_PREFIXES)]


def split_derived(name: str, columns) -> tuple[str, str] | None:
    """``(prefix, base column)`` of a derived name whose base is in ``columns``, else None."""
    for prefix in DERIVED_PREFIXES:
        if name.startswith(prefix) and name[len(prefix):] in columns:
            return prefix, name[len(prefix):]
    return None


def with_derived(frame: pd.DataFrame, formula: str) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` plus the centred / group-mean columns the formula names (``c_x``, ``cwc_x``,
    ``gm_x``, ``c_gm_x``), made with ``analysis.mixed.center`` / ``group_mean``; group-based
    ones use the formula's first grouping column. Returns the frame and one note per column."""
    out, notes = frame, []
    for name in derived_names(formula):
        if name in frame.columns:
            continue
        parts = split_derived(name, frame.columns)
        if parts is None:
            continue
        prefix, base = parts
        group = first_group(formula) if prefix in GROUP_PREFIXES else None
        if out is frame:
            out = frame.copy()
        if prefix == "c_":
            out[name] = center(frame, base).to_numpy()
        elif group is None:
            raise InputError(f"'{name}' needs a grouping column: add a term such as (1 | group) to the formula")
        elif prefix == "cwc_":
            out[name] = center(frame, base, group=group).to_numpy()
        elif prefix == "gm_":
            out[name] = group_mean(frame, base, group).to_numpy()
        else:  # c_gm_: the group mean centred at the respondent-level grand mean of the base
            out[name] = (group_mean(frame, base, group) - pd.to_numeric(frame[base], errors="coerce").mean()).to_numpy()
        notes.append(f"`{name}` = " + DERIVED_PREFIXES[prefix].format(base=base, group=group))
    return out, notes
