"""Plotly figures for the Models page.

Figures are pure functions of a fitted ``analysis.mixed`` result, using only its public
attributes (``fixed_table()``, ``ranef()``, ``predict()``, ``fitted``, ``residuals``,
``vcov``, ``data``, ``formula``); the only arithmetic is what a plot needs (normal quantiles
for QQ plots). The model table (``model_data``, ``with_derived``) and the interaction helpers
(``interactions``, ``simple_slopes_table``) live in ``analysis.mixed`` and are re-exported
here for the page's convenience.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from analysis.errors import InputError
from ui.charts import density_scatter
from analysis.mixed.formula import is_categorical, parse_formula
from analysis.model_data import derived_names, model_data, split_derived, with_derived  # noqa: F401
from analysis.mixed.slopes import (Interaction, constant_columns, constant_within, first_group,  # noqa: F401
                                   interactions, numeric_predictors, simple_slopes_table)

ACCENT, MUTED, ZERO = "#2471a3", "#9aa5b1", "#7f7f7f"
MAX_SVG_GROUPS = 300  # caterpillar plots of more groups are drawn with WebGL
MAX_GROUP_LINES = 40  # more lines than this are unreadable; the largest groups are drawn
GRID_POINTS = 25


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


def caterpillar(result, *, term: str = "(Intercept)", group: str | None = None,
                effects: pd.DataFrame | None = None) -> go.Figure:
    """Group effects (conditional modes) sorted, with +/- 1.96 conditional SD intervals,
    as ``lattice::dotplot(ranef(m, condVar = TRUE))`` in R. ``effects``: the rows to draw
    (default every group; pages pass ``analysis.privacy.published_group_effects``)."""
    effects = result.ranef() if effects is None else effects
    group = group or effects["group"].iloc[0]
    part = effects[(effects["group"] == group) & (effects["term"] == term)].sort_values("estimate")
    if part.empty:
        raise InputError(f"no random effect '{term}' for '{group}' in this model")
    labels = part["level"].astype(str)
    # WebGL above a few hundred groups: 2,000 organisations with their bars drawn as SVG take the
    # browser seconds to lay out
    trace = go.Scattergl if len(part) > MAX_SVG_GROUPS else go.Scatter
    fig = go.Figure(trace(
        x=part["estimate"], y=labels, mode="markers", marker=dict(color=ACCENT, size=6),
        error_x=dict(type="data", array=1.96 * part["cond_sd"], color=MUTED),
        hovertemplate=f"{group} %{{y}}: %{{x:.3f}}<extra></extra>"))
    fig.add_vline(x=0.0, line_dash="dash", line_color=ZERO)
    fig.update_layout(title=f"{group}: {term} deviations from the average (95% intervals)",
                      xaxis_title="conditional mode (BLUP)" + (" on the log-odds scale" if result.family == "binomial" else ""),
                      yaxis=dict(type="category", title=group, showticklabels=len(part) <= 80),
                      height=max(320, min(1400, 14 * len(part) + 100)), margin=dict(l=10, r=10, t=50, b=40))
    return fig


def predicted_lines(result, x: str, min_n: int = 1) -> go.Figure:
    """Predicted outcome against ``x`` for each group of at least ``min_n`` observations (fixed
    part plus the group's random effects, other predictors at their mean / reference level)
    and the fixed-effects line, as ``predict(m, newdata, re.form = NULL)`` and ``re.form = NA``."""
    group = first_group(result.formula)
    base = _typical_row(result)
    used = result.data[parse_formula(result.formula).variables].dropna()
    grid = np.linspace(float(used[x].min()), float(used[x].max()), GRID_POINTS)
    fig = go.Figure()
    if group is not None:
        sizes = used[group].value_counts()
        levels = list(sizes.index[sizes.to_numpy() >= min_n][:MAX_GROUP_LINES])
        # level-2 predictors take the group's own value, so each line sits where its group is
        level2 = constant_columns(used, [v for v in base if v != x and v != group and not is_categorical(used[v])],
                                  group)
        own = used[[group, *level2]].groupby(group, sort=False).first()
        lines = []
        for level in levels:
            newdata = pd.DataFrame([base] * len(grid))
            newdata[x] = grid
            newdata[group] = level
            for v in level2:
                newdata[v] = float(own.at[level, v])
            lines.append(newdata)
        # one prediction for all lines (a model frame per line cost a tenth of a second each)
        predicted = np.asarray(result.predict(pd.concat(lines, ignore_index=True), include_random=True)) \
            if lines else np.empty(0)
        for i, level in enumerate(levels):
            yhat = predicted[i * len(grid):(i + 1) * len(grid)]
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
    # above a few thousand points the browser gets a binned density, not every respondent
    fig = density_scatter(result.fitted, result.residuals)
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


QQ_POINTS = 2000


def qq(values, title: str) -> go.Figure:
    """Normal QQ plot with the line through the quartiles (R: ``qqnorm`` + ``qqline``)."""
    v, q = normal_quantiles(values)
    if len(v) > QQ_POINTS:  # a national survey: the curve at QQ_POINTS evenly spaced ranks
        keep = np.unique(np.linspace(0, len(v) - 1, QQ_POINTS).round().astype(int))
        v, q = v[keep], q[keep]
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


