"""The Measurement page's CFA with several scales (issue 9): the model on screen is the one its
printed command fits (``factor ... --scale A B C``), with the same fit and loadings."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_several_scales_cfa_equals_its_command():
    at = AppTest.from_file(str(ROOT / "pages" / "measurement.py"), default_timeout=300)
    at.session_state["m_tab"] = "Factor structure"  # the tabs are lazy: only the chosen one runs
    at.run()
    assert not at.exception
    command = next(c.value for c in at.code
                   if " --scale " in c.value and c.value.startswith("python -m analysis factor"))
    scales = shlex.split(command.split("--scale", 1)[1])[:-1]
    assert len(scales) == 3
    done = subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    cfa = json.loads(done.stdout)["cfa"]
    assert cfa["factors"] == scales
    chi2 = [m for m in at.metric if m.label == "chi2"]
    assert len(chi2) == 2  # the one-factor model of the chosen scale, then the several-scales model
    assert float(chi2[1].value) == pytest.approx(cfa["chi2"], abs=5e-3)
    loadings = next(d.value for d in at.dataframe if {"factor", "std_loading"} <= set(d.value.columns))
    expected = {(r["factor"], r["item"]): r["loading"] for r in cfa["loadings_table"]}
    shown = {(r.factor, r.item): r.std_loading for r in loadings.itertuples()}
    assert shown.keys() == expected.keys()
    assert all(shown[k] == pytest.approx(v, abs=1e-9) for k, v in expected.items())
