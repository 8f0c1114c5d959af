"""Factor structure against R: psych (KMO, Bartlett, fa, omega's one-factor solution) and lavaan (CFA, invariance)."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis import factor
from analysis.cli import main as cli_main
from analysis.errors import InputError
from analysis.factor import bartlett, cfa, efa, fa, invariance, kmo, parallel_analysis
from analysis.results import to_jsonable
from tests.conftest import REFERENCE_DIR

HS_MODEL = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


def _cases(reference, kind):
    return {k: c for k, c in reference["cases"].items() if c["kind"] == kind}


def _keyed(data, inputs):
    items = list(inputs["items"])
    x = data[items].copy()
    for item in inputs.get("reverse_keyed", []):
        x[item] = 7 - x[item]
    return x


def _match_columns(reference: np.ndarray, ours: np.ndarray):
    """Column order and signs of ``ours`` that best match ``reference`` (largest absolute congruence)."""
    k = reference.shape[1]
    order, signs, used = [], [], set()
    for j in range(k):
        congruence = [abs(reference[:, j] @ ours[:, i]) / np.linalg.norm(reference[:, j]) / np.linalg.norm(ours[:, i])
                      if i not in used else -1.0 for i in range(k)]
        i = int(np.argmax(congruence))
        used.add(i)
        order.append(i)
        signs.append(np.sign(reference[:, j] @ ours[:, i]))
    return order, np.array(signs)


# ---------------------------------------------------------------- KMO and Bartlett

@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_kmo_bartlett_match_psych(reference, reference_data, missing):
    case = reference["cases"]["bfi_kmo_bartlett_25items"]
    out = case["outputs"][missing]
    data = reference_data("bfi")[case["inputs"]["items"]]
    overall, per_item = kmo(data, missing=missing)
    assert_allclose(overall, out["KMO_overall_MSA"], atol=1e-4)
    expected = pd.Series(out["KMO_item_MSAi"])
    assert_allclose(per_item[expected.index].to_numpy(), expected.to_numpy(), atol=1e-4)
    test = bartlett(data, missing=missing)
    assert test["n"] == out["n"]
    assert test["df"] == out["bartlett_df"]
    assert_allclose(test["chi2"], out["bartlett_chisq"], rtol=1e-6, atol=1e-4)
    assert_allclose(test["p"], out["bartlett_p"], atol=1e-4)


def test_kmo_and_bartlett_accept_a_correlation_matrix(reference_data):
    data = reference_data("bfi")[["A1", "A2", "A3", "A4", "A5"]]
    r = data.corr()
    assert_allclose(kmo(r)[0], kmo(data)[0], atol=1e-12)
    assert_allclose(bartlett(r, n_obs=2800)["chi2"], bartlett(data)["chi2"], rtol=1e-12)


# ---------------------------------------------------------------- EFA

def test_efa_minres_oblimin_matches_psych(reference, reference_data):
    for name, case in _cases(reference, "efa").items():
        inputs, out = case["inputs"], case["outputs"]
        data = reference_data("bfi")[inputs["items"]]
        result = fa(data, n_factors=inputs["nfactors"], fm=inputs["fm"], rotate=inputs["rotate"])
        ref_loadings = pd.DataFrame(out["loadings"]).T.loc[inputs["items"]]
        ours = result.loadings.loc[inputs["items"]].to_numpy()
        order, signs = _match_columns(ref_loadings.to_numpy(), ours)
        assert_allclose(ours[:, order] * signs, ref_loadings.to_numpy(), atol=1e-3, err_msg=name)
        # psych's own order and names (MR2, MR1, ... by variance accounted for) are reproduced too
        assert list(result.loadings.columns) == list(ref_loadings.columns)
        items = inputs["items"]
        assert_allclose(result.communalities[items], pd.Series(out["communalities"])[items], atol=1e-3)
        assert_allclose(result.uniquenesses[items], pd.Series(out["uniquenesses"])[items], atol=1e-3)
        phi_ref = pd.DataFrame(out["Phi"]).loc[ref_loadings.columns, ref_loadings.columns].to_numpy()
        phi = result.factor_correlations.to_numpy()[np.ix_(order, order)] * np.outer(signs, signs)
        assert_allclose(phi, phi_ref, atol=1e-3)
        assert_allclose(result.eigenvalues.to_numpy(), out["eigen_values_R"], atol=1e-8)
        assert_allclose(result.tli, out["TLI"], atol=1e-3)
        assert_allclose(result.rmsea, out["RMSEA"], atol=1e-4)
        assert result.n_obs == out["n_obs"]


@pytest.mark.parametrize("missing", ["pairwise", "listwise"])
def test_one_factor_minres_reproduces_psych_omega(reference, reference_data, missing):
    # reliability.py builds McDonald's omega total on fa(nfactors=1, fm="minres"); 1e-6 on omega.
    for name, case in _cases(reference, "mcdonald_omega").items():
        out = case["outputs"][f"psych_omega_{missing}"]
        x = _keyed(reference_data("bfi"), case["inputs"])
        result = fa(x, n_factors=1, fm="minres", rotate="none", missing=missing)
        assert list(result.loadings.columns) == ["MR1"]
        h2 = (result.loadings ** 2).sum(axis=1)
        omega = 1 - (1 - h2).sum() / result.correlation.to_numpy().sum()
        assert_allclose(omega, out["omega_total"], atol=1e-6, err_msg=name)
        assert_allclose(result.loadings["MR1"], pd.Series(out["loadings_g"])[x.columns], atol=1e-4)
        assert_allclose(result.uniquenesses, pd.Series(out["u2"])[x.columns], atol=1e-4)


def test_efa_ml_rotations_match_psych(reference_data):
    # psych 2.2.9: fa(bfi[, 1:25], 5, fm = "ml", rotate = "varimax" / "oblimin"), rows A1 and N1.
    data = reference_data("bfi").iloc[:, :25]
    varimax = fa(data, 5, fm="ml", rotate="varimax")
    assert list(varimax.loadings.columns)[0].startswith("ML")
    assert_allclose(varimax.loadings.loc["A1"].to_numpy(),
                    [0.113231477033501, 0.0373604285493463, 0.00234970442355009, -0.363635027367063,
                     -0.0578219629701054], atol=1e-3)
    assert_allclose(varimax.loadings.loc["N1"].to_numpy(),
                    [0.800477551643866, 0.0944261766176941, -0.036595687541301, -0.217626288722234,
                     -0.0842497333568442], atol=1e-3)
    assert_allclose(varimax.factor_correlations.to_numpy(), np.eye(5))
    assert_allclose(varimax.tli, 0.872092381527461, atol=1e-4)
    assert_allclose([varimax.rmsea, *varimax.rmsea_ci], [0.0549625539121431, 0.0526367694616909, 0.0573409375817625],
                    atol=1e-4)
    oblimin = fa(data, 5, fm="ml", rotate="oblimin")
    assert_allclose(oblimin.loadings.loc["A1"].to_numpy(),
                    [0.204028227574535, -0.359537523954005, -0.142000459165531, 0.0400182925511619,
                     -0.0365527912354433], atol=1e-3)
    assert_allclose(oblimin.factor_correlations.iloc[0].to_numpy(),
                    [1, -0.0287409062257798, 0.234962443904955, -0.207390264288714, -0.00635149411053933], atol=1e-3)
    # a rotation never changes the common variance: the same communalities as unrotated
    unrotated = fa(data, 5, fm="ml", rotate="none")
    assert_allclose((varimax.loadings ** 2).sum(axis=1), (unrotated.loadings ** 2).sum(axis=1), atol=1e-8)


def test_efa_on_named_items_and_to_dict(reference_data):
    data = reference_data("bfi")
    result = efa(data, ["A1", "A2", "A3", "A4", "A5", "C1", "C2", "C3", "C4", "C5"], 2)
    payload = to_jsonable(result)
    assert set(payload) >= {"loadings", "communalities", "factor_correlations", "eigenvalues", "tli", "rmsea"}
    assert len(payload["loadings"]["A1"]) == 2
    assert json.dumps(payload)


# ---------------------------------------------------------------- parallel analysis

def test_parallel_analysis_is_seeded_and_finds_known_structure():
    rng = np.random.default_rng(7)
    n = 600
    f = rng.standard_normal((n, 2))
    load = np.zeros((8, 2))
    load[:4, 0] = 0.75
    load[4:, 1] = 0.75
    x = pd.DataFrame(f @ load.T + 0.6 * rng.standard_normal((n, 8)), columns=[f"v{i}" for i in range(8)])
    first = parallel_analysis(x, n_iter=30, seed=3)
    again = parallel_analysis(x, n_iter=30, seed=3)
    assert first.n_factors == 2 and first.n_components == 2
    pd.testing.assert_frame_equal(first.eigenvalues, again.eigenvalues)
    assert list(first.eigenvalues.columns) == ["component", "observed_pc", "observed_fa", "simulated_pc_mean",
                                               "simulated_pc_q", "simulated_fa_mean", "simulated_fa_q"]
    assert (first.eigenvalues["simulated_pc_q"] >= first.eigenvalues["simulated_pc_mean"]).all()


def test_parallel_analysis_bfi_agrees_with_psych(reference_data):
    # psych::fa.parallel(bfi[, 1:25]) suggests 6 factors and 6 components; observed fa eigenvalues
    # are psych's fa(r, 1)$values.
    data = reference_data("bfi").iloc[:, :25]
    result = parallel_analysis(data, seed=1)
    assert (result.n_factors, result.n_components) == (6, 6)
    assert_allclose(result.eigenvalues["observed_pc"].iloc[:3],
                    [5.036902542695963, 2.744085480440451, 2.107632194667137], atol=1e-8)



def test_simulated_correlations_have_the_distribution_of_simulated_rows():
    """Parallel analysis draws each simulated correlation matrix through its Wishart distribution
    (Bartlett decomposition); its eigenvalues must be distributed as those of cor() of normal rows,
    psych::fa.parallel's own simulation (two-sample Kolmogorov-Smirnov on 20,000 draws each)."""
    from scipy import stats

    from analysis.factor.parallel import _simulated_correlation

    rng = np.random.default_rng(2)
    n, p = 30, 6
    direct = [np.linalg.eigvalsh(_simulated_correlation(rng, n, p)) for _ in range(20_000)]
    rows = [np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False)) for _ in range(20_000)]
    for k in (-1, -2, 0):  # largest, second largest, smallest eigenvalue
        assert stats.ks_2samp([e[k] for e in direct], [e[k] for e in rows]).pvalue > 0.001, k
    assert np.allclose(np.diag(_simulated_correlation(rng, n, p)), 1.0)

