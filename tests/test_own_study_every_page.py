"""Every screen on a researcher's own study (issue 9 item 3): a survey with its own scale names,
its own group column and no bundled instrument opens on every page of the menu without an
exception or a "something went wrong" box; the topic screens say what is missing instead."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import study as studies
from own_studies import climate_study
from ui.state import Source

ROOT = Path(__file__).resolve().parents[1]
STUDY = climate_study("company", ["HRS", "sex"], [
    "{name: LEAD, items: [lead_1, lead_2, lead_3], min: 1, max: 5, reverse: [lead_3]}",
    "{name: COH, items: [coh_1, coh_2, coh_3], min: 1, max: 5}"])


@pytest.fixture(scope="module")
def own_source() -> Source:
    rng = np.random.default_rng(5)
    n, g = 400, 16
    company = rng.integers(0, g, n)
    trait = rng.normal(0, 1, (n, 2)) + rng.normal(0, 0.5, (g, 2))[company]
    frame = pd.DataFrame({"person": np.arange(n), "company": [f"Coy {k}" for k in company],
                          "HRS": rng.normal(50, 5, n).round(1), "sex": rng.choice(["F", "M"], n)})
    for s, name in enumerate(("lead", "coh")):
        for k in (1, 2, 3):
            frame[f"{name}_{k}"] = np.clip(np.round(3 + trait[:, s] + rng.normal(0, 0.7, n)), 1, 5)
    survey = studies.parse_study(STUDY).surveys[0]
    return Source("soldiers", "climate.csv", frame.to_csv(index=False).encode(), definition=survey)


def _pages() -> list[str]:
    return re.findall(r'\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())


@pytest.mark.parametrize("respondent", [None, "public servant", "citizen"])
def test_every_page_opens_on_an_own_study(own_source, respondent, tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "dashboard.sqlite3"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    source = replace(own_source, definition=replace(own_source.definition, respondent=respondent))
    at.session_state["study_sources"] = {"soldiers": source}
    at.run()
    for page in _pages():
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        bugs = [e.value for e in at.error if "Something went wrong" in e.value]
        assert not bugs, (page, bugs)
        shown = (len(at.dataframe) + len(at.metric) + len(at.get("plotly_chart")) + len(at.info) + len(at.warning)
                 + len(at.error))
        assert shown > 0, page
        if page == "pages/topic_skills.py" and respondent is None:
            assert any("has no survey of" in i.value for i in at.info)
        if page == "pages/topic_skills.py" and respondent is not None:  # what is missing, by construct key
            assert any("none of research topic 1's constructs" in e.value and "`digital_skills`" in e.value
                       for e in at.error)
