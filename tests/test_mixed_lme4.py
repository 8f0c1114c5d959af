"""Crossed, nested, Poisson, cbind and weighted mixed models against lme4 / lmerTest.

Reference values: ``tests/fixtures/mixed/reference.json``, made by
``tests/fixtures/mixed/make_reference.R`` (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3) on data
sets shipped with lme4 (InstEval's department 15, Penicillin, grouseticks, cbpp, VerbAgg,
sleepstudy), exported next to it as CSV.  Tolerances are those of
``shared/reference/README.md``: linear models, fixed effects and SEs 1e-4 relative,
variance components 1e-3 relative, logLik 1e-3 absolute, Satterthwaite df 1e-2 relative;
multilevel logistic/Poisson, fixed effects and SEs 1e-3 relative, logLik 1e-2 absolute.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.mixed import fit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mixed"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text())["cases"]
TEXT_COLUMNS = {
    "insteval_dept15.csv": ["s", "d", "service"], "penicillin.csv": ["plate", "sample"],
    "grouseticks.csv": ["INDEX", "BROOD", "YEAR", "LOCATION"], "cbpp.csv": ["herd", "period"],
    "verbagg.csv": ["id", "item", "Gender", "btype", "situ"], "sleepstudy.csv": ["Subject"],
}
# lme4 stops early on VerbAgg (its logLik is 4e-4 below the optimum we reach): there the
# test asks for a logLik at least lme4's and estimates within 5e-3 (the issue's rule).
EARLY_STOP = {"verbagg_crossed": 5e-3}
_FITS: dict = {}


def _list(x):
    return x if isinstance(x, list) else [x]


def _fit(key):
    if key not in _FITS:
        case = REFERENCE[key]
        data = pd.read_csv(FIXTURES / case["file"], dtype={c: str for c in TEXT_COLUMNS[case["file"]]})
        weights = case.get("weights") if isinstance(case.get("weights"), str) else None
        _FITS[key] = fit(case["formula"], data, reml=bool(case.get("reml", False)),
                         family=case.get("family", "gaussian"), weights=weights)
    return _FITS[key]


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-12)


@pytest.mark.parametrize("key", list(REFERENCE))
def test_fixed_effects_match_lme4(key):
    case, m = REFERENCE[key], _fit(key)
    table = m.fixed_table().set_index("term")
    terms = _list(case["fixed"]["term"])
    assert list(table.index) == terms          # names as lme4 prints them
    glmm = case["kind"] == "glmm"
    tol = EARLY_STOP.get(key, 1e-3 if glmm else 1e-4)
    assert _rel(table.loc[terms, "estimate"], _list(case["fixed"]["estimate"])).max() < tol
    assert _rel(table.loc[terms, "se"], _list(case["fixed"]["se"])).max() < tol
    if not glmm:
        assert _rel(table.loc[terms, "df"], _list(case["fixed"]["df"])).max() < 1e-2


@pytest.mark.parametrize("key", list(REFERENCE))
def test_variances_and_loglik_match_lme4(key):
    case, m = REFERENCE[key], _fit(key)
    glmm = case["kind"] == "glmm"
    if key in EARLY_STOP:
        assert m.loglik >= case["loglik"] - 1e-6
    assert abs(m.loglik - case["loglik"]) < (1e-2 if glmm else 1e-3)
    ref = {(g, v): x for g, v, x in zip(_list(case["random"]["grp"]), _list(case["random"]["var1"]),
                                        _list(case["random"]["vcov"]))}
    ours = {(r["group"], r["term"]): r["variance"] for r in m.random}
    if not glmm:
        ours[("Residual", "")] = m.residual_variance
    assert set(ours) == set(ref)
    tol = EARLY_STOP.get(key, 1e-3)
    for k, v in ref.items():
        assert _rel(ours[k], v) < tol, k
    assert m.converged


def test_cbind_and_weighted_binomial_are_the_same_model():
    a, b = _fit("cbpp_cbind"), _fit("cbpp_weighted")
    assert abs(a.loglik - b.loglik) < 1e-8
    np.testing.assert_allclose(a.fixed_table()["estimate"], b.fixed_table()["estimate"], rtol=1e-6)


def test_crossed_ranef_and_predictions_are_consistent():
    m = _fit("insteval_crossed")
    ranef = m.ranef()
    assert set(ranef["group"]) == {"s", "d"}
    assert (ranef.filter(like="sd").to_numpy() > 0).all()
    # fitted = X beta + Z b, and predict() on the same rows reproduces it
    np.testing.assert_allclose(m.predict().to_numpy(), m.fitted.to_numpy(), rtol=1e-10)


def test_poisson_prediction_is_a_rate_and_scale_uses_the_fitted_data():
    m = _fit("grouse_poisson")
    data = pd.read_csv(FIXTURES / "grouseticks.csv", dtype=str).astype({"TICKS": float, "HEIGHT": float})
    sub = data.iloc[:5].copy()
    pred = m.predict(sub).to_numpy()
    np.testing.assert_allclose(pred, m.fitted.to_numpy()[:5], rtol=1e-10)   # scale() kept from the fit
    assert (pred > 0).all()
    row = m.fixed_table().set_index("term").loc["scale(HEIGHT)"]
    assert np.isclose(m.to_dict()["fixed"][3]["rate_ratio"], np.exp(row["estimate"]))
