"""The Data page in AppTest: the sample loads, the user's choices change the cleaned data,
and a saved study comes back from the database with its file and choices."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from store import Store

from conftest import ROOT


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "dashboard.sqlite3"))
    app = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    app.run()
    assert not app.exception
    return app


def _remaining(app) -> str:
    return next(i.value for i in app.info if "respondents remain" in i.value)


def test_sample_is_loaded_and_checked(at):
    assert "public_servants.csv" in " ".join(m.value for m in at.markdown)
    assert "1,500 respondents remain" in _remaining(at)
    codes = set(at.dataframe[2].value["code"])
    assert {"MISSING_CODE", "STRAIGHT_LINING"} <= codes


def test_dropping_straight_liners_removes_them(at):
    problems = at.dataframe[2].value
    n_straight = int(problems.loc[problems["code"] == "STRAIGHT_LINING", "count"].sum())
    assert n_straight > 0
    at.selectbox(key="action_public_servant_STRAIGHT_LINING").set_value("drop_respondents")
    at.button(key="apply_actions_public_servant").click().run()
    assert not at.exception
    assert f"{1500 - n_straight:,} respondents remain" in _remaining(at)


def test_save_and_reopen_study(at, tmp_path):
    at.text_input(key="study_name").input("Sample 2026").run()
    at.button(key="save_study").click().run()
    assert not at.exception
    assert any("Saved as" in s.value for s in at.success)
    saved = Store(tmp_path / "dashboard.sqlite3").list_studies()
    assert [s.name for s in saved] == ["Sample 2026"]
    study = Store(tmp_path / "dashboard.sqlite3").load_study(saved[0].slug)
    assert "instrument: public_servant" in study.definition_yaml and "instrument: citizen" in study.definition_yaml
    assert set(study.files) == {"public_servants.csv", "citizens.csv"}
    at.button(key="open_study").click().run()
    assert not at.exception
    assert "1,500 respondents remain" in _remaining(at)


def test_citizen_survey_tab(at):
    at.segmented_control(key="data_survey").set_value("citizen").run()
    assert not at.exception
    assert "4,000 respondents remain" in _remaining(at)


def test_threshold_survives_save_and_reopen(at, tmp_path):
    """A study saved with min_n 10 reopens with 10, and saving it again stores 10."""
    at.number_input(key="study_min_n_input").set_value(10).run()
    at.text_input(key="study_name").input("Strict study").run()
    at.button(key="save_study").click().run()
    store = Store(tmp_path / "dashboard.sqlite3")
    assert [v.min_n for v in store.versions("strict-study")] == [10]
    at.number_input(key="study_min_n_input").set_value(6).run()  # changed, then the saved one reopened
    at.button(key="open_study").click().run()
    assert not at.exception
    assert at.number_input(key="study_min_n_input").value == 10
    at.button(key="save_study").click().run()
    assert [v.min_n for v in store.versions("strict-study")] == [10, 10]  # a new version, the old one kept


def test_floor_is_the_lowest_threshold_offered(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "dashboard.sqlite3"))
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "8")
    app = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    app.run()
    assert app.number_input(key="study_min_n_input").value == 8
    assert app.number_input(key="study_min_n_input").min == 8
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "zero")
    app = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    app.run()
    assert not app.exception and any("privacy setting is invalid" in e.value for e in app.error)