# ---------------------------------------------------------------- CFA

def test_cfa_one_factor_matches_lavaan(reference, reference_data):
    cases = _cases(reference, "cfa_one_factor")
    assert cases
    for name, case in cases.items():
        out = case["outputs"]
        fit = out["fit_measures"]
        x = _keyed(reference_data("bfi"), case["inputs"])
        result = cfa(x, {"F": list(x.columns)}, missing="listwise", std_lv=True)
        assert result.n == out["n_used"] and result.df == fit["df"] and result.npar == fit["npar"]
        assert_allclose([result.chi2, result.cfi, result.tli, result.rmsea, *result.rmsea_ci, result.srmr],
                        [fit["chisq"], fit["cfi"], fit["tli"], fit["rmsea"], fit["rmsea.ci.lower"],
                         fit["rmsea.ci.upper"], fit["srmr"]], atol=1e-3, err_msg=name)
        assert_allclose(result.chi2, fit["chisq"], rtol=1e-6)
        assert_allclose(result.loglik, fit["logl"], atol=1e-3)
        assert_allclose(result.aic, fit["aic"], atol=1e-3)
        table = result.loadings.set_index("item")
        items = list(x.columns)
        assert_allclose(table.loc[items, "loading"], pd.Series(out["loadings_std_all"])[items], atol=1e-3)
        assert_allclose(table.loc[items, "estimate"], pd.Series(out["loadings_unstd"])[items], atol=1e-3)
        assert_allclose(table.loc[items, "se"], pd.Series(out["loadings_unstd_se"])[items], atol=1e-4)
        assert_allclose(table.loc[items, "residual_variance"], pd.Series(out["residual_var_unstd"])[items], atol=1e-3)
        assert result.warnings == [] and result.converged


