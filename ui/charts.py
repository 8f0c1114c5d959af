"""Plotly figures for the measurement screens: pure functions from result tables to figures.

They only reshape what ``analysis`` returned (and, for the Likert bars, count answers per
response code); no statistic is estimated here.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

NEGATIVE, POSITIVE, NEUTRAL = "#c0392b", "#2471a3", "#bfbfbf"


def likert_shares(data: pd.DataFrame, items: Sequence[str], codes: Sequence[int]) -> pd.DataFrame:
    """Share of each response code per item among the item's valid answers (tidy: item, code, n, share)."""
    rows = []
    for item in items:
        answers = pd.to_numeric(data[item], errors="coerce").dropna()
        total = len(answers)
        for code in codes:
            n = int((answers == code).sum())
            rows.append({"item": item, "code": code, "n": n, "share": n / total if total else np.nan})
    return pd.DataFrame(rows, columns=["item", "code", "n", "share"])


def _ramp(n: int, colour: str) -> list[str]:
    """``n`` shades of ``colour`` from light to full."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    out = []
    for k in range(n):
        t = 0.45 + 0.55 * (k + 1) / n
        out.append(f"rgb({int(255 - (255 - r) * t)},{int(255 - (255 - g) * t)},{int(255 - (255 - b) * t)})")
    return out


def likert_diverging(shares: pd.DataFrame, codes: Sequence[int], labels: Mapping[int, str],
                     item_names: Mapping[str, str] | None = None, title: str = "") -> go.Figure:
    """Diverging stacked bars: disagreeing answers to the left of 0, agreeing to the right, the
    middle code (odd scales) split across 0 (Robbins & Heiberger 2011)."""
    codes = list(codes)
    k = len(codes)
    low, high = codes[: k // 2], codes[(k + 1) // 2:]
    middle = codes[k // 2] if k % 2 else None
    colours = dict(zip(reversed(low), _ramp(len(low), NEGATIVE)))  # code 1 darkest
    colours.update(dict(zip(high, _ramp(len(high), POSITIVE))))
    if middle is not None:
        colours[middle] = NEUTRAL
    names = item_names or {}
    items = list(dict.fromkeys(shares["item"]))
    y = [names.get(i, i) for i in items]
    wide = shares.pivot(index="item", columns="code", values="share").reindex(items).fillna(0.0)
    fig = go.Figure()
    # Left side: from the middle outwards, so the strongest disagreement sits at the far left.
    left = ([middle] if middle is not None else []) + list(reversed(low))
    for code in left:
        x = -wide[code].to_numpy() * (0.5 if code == middle else 1.0) * 100
        fig.add_bar(y=y, x=x, orientation="h", name=labels.get(code, str(code)), marker_color=colours[code],
                    legendgroup=str(code), showlegend=code != middle, customdata=wide[code].to_numpy() * 100,
                    hovertemplate="%{y}<br>" + labels.get(code, str(code)) + ": %{customdata:.1f}%<extra></extra>")
    for code in ([middle] if middle is not None else []) + list(high):
        x = wide[code].to_numpy() * (0.5 if code == middle else 1.0) * 100
        fig.add_bar(y=y, x=x, orientation="h", name=labels.get(code, str(code)), marker_color=colours[code],
                    legendgroup=str(code), customdata=wide[code].to_numpy() * 100,
                    hovertemplate="%{y}<br>" + labels.get(code, str(code)) + ": %{customdata:.1f}%<extra></extra>")
    # Legend in scale order; the trace order above sets the stacking, so rank the legend separately.
    rank = {labels.get(c, str(c)): i for i, c in enumerate(codes)}
    for trace in fig.data:
        trace.legendrank = 1000 + rank.get(trace.name, 0)
    fig.update_layout(barmode="relative", title=f"{title}: % of answers, disagreeing left of 0, agreeing right", height=120 + 38 * len(items),
                      xaxis=dict(title=None, ticksuffix="%",
                                 range=[-100, 100], zeroline=True, zerolinecolor="#444"),
                      yaxis=dict(autorange="reversed"), legend=dict(orientation="h", yanchor="top", y=-0.08 - 0.4 / (2 + len(items))),
                      margin=dict(t=40, b=70))
    return fig


def item_rest_bars(items: pd.DataFrame, reverse: Sequence[str] = (), threshold: float = 0.30) -> go.Figure:
    """Bars of the item-rest correlations (psych's r.drop), negative ones in red, with a line at ``threshold``."""
    labels = [f"{i} (R)" if i in set(reverse) else str(i) for i in items["item"]]
    values = items["r_drop"].to_numpy(dtype=float)
    colours = [NEGATIVE if v < 0 else ("#e59866" if v < threshold else POSITIVE) for v in values]
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colours,
                           hovertemplate="%{y}: r.drop = %{x:.3f}<extra></extra>"))
    fig.add_vline(x=threshold, line_dash="dash", line_color="#555",
                  annotation_text=f"{threshold:.2f}".replace("0.", "."), annotation_position="top")
    fig.update_layout(title="Item-rest correlation (corrected item-total)", height=120 + 32 * len(labels),
                      xaxis=dict(title="r with the sum of the other items", range=[min(-0.2, values.min() - 0.05), 1]),
                      yaxis=dict(autorange="reversed"), margin=dict(t=40, b=10))
    return fig


