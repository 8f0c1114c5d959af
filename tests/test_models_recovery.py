"""The Models page's default models on the bundled sample recover the sample's documented
population values (sample_data/README.md, parameters.json -> expected_estimates: mean and SD of
each estimate over 200 replications of the simulated design).

Fixed effects must lie within 2.5 of their own standard errors of the expected value and
within 3 replication SDs; variance components within 3 replication SDs. The shipped sample's
lme4 values (README, last column) are matched to their printed rounding.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

PAGE = str(ROOT / "pages" / "models.py")
EXPECTED = json.loads((ROOT / "sample_data" / "parameters.json").read_text())["expected_estimates"]
# page term -> documented name (README: readiness_org_c = organisation mean of readiness_index
# minus its respondent-level mean = c_gm_readiness_index; digital_skills_c = c_digital_skills)
ENGAGEMENT_TERMS = {
    "(Intercept)": "engagement_model.intercept",
    "c_gm_readiness_index": "engagement_model.readiness_org_c",
    "c_digital_skills": "engagement_model.digital_skills_c",
    "c_digital_skills:c_gm_readiness_index": "engagement_model.readiness_org_c:digital_skills_c",
}
# lme4 1.1 on the shipped files (README, "shipped sample, R"), printed to 4 decimals
SHIPPED_R = {"(Intercept)": 2.7518, "c_gm_readiness_index": 0.9564, "c_digital_skills": 0.2506,
             "c_digital_skills:c_gm_readiness_index": 0.2950, "tau00": 0.0443, "sigma2": 0.5053}
# The README's readiness_index is the mean of the seven 1-5 scores; the dashboard's
# (analysis.readiness_index, the readiness view's scale) is the same mean on 0-100, i.e.
# 25 * (x - 1). Centred, the shift drops out, so a coefficient per README unit is 25 times the
# page's per 0-100 point: the page's estimates and SEs of the readiness terms are put on the
# README's scale before they are compared (the documented values are not changed).
PER_README_UNIT = {"c_gm_readiness_index": 25.0, "c_digital_skills:c_gm_readiness_index": 25.0}


def _table(app, column: str) -> pd.DataFrame:
    return next(d.value for d in app.dataframe if column in d.value.columns)


@pytest.fixture(scope="module")
def engagement():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    assert not at.exception and not at.error
    fixed = _table(at, "df").set_index("term")
    random = _table(at, "variance").set_index("group")
    icc = float(next(m.value for m in at.metric if m.label == "ICC (null model)"))
    return fixed, random, icc


def test_default_fixed_effects_within_their_standard_errors(engagement):
    fixed, _, _ = engagement
    assert set(fixed.index) == set(ENGAGEMENT_TERMS)
    for term, name in ENGAGEMENT_TERMS.items():
        unit = PER_README_UNIT.get(term, 1.0)
        estimate, se = unit * fixed.loc[term, "estimate"], unit * fixed.loc[term, "se"]
        truth = EXPECTED[name]
        assert abs(estimate - truth["mean"]) < 2.5 * se, (term, estimate, truth, se)
        assert abs(estimate - truth["mean"]) < 3 * truth["sd"], (term, estimate, truth)
    # the documented cross-level interaction: readiness strengthens the skills slope
    assert fixed.loc["c_digital_skills:c_gm_readiness_index", "ci_low"] > 0


def test_default_variance_components_near_their_values(engagement):
    _, random, icc = engagement
    tau00, sigma2 = random.loc["org_id", "variance"], random.loc["Residual", "variance"]
    for value, name in ((tau00, "engagement_model.tau00"), (sigma2, "engagement_model.sigma2")):
        truth = EXPECTED[name]
        assert abs(value - truth["mean"]) < 3 * truth["sd"], (name, value, truth)
    # the null model's ICC against the documented ICC(1) of engagement (ANOVA estimator, close)
    truth = EXPECTED["icc1_dc_engagement"]
    assert abs(icc - truth["mean"]) < 3 * truth["sd"]


def test_default_model_equals_lme4_on_the_shipped_sample(engagement):
    fixed, random, _ = engagement
    for term in ENGAGEMENT_TERMS:
        assert abs(PER_README_UNIT.get(term, 1.0) * fixed.loc[term, "estimate"] - SHIPPED_R[term]) <= 5.1e-5, term
    assert abs(random.loc["org_id", "variance"] - SHIPPED_R["tau00"]) <= 5.1e-5
    assert abs(random.loc["Residual", "variance"] - SHIPPED_R["sigma2"]) <= 5.1e-5


def test_citizen_age_and_gender_gaps_in_digital_skills():
    """The digital divide (README, citizens): skills fall with age and are lower for women."""
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params["survey"] = "citizen"
    at.query_params["formula"] = "digital_skills ~ c_age10 + female + (1 | municipality_id)"
    at.query_params["family"] = "gaussian"
    at.run()
    assert not at.exception and not at.error
    fixed = _table(at, "df").set_index("term")
    for term, name in (("c_age10", "citizen_digital_skills_model.age10_c"),
                       ("female", "citizen_digital_skills_model.female")):
        truth = EXPECTED[name]
        estimate, se = fixed.loc[term, "estimate"], fixed.loc[term, "se"]
        assert abs(estimate - truth["mean"]) < 2.5 * se, (term, estimate, truth, se)
        assert np.sign(estimate) == np.sign(truth["mean"]) == -1