def test_cfa_multifactor_holzinger_swineford(reference_data):
    # lavaan 0.6-14: cfa(HS.model, HolzingerSwineford1939, std.lv = TRUE), the textbook example.
    result = cfa(reference_data("HS1939"), HS_MODEL)
    assert result.df == 24
    assert_allclose([result.chi2, result.cfi, result.tli, result.rmsea, result.srmr],
                    [85.305521772505, 0.930559651796468, 0.895839477694702, 0.0921214845120712, 0.0652050975523898],
                    atol=1e-3)
    assert_allclose(result.factor_correlations.loc["visual", "textual"], 0.4585, atol=1e-3)
    # marker identification gives the same fit
    marker = cfa(reference_data("HS1939"), HS_MODEL, std_lv=False)
    assert_allclose(marker.chi2, result.chi2, rtol=1e-8)
    assert_allclose(marker.loadings["loading"], result.loadings["loading"], atol=1e-6)


def test_cfa_invariance_matches_lavaan(reference, reference_data):
    setups = {
        "hs1939_invariance_school": (reference_data("HS1939"), HS_MODEL, "school"),
        "bfi_invariance_Agreeableness_gender": (reference_data("bfi").assign(A1=lambda d: 7 - d.A1),
                                                {"A": ["A1", "A2", "A3", "A4", "A5"]}, "gender"),
    }
    cases = _cases(reference, "cfa_invariance")
    assert set(cases) == set(setups)
    for name, case in cases.items():
        data, model, group = setups[name]
        result = invariance(data, model, group)
        out = case["outputs"]
        assert sorted(result.n_by_group.values()) == sorted(out["configural"]["n_by_group"].values())
        assert list(result.n_by_group.values()) == list(out["configural"]["n_by_group"].values())
        for step in ("configural", "metric", "scalar"):
            fit = out[step]["fit_measures"]
            ours = result.step(step)
            assert ours["df"] == fit["df"]
            ours_keys = ("chi2", "cfi", "tli", "rmsea", "rmsea_lower", "rmsea_upper", "srmr", "aic", "bic")
            r_keys = ("chisq", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr", "aic", "bic")
            assert_allclose([ours[k] for k in ours_keys], [fit[k] for k in r_keys],
                            atol=1e-3, err_msg=f"{name} {step}")
            if "lrt_vs_previous" in out[step]:
                lrt = out[step]["lrt_vs_previous"]
                assert_allclose([ours["chi2_diff"], ours["df_diff"], ours["p_diff"], ours["delta_cfi"]],
                                [lrt["chisq_diff"], lrt["df_diff"], lrt["p"], lrt["delta_cfi"]], atol=1e-3)
        payload = to_jsonable(result)
        assert payload["metric"]["df_diff"] == out["metric"]["lrt_vs_previous"]["df_diff"]


# ---------------------------------------------------------------- bad input

def test_cfa_with_two_items_explains_degrees_of_freedom(reference_data):
    with pytest.raises(InputError, match="at least 3 items"):
        cfa(reference_data("bfi"), {"F": ["A1", "A2"]})


def test_three_items_are_just_identified_with_a_warning(reference_data):
    result = cfa(reference_data("bfi"), {"F": ["A2", "A3", "A5"]})
    assert result.df == 0 and result.cfi is None
    assert any("0 degrees of freedom" in w for w in result.warnings)


def test_heywood_case_is_reported_in_plain_language():
    target = np.array([[1, .8, .8], [.8, 1, .4], [.8, .4, 1]])
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 3))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, bias=True))).T
    x = pd.DataFrame(z @ np.linalg.cholesky(target).T, columns=["a", "b", "c"])
    result = cfa(x, {"F": ["a", "b", "c"]})
    assert any("Heywood" in w and "'a'" in w for w in result.warnings)
    assert result.loadings.set_index("item").loc["a", "residual_variance"] < 0


