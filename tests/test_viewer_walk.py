"""A viewer walks every screen (issue 11): nothing computed from fewer respondents than the threshold.

The study is the sample with organisations named by text, one of them (``Tinyville``) cut to two
respondents; the sample itself already holds organisations of 2, 3 and 4. A viewer link to it is
opened in ``streamlit.testing.v1.AppTest`` through ``app.py`` (so the role comes from the link,
as in the browser) and every page of the menu is run. On each, every table, metric and chart is
searched: no organisation under the threshold may appear in a table, a chart's data or a metric,
and every count column of a table must be at least the threshold. The Data page must refuse.
"""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from store import Store

ROOT = Path(__file__).resolve().parents[1]
MIN_N = 5
STUDY_YAML = ("title: Walk\nmin_n: 5\nsurveys:\n  - name: public_servant\n    file: walk.csv\n"
              "    instrument: public_servant\n")
COUNT_COLUMNS = re.compile(r"^(n|N|respondents|n \(answered\)|n_respondents|n answered|count)$")


@pytest.fixture(scope="module")
def walk_study(tmp_path_factory):
    data = pd.read_csv(ROOT / "sample_data" / "public_servants.csv")
    data["org_id"] = "org-" + data["org_id"].astype(str)
    largest = data["org_id"].value_counts().index[0]
    data.loc[data["org_id"] == largest, "org_id"] = "Tinyville"
    data = data[(data["org_id"] != "Tinyville") | (data.groupby("org_id").cumcount() < 2)]
    small = sorted(str(o) for o, n in data["org_id"].value_counts().items() if n < MIN_N)
    assert "Tinyville" in small and len(small) >= 4
    folder = tmp_path_factory.mktemp("walk")
    url = f"sqlite:///{folder / 'walk.sqlite3'}"
    store = Store(url)
    store.save_study("Walk", STUDY_YAML, {"walk.csv": data.to_csv(index=False).encode()}, min_n=MIN_N)
    token = store.create_viewer_token("walk")
    store.close()
    return url, token, small


def _pages() -> list[str]:
    text = (ROOT / "app.py").read_text()
    return re.findall(r'\("(pages/[a-z_]+\.py)"', text)


def _labels_in(value, small: list[str]) -> set[str]:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {s for s in small if re.search(rf'(?<![\w-]){re.escape(s)}(?![\w-])', text)}


