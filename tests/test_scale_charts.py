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


def test_many_organisations_heatmap_drops_cell_labels_and_keeps_its_height():
    """The resources screen's readiness heatmap: up to 80 organisations a labelled row each; more
    (here the sample split into about 170 organisations) without cell numbers or row names, in a
    fixed height, every organisation still in the figure with its values on hover."""
    import json

    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from ui.state import Source, sample_source

    servants = pd.read_csv(ROOT / "sample_data" / "public_servants.csv")
    servants["org_id"] = servants["org_id"] * 10 + np.arange(len(servants)) % 3
    source = Source("public_servant", "many_orgs.csv", servants.to_csv(index=False).encode())
    at = AppTest.from_file(str(ROOT / "pages" / "topic_resources.py"), default_timeout=300)
    at.session_state["study_sources"] = {"public_servant": source, "citizen": sample_source("citizen")}
    at.run()
    assert not at.exception
    figures = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    heatmap = next(f for f in figures if f["data"][0]["type"] == "heatmap" and f["data"][0].get("zmax") == 100)
    trace = heatmap["data"][0]
    assert len(trace["y"]) > 80 and len(trace["hovertext"]) == len(trace["y"])
    assert "texttemplate" not in trace and "text" not in trace
    assert heatmap["layout"]["height"] == 900 and heatmap["layout"]["yaxis"]["showticklabels"] is False
    assert any("hover over a row" in c.value for c in at.caption)
