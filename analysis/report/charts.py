"""The report's plotly figures: fixed width, title and legend inside the figure, so the same
figure prints, exports (``analysis.report.images``) and embeds the same way."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

WIDTH = 680  # fits an A4 page between 14 mm margins (688 px at 96 dpi)
FONT = "Helvetica, Arial, sans-serif"


def _layout(fig: go.Figure, title: str, height: int, x_title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "automargin": True},
        width=WIDTH, height=height, template="plotly_white", font={"family": FONT, "size": 12},
        margin={"l": 10, "r": 20, "t": 50, "b": 10, "autoexpand": True},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        xaxis={"title": {"text": x_title}, "automargin": True}, yaxis={"automargin": True, "autorange": "reversed"},
    )
    return fig


def reliability_figure(rows: list[tuple[str, float, tuple[float, float]]]) -> go.Figure:
    """Alpha of each scale (dots) with its interval (whiskers) and the .70 convention (line).

    Parameters
    ----------
    rows : list of (label, alpha, (low, high))
    """
    labels = [r[0] for r in rows]
    alpha = np.array([r[1] for r in rows], dtype=float)
    lo = np.array([r[2][0] for r in rows], dtype=float)
    hi = np.array([r[2][1] for r in rows], dtype=float)
    fig = go.Figure(go.Scatter(
        x=alpha, y=labels, mode="markers", name="Cronbach's alpha (95% Feldt interval)",
        marker={"size": 8, "color": "#1f4e79"},
        error_x={"type": "data", "symmetric": False, "array": hi - alpha, "arrayminus": alpha - lo},
        hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    fig.add_vline(x=0.70, line_dash="dash", line_color="#a33", annotation_text=".70",
                  annotation_position="top")
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line={"dash": "dash", "color": "#a33"},
                             name="Usual minimum (.70)"))
    finite = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)], [0.70]])
    low, high = max(-1.0, float(finite.min()) - 0.02), min(1.0, float(finite.max()) + 0.02)
    ticks = [t / 20 for t in range(int(np.floor(low * 20)), int(np.ceil(high * 20)) + 1)]
    if len(ticks) > 9:
        ticks = ticks[::2]
    from analysis.formatting import cell

    fig.update_xaxes(range=[low, high], tickvals=ticks, ticktext=[cell(t, 2, bounded=True) for t in ticks])
    return _layout(fig, "Reliability of the scales", 120 + 24 * len(rows), "Cronbach's alpha")


def readiness_figure(result) -> go.Figure:
    """Readiness index (0-100) of each group shown, with its 95% CI, sorted, and the median."""
    shown = result.groups[~result.groups["suppressed"].astype(bool)].copy()
    shown = shown[pd.notna(shown["index"])].sort_values("index", ascending=False, kind="stable")
    idx = shown["index"].to_numpy(dtype=float)
    labels = [str(g) for g in shown["group"]]
    fig = go.Figure(go.Scatter(
        x=idx, y=labels, mode="markers", name="Readiness index (95% CI)", marker={"size": 7, "color": "#1f4e79"},
        error_x={"type": "data", "symmetric": False,
                 "array": shown["index_ci_high"].to_numpy(dtype=float) - idx,
                 "arrayminus": idx - shown["index_ci_low"].to_numpy(dtype=float)},
        hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
    median = float(result.benchmark.set_index("measure").loc["index", "median"])
    if np.isfinite(median):
        fig.add_vline(x=median, line_dash="dot", line_color="#555")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line={"dash": "dot", "color": "#555"},
                                 name="Median of the groups shown"))
    fig.update_yaxes(type="category")
    return _layout(fig, f"Readiness index by {result.group_column}", 130 + 16 * len(labels),
                   "Readiness index (0-100)")


def organisation_figure(result, group) -> go.Figure:
    """One organisation's dimension scores with CIs (bars) next to the benchmark median and
    quartiles of the organisations shown (diamonds and whiskers)."""
    row = result._row(group)
    bench = result.benchmark.set_index("measure")
    keys = ["index", *result.dimensions]
    labels = ["Readiness index" if k == "index" else result.labels[k] for k in keys]
    score = np.array([row[k] for k in keys], dtype=float)
    lo = np.array([row[f"{k}_ci_low"] for k in keys], dtype=float)
    hi = np.array([row[f"{k}_ci_high"] for k in keys], dtype=float)
    med = np.array([bench.loc[k, "median"] for k in keys], dtype=float)
    q1 = np.array([bench.loc[k, "q1"] for k in keys], dtype=float)
    q3 = np.array([bench.loc[k, "q3"] for k in keys], dtype=float)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=score, y=labels, orientation="h", name="This organisation (95% CI)",
                         marker_color="#1f4e79",
                         error_x={"type": "data", "symmetric": False, "array": hi - score, "arrayminus": score - lo},
                         hovertemplate="%{y}: %{x:.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=med, y=labels, mode="markers", name="Median of all organisations (quartiles)",
                             marker={"symbol": "diamond", "size": 10, "color": "#e69f00"},
                             error_x={"type": "data", "symmetric": False, "array": q3 - med, "arrayminus": med - q1,
                                      "color": "#e69f00"},
                             hovertemplate="%{y}: median %{x:.0f}<extra></extra>"))
    fig.update_xaxes(range=[0, 100])
    return _layout(fig, "Readiness: this organisation and the benchmark", 170 + 34 * len(keys), "Score (0-100)")


def organisation_svg(result, group, width: int = WIDTH) -> str:
    """The same chart as ``organisation_figure`` as plain SVG markup (no script, so a batch of
    organisation reports prints quickly): one row per measure, a bar for the organisation's
    score with its 95% CI, a diamond for the median of all organisations with their quartiles."""
    from html import escape

    row = result._row(group)
    bench = result.benchmark.set_index("measure")
    keys = ["index", *result.dimensions]
    label_w, right, top, step = 250, 20, 46, 30
    plot_w = width - label_w - right
    height = top + step * len(keys) + 56

    def x(v: float) -> float:
        return label_w + plot_w * min(max(float(v), 0.0), 100.0) / 100.0

    def finite(*values) -> bool:
        return all(v is not None and np.isfinite(float(v)) for v in values)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12" role="img">',
             '<text x="0" y="18" font-size="15">Readiness: this organisation and the benchmark</text>']
    for tick in range(0, 101, 20):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{top + step * len(keys)}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{top + step * len(keys) + 14}" text-anchor="middle" '
                     f'fill="#444">{tick}</text>')
    for i, key in enumerate(keys):
        y = top + step * i
        label = "Readiness index" if key == "index" else result.labels[key]
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        score, lo, hi = row[key], row[f"{key}_ci_low"], row[f"{key}_ci_high"]
        if finite(score):
            parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{x(score) - label_w:.1f}" height="16" '
                         'fill="#1f4e79"/>')
        if finite(lo, hi):
            parts.append(f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y + 13}" y2="{y + 13}" stroke="#111" '
                         'stroke-width="1.5"/>')
        med, q1, q3 = bench.loc[key, "median"], bench.loc[key, "q1"], bench.loc[key, "q3"]
        if finite(q1, q3):
            parts.append(f'<line x1="{x(q1):.1f}" x2="{x(q3):.1f}" y1="{y + 24}" y2="{y + 24}" stroke="#e69f00" '
                         'stroke-width="2"/>')
        if finite(med):
            m = x(med)
            parts.append(f'<path d="M{m:.1f} {y + 18} l5 6 l-5 6 l-5 -6 z" fill="#e69f00"/>')
    ly = top + step * len(keys) + 36
    parts.append(f'<rect x="{label_w}" y="{ly - 9}" width="14" height="10" fill="#1f4e79"/>'
                 f'<text x="{label_w + 20}" y="{ly}">This organisation (95% CI)</text>'
                 f'<path d="M{label_w + 215} {ly - 10} l5 6 l-5 6 l-5 -6 z" fill="#e69f00"/>'
                 f'<text x="{label_w + 226}" y="{ly}">Median of all organisations (quartiles)</text>')
    parts.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="#444">'
                 'Score (0-100)</text></svg>')
    return "".join(parts)
