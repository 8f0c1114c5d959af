"""Charts at national-survey scale send summaries, not respondents (issue 15)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui import charts


def test_box_summary_matches_plotly_box_and_stays_small():
    rng = np.random.default_rng(1)
    values = np.round(rng.normal(3, 0.8, 600_000) * 3) / 3
    trace = charts.box_summary(values, "skills")
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    assert (trace.q1[0], trace.median[0], trace.q3[0]) == (q1, med, q3)
    iqr = q3 - q1
    assert trace.lowerfence[0] == values[values >= q1 - 1.5 * iqr].min()
    assert trace.upperfence[0] == values[values <= q3 + 1.5 * iqr].max()
    assert abs(trace.mean[0] - values.mean()) < 1e-12
    size = len(go.Figure(trace).to_json())
    raw = len(go.Figure(go.Box(x=values[:60_000])).to_json())
    assert size < 10_000 < 500_000 < raw  # the layout template is most of the 7 KB


def test_density_scatter_bins_large_data():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=600_000), rng.normal(size=600_000)
    fig = charts.density_scatter(x, y, bins=60)
    assert isinstance(fig.data[0], go.Heatmap)
    assert np.nansum(fig.data[0].customdata) == 600_000
    assert len(fig.to_json()) < 200_000
    small = charts.density_scatter(x[:100], y[:100])
    assert isinstance(small.data[0], go.Scattergl) and len(small.data[0].x) == 100
