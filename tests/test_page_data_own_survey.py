"""The Data page's own-survey panel on a Qualtrics export (issue 9): the id and group columns are
guessed from the file, the question texts Qualtrics puts under the column names are shown next to
each column, and a bad scale gets the study file's one-line message with nothing lost."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.own_survey import start_definition

ROOT = Path(__file__).resolve().parents[1]
EXPORT = ROOT / "tests" / "fixtures" / "qualtrics_export.csv"


def _page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "dashboard.sqlite3"))
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    at.run()
    at.session_state["study_sources"] = {"public_servant": start_definition("public_servant", EXPORT.name,
                                                                            EXPORT.read_bytes())}
    at.run()
    assert not at.exception
    return at


def test_qualtrics_export_roles_guessed_and_question_texts_shown(tmp_path, monkeypatch):
    at = _page(tmp_path, monkeypatch)
    assert at.selectbox(key="own_id_public_servant").value == "ResponseId"
    assert at.multiselect(key="own_groups_public_servant").value == ["org_id"]
    columns = next(d.value for d in at.dataframe if "question text" in d.value.columns).set_index("column")
    assert columns.loc["Q1_1", "question text"] == "How much do you agree? - I learn new online tools quickly."
    assert columns.loc["org_id", "question text"] == "Organisation"


def test_a_bad_scale_is_refused_with_its_key_and_the_draft_kept(tmp_path, monkeypatch):
    at = _page(tmp_path, monkeypatch)
    at.text_input(key="own_scale_name_public_servant").input("SKILLS")
    at.multiselect(key="own_scale_items_public_servant").set_value(["Q1_1"])  # one item: not a scale
    at.button(key="own_add_scale_public_servant").click().run()
    assert any("at least two items" in e.value for e in at.error)
    at.multiselect(key="own_scale_items_public_servant").set_value(["Q1_1", "Q1_2", "Q1_3", "Q1_4"])
    at.run()
    at.multiselect(key="own_scale_reverse_public_servant").set_value(["Q1_4"])
    at.button(key="own_add_scale_public_servant").click().run()
    assert not at.error
    at.button(key="own_apply_public_servant").click().run()
    assert any("1 scale(s), groups org_id" in s.value for s in at.success)
    source = at.session_state["study_sources"]["public_servant"]
    assert source.definition.scales[0].reverse == ("Q1_4",)
