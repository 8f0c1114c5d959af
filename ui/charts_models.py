"""Plotly figures for the Models page, and the respondent table it fits.

Figures are pure functions of a fitted ``analysis.mixed`` result, using only its public
attributes (``fixed_table()``, ``ranef()``, ``predict()``, ``fitted``, ``residuals``,
``vcov``, ``data``, ``formula``); the only arithmetic is what a plot needs: normal quantiles
for QQ plots and the simple slopes of a two-way interaction read off the fixed effects and
their covariance (Aiken & West 1991).

``model_data`` / ``with_derived`` prepare the table the page and the headless command fit:
labelled categorical demographics, a few documented derived variables, and the centred
predictors a formula names (``c_x``, ``cwc_x``, ``gm_x``, ``c_gm_x``) made with
``analysis.mixed.center`` / ``group_mean``. They live here, beside the plots, so the page and
its tests build exactly the same table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from analysis.errors import InputError
from analysis.mixed.formula import is_categorical, parse_formula

ACCENT, MUTED, ZERO = "#2471a3", "#9aa5b1", "#7f7f7f"
MAX_GROUP_LINES = 40  # more lines than this are unreadable; the largest groups are drawn
GRID_POINTS = 25


# --------------------------------------------------------------------------- model structure
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
    used = data[[column, group]].dropna()
    return bool(len(used)) and bool((used.groupby(group)[column].nunique() <= 1).all())


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


def _typical_row(result) -> dict:
    """Every predictor at its mean (numeric) or reference level (categorical), on the rows used."""
    parsed = parse_formula(result.formula)
    used = result.data[parsed.variables].dropna()
    refs = result.reference_levels or {}
    row = {}
    for v in parsed.variables:
        if v == parsed.outcome:
            continue
        if is_categorical(used[v]):
            levels = sorted(used[v].unique(), key=str)
            row[v] = next((lv for lv in levels if str(lv) == str(refs.get(v))), levels[0])
        else:
            row[v] = float(used[v].mean())
    return row


def _outcome_label(result) -> str:
    outcome = parse_formula(result.formula).outcome
    return f"P({outcome} = 1)" if result.family == "binomial" else outcome


# --------------------------------------------------------------------------- figures
def forest(result, *, include_intercept: bool = False) -> go.Figure:
    """Coefficient plot: estimates with 95% CIs (odds ratios on a log axis for logistic models)."""
    table = result.fixed_table()
    if not include_intercept:
        table = table[table["term"] != "(Intercept)"]
    odds = result.family == "binomial"
    est, lo, hi = (("odds_ratio", "or_ci_low", "or_ci_high") if odds else ("estimate", "ci_low", "ci_high"))
    table = table.iloc[::-1]
    fig = go.Figure(go.Scatter(
        x=table[est], y=table["term"], mode="markers", marker=dict(color=ACCENT, size=9),
        error_x=dict(type="data", symmetric=False, array=table[hi] - table[est],
                     arrayminus=table[est] - table[lo], color=ACCENT),
        hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.add_vline(x=1.0 if odds else 0.0, line_dash="dash", line_color=ZERO)
    fig.update_layout(title="Fixed effects with 95% confidence intervals",
                      xaxis_title="odds ratio (log scale)" if odds else "estimate",
                      height=max(260, 60 + 40 * len(table)), margin=dict(l=10, r=10, t=50, b=40))
    if odds:
        fig.update_xaxes(type="log")
    return fig


def caterpillar(result, *, term: str = "(Intercept)", group: str | None = None) -> go.Figure:
    """Group effects (conditional modes) sorted, with +/- 1.96 conditional SD intervals,
    as ``lattice::dotplot(ranef(m, condVar = TRUE))`` in R."""
    effects = result.ranef()
    group = group or effects["group"].iloc[0]
    part = effects[(effects["group"] == group) & (effects["term"] == term)].sort_values("estimate")
    if part.empty:
        raise InputError(f"no random effect '{term}' for '{group}' in this model")
    labels = part["level"].astype(str)
    fig = go.Figure(go.Scatter(
        x=part["estimate"], y=labels, mode="markers", marker=dict(color=ACCENT, size=6),
        error_x=dict(type="data", array=1.96 * part["cond_sd"], color=MUTED),
        hovertemplate=f"{group} %{{y}}: %{{x:.3f}}<extra></extra>"))
    fig.add_vline(x=0.0, line_dash="dash", line_color=ZERO)
    fig.update_layout(title=f"{group}: {term} deviations from the average (95% intervals)",
                      xaxis_title="conditional mode (BLUP)" + (" on the log-odds scale" if result.family == "binomial" else ""),
                      yaxis=dict(type="category", title=group, showticklabels=len(part) <= 80),
                      height=max(320, min(1400, 14 * len(part) + 100)), margin=dict(l=10, r=10, t=50, b=40))
    return fig


def predicted_lines(result, x: str) -> go.Figure:
    """Predicted outcome against ``x`` for each group (fixed part plus the group's random
    effects, other predictors at their mean / reference level) and the fixed-effects line,
    as ``predict(m, newdata, re.form = NULL)`` and ``re.form = NA``."""
    group = first_group(result.formula)
    base = _typical_row(result)
    used = result.data[parse_formula(result.formula).variables].dropna()
    grid = np.linspace(float(used[x].min()), float(used[x].max()), GRID_POINTS)
    fig = go.Figure()
    if group is not None:
        sizes = used[group].value_counts()
        levels = list(sizes.index[:MAX_GROUP_LINES])
        for level in levels:
            newdata = pd.DataFrame([base] * len(grid))
            newdata[x] = grid
            newdata[group] = level
            # level-2 predictors take the group's own value, so each line sits where its group is
            for v in base:
                if v != x and v != group and not is_categorical(used[v]) and constant_within(used, v, group):
                    newdata[v] = float(used.loc[used[group] == level, v].iloc[0])
            yhat = result.predict(newdata, include_random=True)
            fig.add_scatter(x=grid, y=yhat, mode="lines", line=dict(color=MUTED, width=1),
                            name=str(level), showlegend=False,
                            hovertemplate=f"{group} {level}<br>{x} %{{x:.2f}}: %{{y:.3f}}<extra></extra>")
    newdata = pd.DataFrame([base] * len(grid))
    newdata[x] = grid
    fig.add_scatter(x=grid, y=result.predict(newdata, include_random=False), mode="lines",
                    line=dict(color=ACCENT, width=4), name="average (fixed effects)")
    title = f"Predicted {_outcome_label(result)} by {x}" + (f", one line per {group}" if group else "")
    if group is not None and used[group].nunique() > MAX_GROUP_LINES:
        title += f" (the {MAX_GROUP_LINES} largest)"
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=_outcome_label(result), height=440,
                      margin=dict(l=10, r=10, t=50, b=40))
    return fig


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


def simple_slopes(result, interaction: Interaction) -> go.Figure:
    """Fixed-effects predictions against the focal predictor at the moderator's mean - 1 SD,
    mean and mean + 1 SD (Aiken & West 1991)."""
    table = simple_slopes_table(result, interaction)
    base = _typical_row(result)
    used = result.data[parse_formula(result.formula).variables].dropna()
    grid = np.linspace(float(used[interaction.focal].min()), float(used[interaction.focal].max()), GRID_POINTS)
    colours = ["#c0392b", ZERO, ACCENT]
    fig = go.Figure()
    for colour, row in zip(colours, table.itertuples()):
        newdata = pd.DataFrame([base] * len(grid))
        newdata[interaction.focal] = grid
        newdata[interaction.moderator] = row.moderator_value
        fig.add_scatter(x=grid, y=result.predict(newdata, include_random=False), mode="lines",
                        line=dict(color=colour, width=3),
                        name=f"{interaction.moderator} at {row.at} (slope {row.slope:.2f})")
    fig.update_layout(title=f"Simple slopes of {interaction.focal} at three values of {interaction.moderator}",
                      xaxis_title=interaction.focal, yaxis_title=_outcome_label(result), height=440,
                      legend=dict(orientation="h", y=-0.2), margin=dict(l=10, r=10, t=50, b=40))
    return fig


def residuals_vs_fitted(result) -> go.Figure:
    """Residuals against fitted values (conditional on the group effects)."""
    fig = go.Figure(go.Scattergl(x=result.fitted, y=result.residuals, mode="markers",
                                 marker=dict(color=ACCENT, size=4, opacity=0.45),
                                 hovertemplate="fitted %{x:.3f}<br>residual %{y:.3f}<extra></extra>"))
    fig.add_hline(y=0.0, line_dash="dash", line_color=ZERO)
    binomial = result.family == "binomial"
    fig.update_layout(title="Residuals against fitted values" + (" (response scale)" if binomial else ""),
                      xaxis_title="fitted probability" if binomial else "fitted value",
                      yaxis_title="residual (observed - fitted)", height=400, margin=dict(l=10, r=10, t=50, b=40))
    return fig


def normal_quantiles(values) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the standard normal quantiles at (i - 0.5) / n (R: ``qqnorm``, n > 10)."""
    v = np.sort(np.asarray(pd.Series(values).dropna(), dtype=float))
    n = len(v)
    return v, stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)


