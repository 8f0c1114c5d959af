"""The mixed command reaches every family the engine fits, with the library's numbers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from numpy.testing import assert_allclose

from analysis.mixed import fit

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "mixed"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "analysis", "mixed", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True)


def test_poisson_command_equals_library():
    formula = "TICKS ~ YEAR + (1 | BROOD)"
    out = _run(str(FIX / "grouseticks.csv"), "--family", "poisson", "--formula", formula)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    lib = fit(formula, pd.read_csv(FIX / "grouseticks.csv"), family="poisson")
    assert got["family"] == "poisson"
    assert_allclose([r["estimate"] for r in got["fixed"]], lib.fixed_table()["estimate"].to_numpy(), rtol=1e-10)


def test_weighted_proportion_command_equals_cbind():
    data = pd.read_csv(FIX / "cbpp.csv")
    data["prop"] = data["incidence"] / data["size"]
    path = FIX.parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    data.to_csv(path / "cbpp_prop.csv", index=False)
    out = _run(str(path / "cbpp_prop.csv"), "--family", "binomial", "--weights", "size",
               "--formula", "prop ~ period + (1 | herd)")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    cbind = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, family="binomial")
    assert_allclose([r["estimate"] for r in got["fixed"]], cbind.fixed_table()["estimate"].to_numpy(), rtol=1e-6)


def test_unknown_family_exits_2_with_one_line():
    out = _run(str(FIX / "grouseticks.csv"), "--family", "gamma", "--formula", "TICKS ~ YEAR + (1 | BROOD)")
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "gamma" in out.stderr
