"""The mixed command reaches every family the engine fits, with the library's numbers."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis import cli
from analysis.mixed import fit

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "mixed"


def _run(*args):
    """The command as a process: what a user sees on stdout and stderr (the refusals below)."""
    return subprocess.run([sys.executable, "-m", "analysis", "mixed", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True)


def _fitted(*args) -> dict:
    """A fit through the command's entry point, ``analysis.cli.main``, in this process (exit 0, its JSON)."""
    out = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
        assert cli.main(["mixed", *args, "--json"]) == 0
    return json.loads(out.getvalue())


def test_poisson_command_equals_library():
    formula = "TICKS ~ YEAR + (1 | BROOD)"
    got = _fitted(str(FIX / "grouseticks.csv"), "--family", "poisson", "--formula", formula)
    lib = fit(formula, pd.read_csv(FIX / "grouseticks.csv"), family="poisson")
    assert got["family"] == "poisson"
    assert_allclose([r["estimate"] for r in got["fixed"]], lib.fixed_table()["estimate"].to_numpy(), rtol=1e-10)


def test_weighted_proportion_command_equals_cbind():
    data = pd.read_csv(FIX / "cbpp.csv")
    data["prop"] = data["incidence"] / data["size"]
    path = FIX.parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    data.to_csv(path / "cbpp_prop.csv", index=False)
    got = _fitted(str(path / "cbpp_prop.csv"), "--family", "binomial", "--weights", "size",
                  "--formula", "prop ~ period + (1 | herd)")
    cbind = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, family="binomial")
    assert_allclose([r["estimate"] for r in got["fixed"]], cbind.fixed_table()["estimate"].to_numpy(), rtol=1e-6)


def test_unknown_family_exits_2_with_one_line():
    out = _run(str(FIX / "grouseticks.csv"), "--family", "gamma", "--formula", "TICKS ~ YEAR + (1 | BROOD)")
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "gamma" in out.stderr


@pytest.mark.parametrize("change, args, fragment", [
    ({"k": -1}, ["--family", "binomial", "--formula", "cbind(k, n - k) ~ x + (1 | g)"], "successes 'k' is negative"),
    ({"k": 9}, ["--family", "binomial", "--formula", "cbind(k, n - k) ~ x + (1 | g)"], "successes above trials"),
    ({"k": -2}, ["--family", "poisson", "--formula", "k ~ x + (1 | g)"], "whole number >= 0, found -2"),
    ({"k": 2.5}, ["--family", "poisson", "--formula", "k ~ x + (1 | g)"], "whole number >= 0, found 2.5"),
    ({}, ["--family", "poisson", "--formula", "k ~ ns(x, 3) + (1 | g)"], "'ns()' is not offered"),
])
def test_bad_count_input_exits_2_with_one_line(tmp_path, change, args, fragment):
    """Issue 16's bad input through the command: one line on stderr saying what, exit 2."""
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"g": np.repeat([f"g{i}" for i in range(12)], 10), "x": rng.normal(size=120),
                         "k": rng.poisson(3, 120).astype(float), "n": np.full(120, 8.0)})
    for col, value in change.items():
        data.loc[7, col] = value
    data.to_csv(tmp_path / "counts.csv", index=False)
    out = _run(str(tmp_path / "counts.csv"), *args)
    assert out.returncode == 2 and out.stdout == "", out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and fragment in out.stderr