def test_constant_and_text_items_are_rejected(reference_data):
    data = reference_data("bfi")[["A1", "A2", "A3", "A4"]].dropna().copy()
    data["const"] = 3
    with pytest.raises(InputError) as err:
        kmo(data)
    assert err.value.column == "const"
    data = data.drop(columns="const").astype(object)
    data.iloc[4, 1] = "agree"
    with pytest.raises(InputError) as err:
        fa(data, 1)
    assert err.value.column == "A2" and err.value.row == 5


def test_singular_correlation_matrix_is_explained(reference_data):
    data = reference_data("bfi")[["A1", "A2", "A3"]].dropna().copy()
    data["total"] = data.sum(axis=1)
    with pytest.raises(InputError, match="singular"):
        kmo(data)
    with pytest.raises(InputError, match="singular"):
        bartlett(data)
    with pytest.raises(InputError, match="singular"):
        cfa(data, {"F": list(data.columns)})


def test_small_groups_are_rejected(reference_data):
    data = reference_data("HS1939")
    data.loc[0, "school"] = "Tiny"
    with pytest.raises(InputError, match="Tiny") as err:
        invariance(data, HS_MODEL, "school")
    assert err.value.column == "school"
    one_group = reference_data("HS1939").assign(school="all")
    with pytest.raises(InputError, match="two groups"):
        invariance(one_group, HS_MODEL, "school")