def _array(value) -> list | None:
    """A trace's data array as a list (plotly 6 sends numbers as ``{"dtype", "bdata"}``)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(x) for x in shape.split(",")]
        return flat.reshape(shape).tolist() if shape else flat.tolist()
    return value if isinstance(value, list) else None


def _missing(value) -> bool:
    if isinstance(value, list):
        return all(_missing(v) for v in value)
    return value is None or (isinstance(value, float) and np.isnan(value))


SUPPRESSION_WORDS = ("fewer than", "not shown", "suppressed", "withheld")


def _chart_leaks(spec: dict, small: list[str]) -> list[str]:
    """Where a chart's data carry a value for a small group: a category at position i whose value
    on the other axis (or row of z) is not blank, a trace named after one that has data, or a
    text naming one that is not a suppression notice."""
    leaks = []
    for trace in spec.get("data", []):
        z = _array(trace.get("z"))
        if str(trace.get("name")) in small and any(not _missing(_array(trace.get(a)) or [])
                                                   for a in ("x", "y", "z") if trace.get(a) is not None):
            leaks.append(f"trace {trace.get('name')}")
        for axis, other in (("x", "y"), ("y", "x")):
            categories, values = _array(trace.get(axis)), _array(trace.get(other))
            for i, category in enumerate(categories or []):
                if str(category) not in small:
                    continue
                if z is not None:  # heatmap: the row (y) or column (x) of z
                    cells = z[i] if axis == "y" else [row[i] for row in z]
                    if not _missing(cells):
                        leaks.append(f"heatmap {category}")
                elif values is not None and i < len(values) and not _missing(values[i]):
                    leaks.append(f"{axis}={category}")
        for key in ("text", "hovertext"):
            texts = trace.get(key)
            for text in (texts if isinstance(texts, list) else [texts]):
                for line in (text if isinstance(text, list) else [text]):
                    if isinstance(line, str) and _labels_in(line, small) \
                            and not any(w in line.lower() for w in SUPPRESSION_WORDS):
                        leaks.append(f"text {line[:60]}")
    return leaks


def _check_page(at: AppTest, page: str, small: list[str]) -> int:
    """Every table, metric and chart of the page; returns how many were checked."""
    assert not at.exception, f"{page}: {at.exception}"
    checked = 0
    for frame in [d.value for d in at.dataframe] + [t.value for t in at.table]:
        if not isinstance(frame, pd.DataFrame):
            continue
        checked += 1
        shown = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
        assert not _labels_in(list(map(str, shown.columns)), small), f"{page}: a column names a small group"
        # a row may name a small group (a list of every organisation) but must carry no value for it
        numbers = shown.select_dtypes("number")
        for i, row in enumerate(shown.astype(str).to_numpy().tolist()):
            if _labels_in(row, small):
                values = numbers.iloc[i].dropna()
                assert values.empty, f"{page}: a table shows values for a small group:\n{shown.iloc[i]}"
        for column in shown.columns:
            if COUNT_COLUMNS.match(str(column)):
                counts = pd.to_numeric(shown[column], errors="coerce").dropna()
                assert (counts >= MIN_N).all(), f"{page}: column {column} has counts under {MIN_N}: {counts.min()}"
    for metric in at.metric:
        checked += 1
        assert not _labels_in(f"{metric.label} {metric.value}", small), f"{page}: metric {metric.label}"
    for chart in at.get("plotly_chart"):
        checked += 1
        leaks = _chart_leaks(json.loads(chart.proto.spec), small)
        assert not leaks, f"{page}: a chart carries values of small groups: {leaks[:5]}"
    return checked


def test_a_viewer_walks_every_screen_and_sees_no_small_group(walk_study, monkeypatch):
    url, token, small = walk_study
    monkeypatch.setenv("COPROD_DB_URL", url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["view"] = token
    at.run()
    assert not at.exception
    pages = _pages()
    assert "pages/data.py" in pages and len(pages) >= 8
    seen = {}
    for page in pages:
        if page == "pages/data.py":  # not in a viewer's menu at all
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)
            continue
        at.switch_page(page)
        at.run()
        assert not any("Something went wrong" in e.value for e in at.error), (page, [e.value for e in at.error])
        seen[page] = _check_page(at, page, small)
    # the screens showed something to check (tables, metrics, charts), not only messages
    assert all(n > 0 for n in seen.values()), seen
    assert sum(seen.values()) >= 40, seen
    # the small organisation's link, opened in a new session: the privacy message, no score
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["view"] = token
    at.run()
    at.switch_page("pages/readiness.py")
    at.query_params["org"] = "Tinyville"
    at.run()
    assert not at.exception
    assert not at.metric
    assert any("Fewer than" in w.value or "No scores" in w.value for w in at.warning)


def test_the_data_page_refuses_a_viewer_link(walk_study, monkeypatch):
    url, token, _ = walk_study
    monkeypatch.setenv("COPROD_DB_URL", url)
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    at.query_params["view"] = token
    at.run()
    assert not at.exception
    assert any("for the study's owner" in e.value for e in at.error)
    assert not at.dataframe and not at.get("file_uploader") and not at.get("download_button")
    assert not at.get("number_input")  # the threshold


def test_a_wrong_viewer_link_shows_only_its_message(walk_study, monkeypatch):
    url, _, _ = walk_study
    monkeypatch.setenv("COPROD_DB_URL", url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["view"] = "not-a-token-" + "x" * 30
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This viewer link is not valid."]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")
