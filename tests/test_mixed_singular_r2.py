"""R² and ICC of a singular fit as R's performance 0.10.2 reports them: the random variances
count as unavailable (check_singularity at tolerance 1e-5), so the conditional R² and the ICC
are NA and the marginal R² leaves the random variance out. Data drawn here, R run live."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from analysis.mixed import fit

SCRIPT = """
suppressMessages({library(lme4); library(performance); library(jsonlite)})
out <- list()
for (case in list(list(f = "%s", formula = y ~ x + (1 + x || g)), list(f = "%s", formula = y ~ x + (1 | g)))) {
  d <- read.csv(case$f); d$g <- factor(d$g)
  m <- lmer(case$formula, d)
  r2 <- suppressWarnings(r2_nakagawa(m)); icc <- suppressWarnings(icc(m))
  out[[length(out) + 1]] <- list(singular = isSingular(m, tol = 1e-5),
    r2_conditional = as.numeric(r2$R2_conditional), r2_marginal = as.numeric(r2$R2_marginal),
    icc = if (is.list(icc)) as.numeric(icc$ICC_adjusted) else NA)
}
cat("\nJSON", toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "\n")  # performance prints notes
"""


def _data(tmp_path):
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(30), 10)
    x = rng.normal(size=300)
    slope_free = pd.DataFrame({"g": g, "x": x, "y": 1 + 0.5 * x + rng.normal(size=30)[g] + rng.normal(size=300)})
    no_groups = pd.DataFrame({"g": g, "x": x, "y": 1 + 0.5 * x + rng.normal(size=300) * 1.0})
    paths = [tmp_path / "slope.csv", tmp_path / "flat.csv"]
    slope_free.to_csv(paths[0], index=False)
    no_groups.to_csv(paths[1], index=False)
    return paths


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_singular_fit_r2_and_icc_as_performance(tmp_path):
    paths = _data(tmp_path)
    run = subprocess.run(["Rscript", "-e", SCRIPT % tuple(map(str, paths))], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    expected = json.loads(run.stdout.split("\nJSON", 1)[1])
    for path, formula, want in zip(paths, ["y ~ x + (1 + x || g)", "y ~ x + (1 | g)"], expected):
        data = pd.read_csv(path).assign(g=lambda d: d["g"].astype(str))
        got = fit(formula, data)
        if want["singular"]:
            assert got.r2_conditional is None and got.icc is None
        else:
            assert got.r2_conditional == pytest.approx(want["r2_conditional"], rel=1e-4)
            assert got.icc == pytest.approx(want["icc"], rel=1e-4)
        assert got.r2_marginal == pytest.approx(want["r2_marginal"], rel=1e-4)
    assert any(w["singular"] for w in expected)  # the case this test is about occurred
