"""The Models page on a researcher's own study (issue 9): a random-slope model with a cross-level
interaction, clustered by the study's own group column, equals its printed command run on the
study file (``mixed study.yaml --survey NAME --formula ...``)."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import study as studies
from own_studies import climate_study
from ui.state import Source

ROOT = Path(__file__).resolve().parents[1]
STUDY = climate_study("GRP", ["HRS"], [
    "{name: LEAD, items: [lead_1, lead_2, lead_3], min: 1, max: 5, reverse: [lead_3]}",
    "{name: WBEING, items: [wb_1, wb_2, wb_3], min: 1, max: 5}"])
FORMULA = "WBEING ~ cwc_LEAD * c_gm_HRS + (1 + cwc_LEAD | GRP)"


@pytest.fixture(scope="module")
def climate() -> bytes:
    rng = np.random.default_rng(3)
    n, g = 600, 30
    grp = rng.integers(0, g, n)
    hours = rng.normal(50, 6, g)[grp] + rng.normal(0, 4, n)
    lead = rng.normal(0, 1, g)[grp] * 0.4 + rng.normal(0, 1, n)
    slope = 0.4 + rng.normal(0, 0.15, g)[grp]
    wb = 3 + slope * lead - 0.02 * (hours - 50) + rng.normal(0, 0.3, g)[grp] + rng.normal(0, 0.6, n)
    frame = pd.DataFrame({"person": np.arange(n), "GRP": [f"C{k:02d}" for k in grp], "HRS": hours.round(1)})
    for k in (1, 2, 3):
        frame[f"lead_{k}"] = np.clip(np.round(3 + lead + rng.normal(0, 0.6, n)), 1, 5)
        frame[f"wb_{k}"] = np.clip(np.round(wb + rng.normal(0, 0.6, n)), 1, 5)
    frame["lead_3"] = 6 - frame["lead_3"]
    return frame.to_csv(index=False).encode()


def test_random_slope_cross_level_model_on_own_study_equals_command(climate, tmp_path):
    survey = studies.parse_study(STUDY).surveys[0]
    at = AppTest.from_file(str(ROOT / "pages" / "models.py"), default_timeout=300)
    at.session_state["study_sources"] = {"soldiers": Source("soldiers", "climate.csv", climate, definition=survey)}
    at.query_params["formula"] = FORMULA
    at.run()
    assert not at.exception and not at.error
    fixed = next(d.value for d in at.dataframe if "term" in d.value.columns and "estimate" in d.value.columns)
    assert "cwc_LEAD:c_gm_HRS" in fixed["term"].tolist()
    command = next(c.value for c in at.code if c.value.startswith("python -m analysis mixed"))
    assert command.startswith("python -m analysis mixed study.yaml --survey soldiers")
    (tmp_path / "study.yaml").write_text(STUDY)
    (tmp_path / "climate.csv").write_bytes(climate)
    done = subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = {row["term"]: row["estimate"] for row in result["fixed"]}
    shown = dict(zip(fixed["term"], fixed["estimate"]))
    assert shown.keys() == expected.keys()
    assert all(shown[t] == pytest.approx(v, rel=1e-9, abs=1e-12) for t, v in expected.items())
    assert result["groups"] == {"GRP": 30} or result["groups"].get("GRP") == 30