def test_efa_rejects_too_many_factors_and_unknown_options(reference_data):
    data = reference_data("bfi")[["A1", "A2", "A3"]]
    with pytest.raises(InputError, match="fewer factors"):
        fa(data, 3)
    with pytest.raises(InputError, match="rotation"):
        fa(data, 1, rotate="promax")
    with pytest.raises(InputError, match="method"):
        fa(data, 1, fm="pa")


# ---------------------------------------------------------------- command

def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli_main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_command_reports_screening_cfa_efa_and_invariance(reference):
    case = reference["cases"]["bfi_cfa_Agreeableness"]
    code, out, err = _run(["factor", str(REFERENCE_DIR / "data" / "bfi.csv"), "--items", "A1", "A2", "A3", "A4", "A5",
                           "--reverse", "A1", "--scale-min", "1", "--scale-max", "6", "--group", "gender",
                           "--efa-factors", "2", "--json"])
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n"] == 2800
    assert set(payload["kmo_items"]) == {"A1", "A2", "A3", "A4", "A5"}
    assert set(payload["bartlett"]) == {"chi2", "df", "p"} and payload["bartlett"]["df"] == 10
    assert isinstance(payload["n_factors_parallel"], int)
    fit = case["outputs"]["fit_measures"]
    cfa_out = payload["cfa"]
    assert_allclose([cfa_out["chi2"], cfa_out["cfi"], cfa_out["srmr"], *cfa_out["rmsea_ci"]],
                    [fit["chisq"], fit["cfi"], fit["srmr"], fit["rmsea.ci.lower"], fit["rmsea.ci.upper"]], atol=1e-3)
    std = case["outputs"]["loadings_std_all"]
    assert_allclose([payload["cfa"]["loadings"][k] for k in std], list(std.values()), atol=1e-3)
    metric = reference["cases"]["bfi_invariance_Agreeableness_gender"]["outputs"]["metric"]
    assert_allclose(payload["invariance"]["metric"]["chi2_diff"], metric["lrt_vs_previous"]["chisq_diff"], atol=1e-3)
    assert set(payload["invariance"]) >= {"configural", "metric", "scalar"}
    assert len(payload["efa"]["loadings"]["A1"]) == 2 and len(payload["efa"]["factor_correlations"]) == 2
    # seeded parallel analysis: the same JSON twice
    assert _run(["factor", str(REFERENCE_DIR / "data" / "bfi.csv"), "--items", "A1", "A2", "A3", "A4", "A5",
                 "--reverse", "A1", "--scale-min", "1", "--scale-max", "6", "--group", "gender",
                 "--efa-factors", "2", "--json"])[1] == out


def test_command_multifactor_model(reference):
    code, out, err = _run(["factor", str(REFERENCE_DIR / "data" / "HS1939.csv"),
                           "--model", "visual=x1,x2,x3;textual=x4,x5,x6;speed=x7,x8,x9", "--group", "school"])
    assert code == 0, err
    payload = json.loads(out)
    scalar = reference["cases"]["hs1939_invariance_school"]["outputs"]["scalar"]
    assert payload["invariance"]["scalar"]["df"] == scalar["fit_measures"]["df"]
    assert_allclose(payload["invariance"]["scalar"]["chi2"], scalar["fit_measures"]["chisq"], atol=1e-3)
    assert_allclose(payload["cfa"]["chi2"], 85.30552, atol=1e-3)


@pytest.mark.parametrize("argv, fragment", [
    (["--items", "A1", "A2"], "at least 3 items"),
    (["--items", "A1", "A2", "nope"], "nope"),
    (["--model", "F A1 A2 A3"], "F1=a,b,c"),
    (["--items", "A1", "A2", "A3", "--group", "nowhere"], "nowhere"),
])
def test_command_bad_input_exits_2_with_one_line(argv, fragment):
    code, out, err = _run(["factor", str(REFERENCE_DIR / "data" / "bfi.csv"), *argv])
    assert code == 2 and out == ""
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_module_exports_the_architecture_names():
    for name in ("kmo", "bartlett", "parallel_analysis", "efa", "fa", "cfa", "invariance"):
        assert callable(getattr(factor, name))


