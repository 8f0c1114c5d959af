"""Studies a careless file makes: every screen says what is wrong instead of failing."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis.cli import main
from conftest import ROOT
from ui import state

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if p.name != "data.py")
SAMPLES = {"public_servant": ROOT / "sample_data" / "public_servants.csv",
           "citizen": ROOT / "sample_data" / "citizens.csv"}
KEEP = {"respondent_id", "org_id", "municipality_id", "gender", "age", "role", "org_type", "tenure",
        "education", "area", "income"}


def _all_missing(iid: str) -> bytes:
    data = pd.read_csv(SAMPLES[iid])
    for c in data.columns:
        if c not in KEEP:
            data[c] = np.nan
    return data.to_csv(index=False).encode()


def _one_row(iid: str) -> bytes:
    return pd.read_csv(SAMPLES[iid]).head(1).to_csv(index=False).encode()


MAKERS = {"all_missing": _all_missing, "one_row": _one_row}


def _sources(kind: str) -> dict:
    return {iid: state.Source(iid, f"{kind}_{iid}.csv", MAKERS[kind](iid)) for iid in SAMPLES}


@pytest.mark.parametrize("kind", sorted(MAKERS))
@pytest.mark.parametrize("name", PAGES)
def test_page_explains_instead_of_failing(name, kind):
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=180)
    at.session_state["study_sources"] = _sources(kind)
    at.run()
    assert not at.exception, (name, kind, [e.value for e in at.exception])
    crashes = [e.value for e in at.error if "Something went wrong" in e.value or "Traceback" in e.value]
    assert not crashes, (name, kind, crashes)
    said = [w.value for w in at.warning] + [i.value for i in at.info] + [e.value for e in at.error]
    assert said, (name, kind)


def test_readiness_command_on_all_missing_file_says_so(tmp_path, capsys):
    path = tmp_path / "empty_answers.csv"
    path.write_bytes(_all_missing("public_servant"))
    assert main(["readiness", str(path), "--instrument", "public_servant", "--json"]) == 2
    err = capsys.readouterr().err
    assert "no answers" in err and len(err.strip().splitlines()) == 1


def test_unknown_organisation_in_the_address_says_so():
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = "9999"
    at.run()
    assert not at.exception
    assert any("9999" in w.value and "no organisation" in w.value.lower() for w in at.warning), [w.value for w in at.warning]
    assert not at.metric


@pytest.mark.parametrize("fault", ["corrupt", "unwritable"])
def test_data_page_with_a_broken_database_says_which_file_and_keeps_the_data(tmp_path, monkeypatch, fault):
    if fault == "corrupt":
        db = tmp_path / "dashboard.sqlite3"
        db.write_bytes(b"this is not a database" * 100)
    else:  # a folder that cannot be made (its parent is a file): fails even for root
        (tmp_path / "plain_file").write_text("x")
        db = tmp_path / "plain_file" / "dashboard.sqlite3"
    monkeypatch.setenv("COPROD_DB", str(db))
    at = AppTest.from_file(str(ROOT / "pages" / "data.py"), default_timeout=120)
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "dashboard.sqlite3" in shown and "Something went wrong" not in shown
    assert "COPROD_DB" in shown
    assert any("respondents remain" in i.value for i in at.info)  # the loaded survey is still there
