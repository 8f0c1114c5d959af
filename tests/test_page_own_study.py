"""A researcher's own study (own scale names, own group column) on the screens: the numbers on
screen equal the printed command's run on the study file, agree with R, and survive the study
file's round trip (download, fresh session, upload)."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import study as studies
from ui.state import Source

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
CASES = json.loads((REF / "reference.json").read_text())["cases"] if (REF / "reference.json").exists() else {}
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/reference is not beside the repository")

STUDY = ("title: Personality\nsurveys:\n  - name: bfi\n    file: bfi.csv\n    covariates: [gender, education]\n"
         "    scales:\n      - {name: Agree, items: [A1, A2, A3, A4, A5], min: 1, max: 6, reverse: [A1]}\n")


def own_source() -> Source:
    survey = studies.parse_study(STUDY).surveys[0]
    return Source("bfi", "bfi.csv", (REF / "data" / "bfi.csv").read_bytes(), definition=survey)


def test_measurement_screen_on_own_study_equals_its_command_and_psych(tmp_path):
    at = AppTest.from_file(str(ROOT / "pages" / "measurement.py"), default_timeout=180)
    at.session_state["study_sources"] = {"bfi": own_source()}
    at.run()
    assert not at.exception and not at.error
    alpha_metric = next(m for m in at.metric if "alpha" in m.label.lower())
    command = next(c.value for c in at.code if c.value.startswith("python -m analysis reliability"))
    assert "study.yaml --survey bfi" in command
    # the study file the Data page downloads, with its data file beside it
    (tmp_path / "study.yaml").write_text(studies.to_yaml(studies.parse_study(STUDY)))
    (tmp_path / "bfi.csv").write_bytes((REF / "data" / "bfi.csv").read_bytes())
    args = shlex.split(command)[3:]
    done = subprocess.run([sys.executable, "-m", "analysis", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    alpha = json.loads(done.stdout)["alpha"]
    assert float(alpha_metric.value) == pytest.approx(alpha, abs=5e-4)  # shown with three decimals
    assert alpha == pytest.approx(CASES["bfi_alpha_Agreeableness"]["outputs"]["pairwise"]["raw_alpha"], abs=1e-6)


def _round_trip() -> None:
    """Runs inside a streamlit script: save the study file, open it in place of the sample."""
    import streamlit as st

    from analysis import study as studies_lib
    from ui import state

    first = state.dataset("bfi").data
    text = studies_lib.to_yaml(state.current_study("Personality"))
    source = st.session_state["_kept_source"]
    st.session_state.clear()  # a fresh session: the bundled sample again
    assert "bfi" not in state.sources()
    state.open_study(studies_lib.parse_study(text), {"bfi.csv": source.content})
    again = state.dataset("bfi").data
    st.session_state["same"] = bool(first["Agree"].equals(again["Agree"])) and len(first) == len(again)
    st.session_state["yaml"] = text


def test_study_file_round_trip_gives_the_same_scores():
    at = AppTest.from_function(_round_trip, default_timeout=180)
    source = own_source()
    at.session_state["study_sources"] = {"bfi": source}
    at.session_state["_kept_source"] = source
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["same"]
    assert "reverse: [A1]" in at.session_state["yaml"] and "file: bfi.csv" in at.session_state["yaml"]


def _missing_file() -> None:
    import streamlit as st

    from analysis import study as studies_lib
    from analysis.errors import InputError
    from ui import state

    before = list(state.sources())
    try:
        text = ("title: T\nsurveys:\n  - name: bfi\n    file: bfi.csv\n"
                "    scales:\n      - {name: A, items: [A1, A2]}\n")
        state.open_study(studies_lib.parse_study(text), {})
    except InputError as exc:
        st.session_state["message"] = str(exc)
    st.session_state["unchanged"] = list(state.sources()) == before


def test_opening_a_study_without_its_data_file_says_so_and_keeps_the_study():
    at = AppTest.from_function(_missing_file, default_timeout=180, args=())
    at.run()
    assert not at.exception
    assert "bfi.csv" in at.session_state["message"]
    assert at.session_state["unchanged"]
