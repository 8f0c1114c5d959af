"""Interactions in a fitted model and the simple slopes that explain them.

``interactions`` finds the two-way products of numeric predictors in the fixed part and
whether they are cross-level (one variable constant within the groups of the first
grouping factor); ``simple_slopes_table`` gives the focal predictor's slope at the
moderator's mean - 1 SD, mean and mean + 1 SD from the fixed effects and their covariance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.mixed.formula import is_categorical, parse_formula


@dataclass(frozen=True)
class Interaction:
    """A two-way product term ``level1:level2`` (or two level-1 variables) in the fixed part."""
    term: str          # the coefficient name as lme4 prints it, e.g. "c_gm_x:c_z"
    focal: str         # the predictor whose slope is plotted (level 1 when cross-level)
    moderator: str     # the variable the slope depends on (level 2 when cross-level)
    cross_level: bool


def first_group(formula: str) -> str | None:
    """The grouping column of the formula's first random term with a single grouping column."""
    for spec in parse_formula(formula).random:
        if len(spec.group) == 1:
            return spec.group[0]
    return None


def numeric_predictors(result) -> list[str]:
    """Numeric (not categorical) predictors of the fixed part, in formula order."""
    parsed = parse_formula(result.formula)
    fixed_vars = {v for term in parsed.fixed.terms for v in term}
    return [v for v in parsed.variables if v in fixed_vars and v != parsed.outcome
            and not is_categorical(result.data[v])]


def constant_within(data: pd.DataFrame, column: str, group: str) -> bool:
    """Whether ``column`` takes one value within every group (a level-2 variable)."""
    return column in constant_columns(data, [column], group)


def constant_columns(data: pd.DataFrame, columns: Sequence[str], group: str) -> list[str]:
    """The ``columns`` that take one value within every group of ``group`` (level-2 variables),
    in their order; rows missing the group or the column do not count, and a column with no
    value at all is not constant.

    The group is factorised once and each column's smallest and largest value per group compared
    (numbers as they are, text by its codes), instead of a ``dropna`` copy and a ``nunique`` per
    column: at 600,000 respondents the Models page asks this of every column. A column is first
    tried on the rows of a few groups (``PROBE_GROUPS``): one group with two values already
    disproves it, which settles most columns (the items) on a few thousand rows; only columns
    constant there are checked on every row, so the answer is exact.
    """
    columns = [c for c in columns if c != group]
    found, _ = pd.factorize(data[group])
    groups = np.where(found >= 0, found, np.nan)  # a missing group is left out of the grouping
    probe = np.flatnonzero((found >= 0) & (found < PROBE_GROUPS))
    constant = []
    for column in columns:
        values = data[column]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            codes, _ = pd.factorize(values)  # text and categories: compared by their codes
            values = pd.Series(np.where(codes >= 0, codes, np.nan), index=values.index)
        if len(probe) < len(values) and not _constant(values.iloc[probe], groups[probe], any_value=False):
            continue
        if _constant(values, groups, any_value=True):
            constant.append(column)
    return constant


PROBE_GROUPS = 20


def _constant(values: pd.Series, groups: np.ndarray, *, any_value: bool) -> bool:
    """One value (or none) per group; with ``any_value``, also at least one value in all."""
    grouped = values.groupby(groups, sort=False)
    low, high = grouped.min(), grouped.max()
    return (not any_value or bool(low.notna().any())) and bool(((low == high) | low.isna()).all())


def interactions(result) -> list[Interaction]:
    """Two-way interactions of numeric predictors; cross-level when one varies only between
    groups of the first grouping column and the other within them."""
    numeric = set(numeric_predictors(result))
    group = first_group(result.formula)
    found = []
    for term in parse_formula(result.formula).fixed.terms:
        if len(term) != 2 or not set(term) <= numeric:
            continue
        a, b = term
        level2 = {v: group is not None and constant_within(result.data, v, group) for v in term}
        cross = level2[a] != level2[b]
        focal, moderator = (b, a) if level2[a] and not level2[b] else (a, b)
        name = next((row["term"] for row in result.fixed
                     if set(row["term"].split(":")) == {a, b}), f"{a}:{b}")
        found.append(Interaction(name, focal, moderator, cross))
    return sorted(found, key=lambda i: not i.cross_level)


def simple_slopes_table(result, interaction: Interaction) -> pd.DataFrame:
    """Slope of the focal predictor at the moderator's mean - 1 SD, mean and mean + 1 SD.

    slope(m) = b_focal + b_int * m, Var = V_ff + 2 m V_fi + m^2 V_ii (Aiken & West 1991,
    *Multiple regression: testing and interpreting interactions*; Preacher, Curran & Bauer
    2006), with a normal 95% interval. R: ``interactions::sim_slopes`` /
    ``emmeans::emtrends(m, ~ moderator, var = "focal", at = ...)``.
    """
    used = result.data[parse_formula(result.formula).variables].dropna()
    mean, sd = float(used[interaction.moderator].mean()), float(used[interaction.moderator].std())
    beta, V = result.fixed_effects, result.vcov
    f, i = interaction.focal, interaction.term
    rows = []
    for label, m in (("mean - 1 SD", mean - sd), ("mean", mean), ("mean + 1 SD", mean + sd)):
        slope = beta[f] + beta[i] * m
        se = float(np.sqrt(V.loc[f, f] + 2 * m * V.loc[f, i] + m * m * V.loc[i, i]))
        rows.append({"moderator": interaction.moderator, "at": label, "moderator_value": m,
                     "slope": float(slope), "se": se, "ci_low": float(slope - 1.959964 * se),
                     "ci_high": float(slope + 1.959964 * se)})
    return pd.DataFrame(rows)
