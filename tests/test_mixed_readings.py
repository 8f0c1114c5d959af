"""The Models screen's readings come from ``analysis.mixed.readings`` (not the page): the null
model's ICC and design effect in words, a singular fit's advice, the convergence advice."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.mixed import fit
from analysis.mixed.readings import convergence_advice, null_model_reading, null_model_summary, singular_advice


def _data(tau: float) -> pd.DataFrame:
    """40 groups of 15; with tau = 0 the residuals are centred within groups, so the groups'
    means differ less than chance would make them: tau00 is estimated at zero."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(40), 15)
    x = rng.normal(size=len(g))
    e = rng.normal(size=len(g))
    if tau == 0:
        e = e - pd.Series(e).groupby(g).transform("mean").to_numpy()
    return pd.DataFrame({"g": g.astype(str), "x": x, "y": 2 + 0.4 * x + tau * rng.normal(size=40)[g] + e})


def test_null_model_reading_states_icc_and_design_effect():
    null = fit("y ~ 1 + (1 | g)", _data(0.8))
    s = null_model_summary(null, "g")
    assert s["icc"] == null.icc and s["n_groups"] == 40 and s["mean_size"] == 15
    assert abs(s["design_effect"] - (1 + 14 * null.icc)) < 1e-12  # Kish (1965)
    text = null_model_reading(null, "g", "y", "team")
    assert text.startswith("Teams differ: ICC = .") and f"{s['n_obs'] / s['design_effect']:.0f} independent" in text
    assert convergence_advice(null) is None and singular_advice(null, "y") is None


def test_singular_intercept_says_the_groups_do_not_differ():
    result = fit("y ~ x + (1 | g)", _data(0.0))
    assert result.singular
    advice = singular_advice(result, "y")
    assert advice is not None and "groups of g do not differ in y" in advice
    text = null_model_reading(fit("y ~ 1 + (1 | g)", _data(0.0)), "g", "y", "team")
    assert text.startswith("Teams hardly differ: ICC = .00")
