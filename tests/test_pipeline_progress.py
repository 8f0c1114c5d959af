"""The pipeline reports its steps (the Data page shows them while a large file is prepared)."""
from __future__ import annotations

from analysis import pipeline
from analysis import study as studies
from conftest import ROOT


def test_prepare_reports_reading_checking_and_scoring_in_order():
    steps: list[str] = []
    prepared = pipeline.prepare(ROOT / "sample_data" / "public_servants.csv", "public_servant", progress=steps.append)
    assert steps == ["Reading the file", f"Checking {len(prepared.data):,} respondents against the instrument",
                     "Scoring the scales"]


def test_a_study_survey_reports_its_steps_too(tmp_path):
    (tmp_path / "public_servants.csv").write_bytes((ROOT / "sample_data" / "public_servants.csv").read_bytes())
    (tmp_path / "study.yaml").write_text("title: S\nsurveys:\n  - name: public_servant\n"
                                         "    file: public_servants.csv\n    instrument: public_servant\n")
    steps: list[str] = []
    pipeline.prepare_survey(studies.load_study(tmp_path / "study.yaml"), "public_servant", progress=steps.append)
    assert [s.split(" ")[0] for s in steps] == ["Reading", "Checking", "Scoring"]