def qq(values, title: str) -> go.Figure:
    """Normal QQ plot with the line through the quartiles (R: ``qqnorm`` + ``qqline``)."""
    v, q = normal_quantiles(values)
    fig = go.Figure(go.Scattergl(x=q, y=v, mode="markers", marker=dict(color=ACCENT, size=5, opacity=0.6),
                                 hovertemplate="normal %{x:.2f}<br>observed %{y:.3f}<extra></extra>"))
    if len(v) >= 4:
        y1, y3 = np.quantile(v, [0.25, 0.75])
        x1, x3 = stats.norm.ppf([0.25, 0.75])
        slope = (y3 - y1) / (x3 - x1)
        fig.add_scatter(x=[q[0], q[-1]], y=[y1 + slope * (q[0] - x1), y1 + slope * (q[-1] - x1)],
                        mode="lines", line=dict(color=ZERO, dash="dash"), showlegend=False)
    fig.update_layout(title=title, xaxis_title="standard normal quantile", yaxis_title="observed quantile",
                      showlegend=False, height=380, margin=dict(l=10, r=10, t=50, b=40))
    return fig


# --------------------------------------------------------------------------- model data
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


def model_data(data: pd.DataFrame, instrument) -> pd.DataFrame:
    """The respondent-level table the Models page fits: ids, grouping columns, demographics
    (categorical ones as their labels, so terms read ``genderWoman``), one column per
    construct score, ``age10`` (age in decades), ``female`` (1 = gender "Woman", as in
    ``sample_data/README.md``), ``readiness_index`` (mean of the readiness
    dimension scores, missing if any is missing, as in ``sample_data/README.md``) and, for
    citizens, ``any_digital`` / ``any_offline`` (``analysis.topics.participation``)."""
    from analysis.topics import participation

    groups = [c for c in instrument.group_columns.values() if c in data.columns]
    keep = [c for c in dict.fromkeys([instrument.id_column, *groups]) if c in data.columns]
    frame = data[keep].copy()
    for demo in instrument.demographics:
        if demo.id not in data.columns:
            continue
        column = data[demo.id]
        if demo.type == "categorical" and demo.levels:
            labels = {float(k): str(v) for k, v in demo.levels.items()}
            numeric = pd.to_numeric(column, errors="coerce")
            frame[demo.id] = [np.nan if pd.isna(raw) else labels.get(code, str(raw))
                              for raw, code in zip(column, numeric)]
        else:
            frame[demo.id] = pd.to_numeric(column, errors="coerce")
    for construct in instrument.constructs:
        if construct.key in data.columns:
            frame[construct.key] = data[construct.key]
    if "age" in frame.columns:
        frame["age10"] = frame["age"] / 10
    if "gender" in frame.columns and (frame["gender"] == "Woman").any():
        frame["female"] = (frame["gender"] == "Woman").astype(float).where(frame["gender"].notna())
    dims = [c.key for c in instrument.readiness_dimensions if c.key in data.columns]
    if dims:
        frame["readiness_index"] = data[dims].mean(axis=1, skipna=False)
    try:
        part = participation(data, instrument)
        frame["any_digital"], frame["any_offline"] = part["any_digital"], part["any_offline"]
    except InputError:  # an instrument without yes/no co-production items
        pass
    return frame


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
    from analysis.mixed import center, group_mean

    out, notes = frame, []
    for name in derived_names(formula):
        if name in frame.columns:
            continue
        parts = split_derived(name, frame.columns)
        if parts is None:
            continue
        prefix, base = parts
        group = first_group(formula) if prefix in GROUP_PREFIXES else None
        if prefix in GROUP_PREFIXES and group is None:
            raise InputError(f"'{name}' needs a grouping column: add a term such as (1 | group) to the formula")
        if out is frame:
            out = frame.copy()
        if prefix == "c_":
            out[name] = center(frame, base).to_numpy()
        elif prefix == "cwc_":
            out[name] = center(frame, base, group=group).to_numpy()
        elif prefix == "gm_":
            out[name] = group_mean(frame, base, group).to_numpy()
        else:  # c_gm_: the group mean centred at the respondent-level grand mean of the base
            out[name] = (group_mean(frame, base, group) - pd.to_numeric(frame[base], errors="coerce").mean()).to_numpy()
        notes.append(f"`{name}` = " + DERIVED_PREFIXES[prefix].format(base=base, group=group))
    return out, notes
