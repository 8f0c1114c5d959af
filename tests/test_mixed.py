"""Mixed models against lme4 / lmerTest / performance reference values (shared/reference)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.errors import InputError
from analysis.mixed import center, compare, fit, group_mean, null_model

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _cases(kind):
    path = ROOT.parent / "shared" / "reference" / "reference.json"
    cases = json.loads(path.read_text())["cases"]
    return [k for k, c in cases.items() if c["kind"] == kind]


def _load(reference_data, dataset):
    name = dataset.split("/")[-1].removesuffix(".csv")
    data = reference_data(name)
    if name == "sleepstudy":
        data["Subject"] = data["Subject"].astype(str)
    return data


_FITS: dict = {}


def _fit_case(reference, reference_data, key):
    if key not in _FITS:
        inputs = reference["cases"][key]["inputs"]
        data = _load(reference_data, inputs["dataset"])
        if reference["cases"][key]["kind"] == "glmm_binomial":
            _FITS[key] = fit(inputs["formula"], data, family="binomial")
        else:
            _FITS[key] = fit(inputs["formula"], data, reml=inputs["REML"])
    return _FITS[key]


@pytest.mark.parametrize("key", _cases("lmm"))
def test_lmm_matches_lmertest(reference, reference_data, key):
    out = reference["cases"][key]["outputs"]
    res = _fit_case(reference, reference_data, key)
    assert res.n_obs == out["n_obs"]
    assert res.groups == out["n_groups"]
    terms = [r["term"] for r in res.fixed]
    assert terms == list(out["fixed"])
    ref_fixed = out["fixed"]
    assert_allclose([r["estimate"] for r in res.fixed], [ref_fixed[t]["estimate"] for t in terms], rtol=1e-4)
    assert_allclose([r["se"] for r in res.fixed], [ref_fixed[t]["se"] for t in terms], rtol=1e-4)
    assert_allclose([r["t"] for r in res.fixed], [ref_fixed[t]["t"] for t in terms], rtol=1e-4)
    assert_allclose([r["df"] for r in res.fixed], [ref_fixed[t]["df_satterthwaite"] for t in terms], rtol=1e-2)
    p_ref = np.array([ref_fixed[t]["p_satterthwaite"] for t in terms])
    p_ours = np.array([r["p"] for r in res.fixed])
    assert_allclose(np.log(np.maximum(p_ours, 1e-300)), np.log(np.maximum(p_ref, 1e-300)), rtol=2e-2)
    # variance components, in VarCorr order and naming
    ref_vc = out["varcorr_table"]
    ours = {(r["group"], r["term"]): r["variance"] for r in res.random}
    for row in ref_vc:
        if row["grp"] == "Residual":
            assert_allclose(res.residual_variance, row["vcov"], rtol=1e-3)
        elif row["var2"] is None:
            assert_allclose(ours[(row["grp"], row["var1"])], row["vcov"], rtol=1e-3)
        else:
            corr = {(c["group"], c["term1"], c["term2"]): c["corr"] for c in res.random_corr}
            assert_allclose(corr[(row["grp"], row["var1"], row["var2"])], row["sdcor"], rtol=1e-3, atol=1e-4)
    assert [r["group"] for r in res.random] == [r["grp"] for r in ref_vc if r["grp"] != "Residual" and r["var2"] is None]
    assert_allclose(res.loglik, out["logLik"], atol=1e-3)
    assert_allclose(res.aic, out["AIC"], atol=2e-3)
    assert_allclose(res.bic, out["BIC"], atol=2e-3)
    assert res.npar == out["npar"]
    assert_allclose(res.icc, out["performance_icc"]["ICC_adjusted"], atol=1e-3)
    assert_allclose(res.icc_unadjusted, out["performance_icc"]["ICC_unadjusted"], atol=1e-3)
    assert_allclose(res.r2_marginal, out["r2_nakagawa"]["marginal"], atol=1e-3)
    assert_allclose(res.r2_conditional, out["r2_nakagawa"]["conditional"], atol=1e-3)
    assert res.singular == out["convergence"]["is_singular"]
    vc = res.vcov.loc[terms, terms].to_numpy()
    ref_v = np.array([[out["vcov_fixed"][a][b] for b in terms] for a in terms])
    assert_allclose(vc, ref_v, rtol=2e-4, atol=1e-12 * np.abs(ref_v).max())


@pytest.mark.parametrize("key", _cases("lmm"))
def test_conditional_modes_match_ranef(reference, reference_data, key):
    out = reference["cases"][key]["outputs"]
    res = _fit_case(reference, reference_data, key)
    modes = res.ranef()
    for row in out["ranef_conditional_modes"][:10]:
        for term, value in row.items():
            if term == "group":
                continue
            hit = modes[(modes["level"] == row["group"]) & (modes["term"] == term)
                        & (modes["group"] == modes["group"].iloc[0] if key != "sleepstudy_uncorr_reml" else True)]
            assert len(hit) >= 1
            scale = max(abs(v) for r in out["ranef_conditional_modes"] for k, v in r.items() if k == term)
            assert_allclose(hit["estimate"].iloc[0], value, atol=2e-3 * scale)
    assert (modes["cond_sd"] > 0).all()


@pytest.mark.parametrize("key", _cases("glmm_binomial"))
def test_glmm_matches_glmer(reference, reference_data, key):
    out = reference["cases"][key]["outputs"]
    res = _fit_case(reference, reference_data, key)
    terms = [r["term"] for r in res.fixed]
    assert terms == list(out["fixed"])
    rf = out["fixed"]
    assert_allclose([r["estimate"] for r in res.fixed], [rf[t]["estimate"] for t in terms], rtol=1e-3)
    assert_allclose([r["se"] for r in res.fixed], [rf[t]["se"] for t in terms], rtol=1e-3)
    assert_allclose([r["z"] for r in res.fixed], [rf[t]["z"] for t in terms], rtol=2e-3)
    assert_allclose([r["odds_ratio"] for r in res.fixed], [rf[t]["odds_ratio"] for t in terms], rtol=1e-3)
    assert all(r["df"] is None for r in res.fixed)
    assert_allclose(res.loglik, out["logLik"], atol=1e-2)
    assert_allclose(res.aic, out["AIC"], atol=2e-2)
    assert_allclose(res.bic, out["BIC"], atol=2e-2)
    assert_allclose(res.deviance, out["deviance"], atol=2e-2)
    group = next(iter(out["random_effects"]))
    assert_allclose(res.random[0]["variance"], out["random_effects"][group]["covariance"]["(Intercept)"]["(Intercept)"],
                    rtol=1e-3)
    assert_allclose(res.icc, out["performance_icc"]["ICC_adjusted"], atol=1e-3)
    assert_allclose(res.r2_marginal, out["r2_nakagawa"]["marginal"], atol=1e-3)
    assert_allclose(res.r2_conditional, out["r2_nakagawa"]["conditional"], atol=1e-3)


@pytest.mark.parametrize("key", _cases("lmm_lrt"))
def test_lrt_matches_anova(reference, reference_data, key):
    case = reference["cases"][key]
    m0 = _fit_case(reference, reference_data, case["inputs"]["model_0"])
    m1 = _fit_case(reference, reference_data, case["inputs"]["model_1"])
    for refit, part in ((False, "reml_no_refit"), (True, "ml_refit")):
        table = compare([m0, m1], refit=refit)
        ref = case["outputs"][part]
        for ours, theirs in zip(table.to_dict("records"), ref["table"]):
            assert ours["npar"] == theirs["npar"]
            assert_allclose(ours["logLik"], theirs["logLik"], atol=1e-3)
            assert_allclose(ours["AIC"], theirs["AIC"], atol=2e-3)
            assert_allclose(ours["BIC"], theirs["BIC"], atol=2e-3)
        assert_allclose(table["chisq"].iloc[1], ref["chisq"], atol=2e-3)
        assert table["df"].iloc[1] == ref["df"]
        assert_allclose(table["p"].iloc[1], ref["p"], rtol=5e-3)
        assert_allclose(table["p_boundary"].iloc[1], ref["p_chibar_mixture"], rtol=5e-3)
        assert table.attrs["messages"] == ref["messages"]


def test_nested_groups_named_as_lme4(reference_data):
    res = fit("strength ~ 1 + (1 | batch/cask)", reference_data("Pastes"))
    assert res.groups == {"cask:batch": 30, "batch": 10}
    assert "a:A" in set(res.ranef()["level"])


def test_general_path_equals_blocked_path(reference_data):
    """One factor written twice as crossed terms goes through the sparse engine."""
    data = reference_data("sleepstudy")
    data["Subject"] = data["Subject"].astype(str)
    a = fit("Reaction ~ Days + (Days || Subject)", data)
    assert a.random[0]["group"] == "Subject" and a.random[1]["group"] == "Subject.1"
    b = fit("Reaction ~ Days + (Days | Subject)", data)
    assert a.loglik < b.loglik + 1  # comparable fits on the same data


def test_categorical_coding_and_reference_levels(reference_data):
    data = reference_data("Contraception")
    res = fit("use01 ~ age + livch + urban + (1 | district)", data, family="binomial")
    assert [r["term"] for r in res.fixed] == ["(Intercept)", "age", "livch1", "livch2", "livch3+", "urbanY"]
    res2 = fit("use01 ~ urban + (1 | district)", data, family="binomial", reference_levels={"urban": "Y"})
    assert [r["term"] for r in res2.fixed] == ["(Intercept)", "urbanN"]
    lin = fit("age ~ urban * livch + (1 | district)", data)
    names = [r["term"] for r in lin.fixed]
    assert names[-3:] == ["urbanY:livch1", "urbanY:livch2", "urbanY:livch3+"]


def test_na_rows_dropped_and_reported(reference_data):
    data = reference_data("sleepstudy")
    data.loc[[0, 5], "Reaction"] = np.nan
    res = fit("Reaction ~ Days + (1 | Subject)", data)
    assert res.n_obs == 178 and res.n_dropped == 2
    assert any("missing" in m for m in res.messages)
    assert len(res.fitted) == 178


def test_predict_fitted_and_new_levels(reference_data):
    data = reference_data("sleepstudy")
    res = fit("Reaction ~ Days + (Days | Subject)", data)
    assert_allclose(res.predict(data).to_numpy(), res.fitted.to_numpy(), rtol=1e-10)
    new = pd.DataFrame({"Days": [0, 9], "Subject": ["999", "999"]})
    b = res.fixed_effects
    assert_allclose(res.predict(new).to_numpy(), [b["(Intercept)"], b["(Intercept)"] + 9 * b["Days"]])
    assert_allclose(res.residuals + res.fitted, data["Reaction"])


def test_null_model_icc_and_design_effect(reference, reference_data):
    data = reference_data("bh1996")
    res = null_model(data, "WBEING", "GRP")
    icc = reference["cases"]["bh1996_null_reml"]["outputs"]["performance_icc"]["ICC_adjusted"]
    assert_allclose(res.icc, icc, atol=1e-3)
    m = len(data) / data["GRP"].nunique()
    assert_allclose(res.design_effect, 1 + (m - 1) * res.icc)


def test_singular_fit_is_reported():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(30), 10)
    data = pd.DataFrame({"g": g, "x": rng.normal(size=300)})
    data["y"] = 1 + 0.5 * data["x"] + rng.normal(size=300)  # no group variance
    res = fit("y ~ x + (1 + x | g)", data)
    assert res.singular
    assert "a variance is estimated at zero; simplify the random part, e.g. drop the random slope" in res.messages


def test_simulated_random_slope_recovers_truth():
    rng = np.random.default_rng(7)
    G, m = 400, 25
    g = np.repeat(np.arange(G), m)
    x = rng.normal(size=G * m)
    u0 = rng.normal(scale=0.8, size=G)
    u1 = rng.normal(scale=0.3, size=G)
    y = 2 + 0.5 * x + u0[g] + u1[g] * x + rng.normal(size=G * m)
    res = fit("y ~ x + (1 + x | g)", pd.DataFrame({"y": y, "x": x, "g": g}))
    est = res.fixed_effects
    se = {r["term"]: r["se"] for r in res.fixed}
    assert abs(est["x"] - 0.5) < 4 * se["x"]
    var = {r["term"]: r["variance"] for r in res.random}
    assert abs(var["(Intercept)"] - 0.64) < 0.15 and abs(var["x"] - 0.09) < 0.04
    assert res.converged


def test_centering_helpers():
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0, np.nan], "g": ["a", "a", "b", "b", "b"]})
    assert_allclose(center(data, "x").to_numpy()[:4], [-3, -2, -1, 6])
    assert_allclose(group_mean(data, "x", "g").to_numpy(), [1.5, 1.5, 6.5, 6.5, 6.5])
    assert_allclose(center(data, "x", group="g").to_numpy()[:4], [-0.5, 0.5, -3.5, 3.5])


@pytest.mark.parametrize("formula, fragment", [
    ("Reaction ~ Days + (Days | Subject", "')' expected"),
    ("Reaction ~ Days +", "ends too early"),
    ("Reaction ~ Dayz + (1 | Subjekt)", "unknown column(s) in the formula: Dayz, Subjekt"),
    ("Reaction ~ Days", "no random part"),
    ("Reaction ~ log(Days) + (1 | Subject)", "log(Days) is undefined for the value 0"),
    ("Reaction ~ logit(Days) + (1 | Subject)", "'logit()' is not offered"),
    ("Reaction Days", "exactly one '~'"),
])
def test_bad_formulas(reference_data, formula, fragment):
    with pytest.raises(InputError, match=None) as err:
        fit(formula, reference_data("sleepstudy"))
    assert fragment in str(err.value)


def test_bad_inputs():
    data = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "x": [1.0, 2, 1, 2, 1, 2], "g": ["a"] * 6,
                         "h": ["a", "a", "b", "b", "c", "c"], "t": list("uvwxyz"),
                         "c": [1.0, 1, 2, 2, 3, 3]})
    with pytest.raises(InputError, match="only one group"):
        fit("y ~ x + (1 | g)", data)
    with pytest.raises(InputError, match="must be numeric"):
        fit("t ~ x + (1 | h)", data)
    with pytest.raises(InputError, match="coded 0/1"):
        fit("y ~ x + (1 | h)", data, family="binomial")
    with pytest.raises(InputError, match="constant within every"):
        fit("y ~ c + (1 + c | h)", data)


def test_perfect_separation_is_an_input_error():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(20), 10)
    x = rng.normal(size=200)
    data = pd.DataFrame({"y": (x > 0).astype(int), "x": x, "g": g})
    with pytest.raises(InputError, match="separation"):
        fit("y ~ x + (1 | g)", data, family="binomial")


def test_command_prints_contract_json(tmp_path):
    csv = ROOT.parent / "shared" / "reference" / "data" / "sleepstudy.csv"
    proc = subprocess.run([sys.executable, "-m", "analysis", "mixed", str(csv), "--formula",
                           "Reaction ~ Days + (Days | Subject)", "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ["n_obs", "groups", "method", "converged", "singular", "fixed", "random", "random_corr",
                "residual_variance", "loglik", "deviance", "aic", "bic", "icc", "r2_marginal", "r2_conditional"]:
        assert key in out
    assert set(out["fixed"][0]) >= {"term", "estimate", "se", "df", "t", "p", "ci"}
    bad = subprocess.run([sys.executable, "-m", "analysis", "mixed", str(csv), "--formula", "Reaction ~ (1 |"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
