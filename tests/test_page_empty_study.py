"""Every page opened with no survey loaded says what to do instead of failing."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))


@pytest.mark.parametrize("name", PAGES)
def test_page_without_data_points_to_the_data_page(name):
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    at.session_state["study_sources"] = {}  # a study with no file (e.g. all uploads removed)
    at.run()
    assert not at.exception, name
    assert not [e.value for e in at.error], name
    shown = " ".join([w.value for w in at.warning] + [i.value for i in at.info] + [m.value for m in at.markdown])
    assert "Data page" in shown or "No file loaded" in shown or "Load" in shown, name