def correlation_heatmap(corr: pd.DataFrame, title: str = "Inter-item correlations") -> go.Figure:
    """Heatmap of a correlation matrix on a fixed -1..1 diverging scale, values printed in the cells."""
    values = corr.to_numpy(dtype=float)
    labels = [str(c) for c in corr.columns]
    fig = go.Figure(go.Heatmap(z=values, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                               text=np.round(values, 2), texttemplate="%{text:.2f}",
                               hovertemplate="%{y} - %{x}: r = %{z:.3f}<extra></extra>"))
    side = max(300, 60 + 45 * len(labels))
    fig.update_layout(title=title, height=side, yaxis=dict(autorange="reversed"), margin=dict(t=40, b=10))
    return fig


def loadings_heatmap(loadings: pd.DataFrame, title: str = "Factor loadings (pattern matrix)") -> go.Figure:
    return correlation_heatmap(loadings, title).update_traces(
        x=[str(c) for c in loadings.columns], y=[str(i) for i in loadings.index],
        hovertemplate="%{y} on %{x}: %{z:.3f}<extra></extra>").update_layout(
        height=max(260, 80 + 32 * len(loadings)))


def scree(eigen: pd.DataFrame, n_factors: int, quantile: float) -> go.Figure:
    """Scree plot of observed factor eigenvalues with the simulated (parallel-analysis) line."""
    q = f"{quantile * 100:g}th percentile"
    fig = go.Figure()
    fig.add_scatter(x=eigen["component"], y=eigen["observed_fa"], mode="lines+markers", name="observed (factors)",
                    line_color=POSITIVE)
    fig.add_scatter(x=eigen["component"], y=eigen["simulated_fa_q"], mode="lines", name=f"simulated, {q}",
                    line=dict(color=NEGATIVE, dash="dash"))
    fig.add_scatter(x=eigen["component"], y=eigen["observed_pc"], mode="lines+markers", name="observed (components)",
                    line=dict(color="#7f8c8d", width=1), marker=dict(size=5), visible="legendonly")
    fig.add_scatter(x=eigen["component"], y=eigen["simulated_pc_q"], mode="lines", name=f"simulated components, {q}",
                    line=dict(color="#7f8c8d", dash="dot", width=1), visible="legendonly")
    fig.update_layout(title=f"Parallel analysis: {n_factors} factor(s) above the simulated line",
                      xaxis=dict(title="factor number", dtick=1), yaxis_title="eigenvalue", height=360,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=40, b=10))
    return fig


def rwg_histogram(values: pd.Series, statistic: str = "rwg(j)", cutoff: float = 0.70) -> go.Figure:
    """Histogram of group agreement values on 0..1 with the conventional cut-off line."""
    fig = go.Figure(go.Histogram(x=values.dropna(), xbins=dict(start=0, end=1.0001, size=0.05),
                                 marker_color=POSITIVE, hovertemplate="%{x}: %{y} group(s)<extra></extra>"))
    fig.add_vline(x=cutoff, line_dash="dash", line_color=NEGATIVE,
                  annotation_text=f"{cutoff:.2f}".replace("0.", "."), annotation_position="top")
    fig.update_layout(title=f"{statistic} per group", xaxis=dict(title=statistic, range=[0, 1.02]),
                      yaxis_title="number of groups", height=320, margin=dict(t=40, b=10), bargap=0.05)
    return fig


# --------------------------------------------------------------------------- summaries at scale
# A national survey has 600,000 respondents: a box plot or scatter plot of the raw values sends
# every one of them to the browser (6.6 MB of JSON per box). These helpers draw the same
# figure from a summary computed here, whatever the number of respondents.

def box_summary(values, name: str, **trace) -> go.Box:
    """A horizontal box trace drawn from the five-number summary and the mean, not the data:
    quartiles by linear interpolation (plotly's default ``quartilemethod="linear"``, R
    ``quantile(type = 7)``), whiskers to the most extreme values within 1.5 IQR of the box
    (Tukey; plotly's default fences), dashed line at the mean (``boxmean=True``)."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").dropna(), dtype=float)
    if len(v) == 0:
        return go.Box(x=[], name=name, orientation="h", **trace)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    iqr = q3 - q1
    low = float(v[v >= q1 - 1.5 * iqr].min())
    high = float(v[v <= q3 + 1.5 * iqr].max())
    return go.Box(q1=[q1], median=[med], q3=[q3], lowerfence=[low], upperfence=[high], mean=[float(v.mean())],
                  y=[name], name=name, orientation="h", boxpoints=False, **trace)


def density_scatter(x, y, *, bins: int = 80, max_points: int = 5000, **layout) -> go.Figure:
    """x against y: the points themselves up to ``max_points`` pairs, above that a 2-D
    histogram (``bins`` x ``bins`` counts, log-shaded) so the browser gets bins, not rows."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) <= max_points:
        fig = go.Figure(go.Scattergl(x=x, y=y, mode="markers", marker=dict(color=POSITIVE, size=4, opacity=0.45)))
    else:
        counts, xe, ye = np.histogram2d(x, y, bins=bins)
        z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).T
        fig = go.Figure(go.Heatmap(x=(xe[:-1] + xe[1:]) / 2, y=(ye[:-1] + ye[1:]) / 2, z=z, customdata=counts.T,
                                   colorscale="Blues", showscale=False,
                                   hovertemplate="x %{x:.3f}<br>y %{y:.3f}<br>%{customdata:.0f} respondents"
                                                 "<extra></extra>"))
    fig.update_layout(**layout)
    return fig
