"""Numbers as a reader expects them on every screen (issue 12 item 1): no ``None``/``nan`` in any
text, metric or table cell shown as text, no ``0.0000``, and p-values in APA style (``p < .001``,
``p = .012``), never in e-notation. Every page of the menu is run on the bundled sample through
app.py, and every text element, metric and text column of every table is read."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
BAD = [(re.compile(r"(?<![\w.`'])(None|nan|NaN)(?![\w`'])"), "None/nan"),
       (re.compile(r"(?<![\d.])0\.0000+(?!\d*[1-9])"), "0.0000"),
       (re.compile(r"\d(\.\d+)?e[-+]?\d+", re.I), "e-notation")]
TEXT_ELEMENTS = ("markdown", "caption", "info", "warning", "success", "error", "text", "header", "subheader", "title")


def _problems(text: str) -> list[str]:
    return [f"{what}: …{text[max(0, m.start() - 50):m.end() + 30]}…"
            for rx, what in BAD for m in [rx.search(text)] if m]


# Pages whose tabs are lazy (only the chosen tab runs): each tab is read.
LAZY_TABS = {"pages/measurement.py": ("Reliability", "Factor structure", "Aggregation")}


def test_no_raw_numbers_on_any_page(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "dashboard.sqlite3"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    pages = re.findall(r'\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())
    found = []
    read = 0
    views = [(page, tab) for page in pages for tab in LAZY_TABS.get(page, (None,))]
    for page, tab in views:
        at.switch_page(page)
        if tab is not None:
            at.session_state["m_tab"] = tab
        at.run()
        assert not at.exception, page
        texts = [str(getattr(el, "value", "")) for kind in TEXT_ELEMENTS for el in at.get(kind)]
        texts += [f"{m.label} {m.value}" for m in at.metric]
        for frame in (d.value for d in at.dataframe):
            if isinstance(frame, pd.DataFrame):
                texts += [str(v) for c in frame.columns if frame[c].dtype == object for v in frame[c].dropna()]
        read += len(texts)
        found += [f"{page}{f' ({tab})' if tab else ''}: {p}" for t in texts for p in _problems(t)]
    assert read > 300  # every screen was read, not only its title
    assert not found, "\n".join(found[:20])