def test_single_item_factor_is_not_identified(reference_data):
    with pytest.raises(InputError, match="single item"):
        cfa(reference_data("HS1939"), {"visual": ["x1", "x2", "x3"], "textual": ["x4"]})


# ---------------------------------------------------------------- readings carried by the results

def test_kaiser_labels_at_the_cut_points():
    from analysis.factor import kaiser_label

    assert [kaiser_label(v) for v in (0.95, 0.9, 0.85, 0.75, 0.65, 0.55, 0.5, 0.49, float("nan"))] == [
        "marvelous", "marvelous", "meritorious", "middling", "mediocre", "miserable", "miserable",
        "unacceptable", "undefined"]


def test_sampling_adequacy_reads_kmo_and_bartlett(reference_data):
    from analysis.factor import sampling_adequacy

    data = reference_data("bfi")[["A1", "A2", "A3", "A4", "A5"]]
    result = sampling_adequacy(data)
    overall, per_item = kmo(data)  # still unpacks as the tuple it always was
    assert result.kmo == overall and result.kmo_items.equals(per_item)
    assert kmo(data).label == result.kaiser_label == factor.kaiser_label(overall)
    assert result.bartlett == bartlett(data) and result.correlated
    text = result.reading()
    assert f"which Kaiser (1974) calls '{result.kaiser_label}'" in text
    assert "says the items are correlated enough to factor." in text
    assert result.to_dict()["kmo_label"] == result.kaiser_label


def test_cfa_verdict_against_hu_bentler(reference_data):
    data = reference_data("bfi").dropna(subset=["A1", "A2", "A3", "A4", "A5"])
    result = cfa(data, {"A": ["A2", "A3", "A4", "A5"]})
    met = result.cutoffs_met()
    assert met == {"cfi": result.cfi >= 0.95, "tli": result.tli >= 0.95, "rmsea": result.rmsea <= 0.06,
                   "srmr": result.srmr <= 0.08}
    n_met = sum(met.values())
    assert (("all four meet" if n_met == 4 else f"{n_met} of 4 meet") + " Hu & Bentler's (1999)") in result.verdict()
    assert result.verdict() in result.reading() and result.to_dict()["cutoffs_met"] == met
    just_identified = cfa(data, {"A": ["A2", "A3", "A4"]})
    assert just_identified.df == 0 and just_identified.cutoffs_met() is None
    assert "fit cannot be judged" in just_identified.verdict()


def test_invariance_holds_by_the_delta_cfi_rule(reference_data):
    data = reference_data("bfi").assign(A1=lambda d: 7 - d.A1)
    result = invariance(data, {"A": ["A1", "A2", "A3", "A4", "A5"]}, "gender")
    for step in ("metric", "scalar"):
        d_cfi = result.step(step)["delta_cfi"]
        assert result.holds(step) is bool(d_cfi >= -0.01)
        assert f"{step}: chi2 difference(" in result.reading()
    assert ", ".join(f"{g} n = {n}" for g, n in result.n_by_group.items()) in result.reading()


def test_box_newton_reaches_the_l_bfgs_b_optimum_of_the_uniquenesses(monkeypatch):
    """The uniquenesses by projected Newton steps (``extraction._box_newton``) are the optimum
    scipy's L-BFGS-B (psych's optimiser) finds, minres and ML, also with a near-Heywood item."""
    from scipy import optimize

    from analysis.factor import extraction

    calls: list = []
    newton = extraction._box_newton
    monkeypatch.setattr(extraction, "_box_newton", lambda *a, **kw: calls.append(a) or newton(*a, **kw))
    rng = np.random.default_rng(5)
    for k in range(12):
        p, nf = 6 + k % 5, 1 + k % 2
        x = rng.normal(size=(400, nf)) @ rng.normal(0, 0.7, (p, nf)).T + rng.normal(size=(400, p))
        if k % 3 == 0:
            x[:, 0] = x[:, 1] + rng.normal(size=400) * 0.05  # near-Heywood: a bound is reached
        r = np.corrcoef(x, rowvar=False)
        for fm in ("minres", "ml"):
            psi, converged = extraction._fit_uniquenesses(r, nf, fm)
            objective, start, lower, upper = calls[-1]
            ref = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                                    options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20})
            assert converged
            assert objective(psi)[0] <= ref.fun + 1e-10
            assert_allclose(psi, ref.x, atol=1e-5)
