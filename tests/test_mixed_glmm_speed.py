"""The Laplace GLMM fit's cost and its agreement with the slower fit it replaced and with glmer.

``analysis.mixed.glmm`` minimises the Laplace deviance with its analytic gradient (one
grouping factor, crossed and nested random intercepts), warm-started PIRLS and fixed effects
preconditioned by the GLM information, and takes lme4's ``deriv12`` Hessian in one batched
call.  These tests pin that: the number of PIRLS runs (counted, not timed), the gradient
against central differences, the batched lme4-style deviance against the point-by-point
recursion, the optimum against the previous implementation (central-difference L-BFGS-B
plus a Newton polish, at commit fb2f965) within 1e-6, and the drivers screen's model against
``lme4::glmer`` on the bundled citizen sample.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.mixed.glmm as glmm
import analysis.mixed.optimize as optimize
from analysis.mixed import fit
from analysis.mixed.families import make_family
from analysis.mixed.frame import model_frame
from analysis.mixed.lmm import theta_start

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "mixed"
TEXT_COLUMNS = {"grouseticks.csv": ["INDEX", "BROOD", "YEAR", "LOCATION"], "cbpp.csv": ["herd", "period"],
                "verbagg.csv": ["id", "item", "Gender", "btype", "situ"]}

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
GROUSE = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)"
VERBAGG = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"

# The previous implementation's optimum (commit fb2f965: central-difference L-BFGS-B, then a
# Newton polish with a numerical Hessian for one grouping factor): fixed effects, theta, logLik.
PREVIOUS = {
    "cbpp": ([-1.398532142254671, -0.9923327351211159, -1.1286720845680664, -1.5803138857590464],
             [0.6422614487033678], -92.02628186475707),
    "grouse": ([0.4668647817331976, 1.1655785826040945, -0.9779274173746572, -0.8466341716234187],
               [0.7696526356547551, 0.5741426960903894], -987.9381538436339),
    "verbagg": ([0.19905906833617595, 0.057429584547380876, 0.32071042170792774, -1.0588002635367302,
                 -2.1054028202239508, -1.0554644760910183], [1.3397088865717641, 0.4953039677351425],
                -4075.699859871005),
    "participation": ([1.154978305195173, -0.114601670884862, -0.40500221340313813, -0.23184104257063617,
                       -0.31263006960136264, 0.18003610429541006, 0.07279340389127283, 0.017827514502697255,
                       0.47532336215752174], [0.600906736766449], -2037.806237027569),
}


def _fixture(file: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / file, dtype={c: str for c in TEXT_COLUMNS[file]})


@pytest.fixture(scope="module")
def participation():
    """The drivers screen's multilevel logistic model on the bundled citizen sample."""
    from analysis import topics
    from analysis.instruments import load_instrument
    from analysis.pipeline import prepare
    instrument = load_instrument("citizen")
    citizens = prepare(ROOT / "sample_data" / "citizens.csv", instrument).data
    return topics.digital_participation_model(citizens, instrument)


def _slopes() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(40), 25)
    x = rng.normal(size=len(g))
    b0, b1 = rng.normal(0, 0.5, 40), rng.normal(0, 0.3, 40)
    return pd.DataFrame({"g": [f"g{i}" for i in g], "x": x,
                         "k": rng.poisson(np.exp(0.3 + 0.4 * x + b0[g] + b1[g] * x))})


class _Counter:
    """Counts PIRLS runs (each a Laplace-deviance evaluation) and batched Hessian calls."""

    def __init__(self, monkeypatch):
        self.pirls = self.batches = self.points = 0
        blocked, general, batch = glmm.Laplace._blocked_modes, glmm.Laplace.pirls, glmm.Laplace.lme4_deviances

        def count_blocked(model, *args, **kwargs):
            self.pirls += 1
            return blocked(model, *args, **kwargs)

        def count_general(model, theta, beta, u0=None):
            if model.single is None or u0 is not None:   # the blocked path counts itself
                self.pirls += 1
            return general(model, theta, beta, u0)

        def count_batch(model, points, *args, **kwargs):
            self.batches += 1
            self.points += len(points)
            return batch(model, points, *args, **kwargs)

        monkeypatch.setattr(glmm.Laplace, "_blocked_modes", count_blocked)
        monkeypatch.setattr(glmm.Laplace, "pirls", count_general)
        monkeypatch.setattr(glmm.Laplace, "lme4_deviances", count_batch)


def test_one_factor_fit_needs_few_deviance_evaluations(monkeypatch):
    """cbpp (5 parameters): the previous fit ran PIRLS 289 times plus 51 times for the
    Hessian; now about 17 runs, and deriv12's 2k^2 + 1 = 51 points go in one batched call."""
    counter = _Counter(monkeypatch)
    m = fit(CBPP, _fixture("cbpp.csv"), family="binomial")
    assert m.converged
    assert counter.pirls <= 40
    assert (counter.batches, counter.points) == (1, 51)


def test_drivers_model_needs_few_deviance_evaluations(monkeypatch, participation):
    """The drivers screen's model (10 parameters): 968 PIRLS runs + 201 before, now ~19 + one batch."""
    counter = _Counter(monkeypatch)
    m = fit(participation.formula, participation.data, family=participation.family)
    assert m.converged
    assert counter.pirls <= 50
    assert (counter.batches, counter.points) == (1, 201)


def test_crossed_fit_needs_few_deviance_evaluations(monkeypatch):
    """Two crossed intercepts (6 parameters): 335 PIRLS runs before, now ~37 (the Hessian
    from 2k differences of the analytic gradient instead of deriv12's 2k^2 + 1 deviances)."""
    counter = _Counter(monkeypatch)
    m = fit(GROUSE, _fixture("grouseticks.csv"), family="poisson")
    assert m.converged
    assert counter.pirls <= 80
    assert counter.batches == 0


@pytest.mark.parametrize("key, formula, family, load", [
    ("cbpp", CBPP, "binomial", lambda: _fixture("cbpp.csv")),
    ("grouse", GROUSE, "poisson", lambda: _fixture("grouseticks.csv")),
    ("verbagg", VERBAGG, "binomial", lambda: _fixture("verbagg.csv")),
])
def test_optimum_equals_the_previous_implementation(key, formula, family, load):
    beta, theta, loglik = PREVIOUS[key]
    m = fit(formula, load(), family=family)
    np.testing.assert_allclose(m.fixed_table()["estimate"], beta, rtol=0, atol=1e-6)
    np.testing.assert_allclose(list(m.theta.values()), theta, rtol=0, atol=1e-6)
    assert abs(m.loglik - loglik) < 1e-8


def test_drivers_model_equals_the_previous_implementation(participation):
    beta, theta, loglik = PREVIOUS["participation"]
    m = fit(participation.formula, participation.data, family=participation.family)
    np.testing.assert_allclose(m.fixed_table()["estimate"], beta, rtol=0, atol=1e-6)
    np.testing.assert_allclose(list(m.theta.values()), theta, rtol=0, atol=1e-6)
    assert abs(m.loglik - loglik) < 1e-8


# lme4::glmer on the same rows (R 4.2.2, lme4 1.1-31; spec.data written with pandas'
# to_csv, read with read.csv(f, stringsAsFactors = TRUE, na.strings = c("", "NA")),
# municipality_id as a factor):
#   m <- glmer(any_digital ~ any_offline + c_age10 + gender + education + area +
#              c_digital_skills + (1 | municipality_id), data = d, family = binomial)
#   fixef(m); sqrt(diag(vcov(m))); getME(m, "theta"); logLik(m); deviance(m)
# glmer warns "failed to converge with max|grad| = 0.0136": its logLik is 1.5e-4 below ours.
GLMER_PARTICIPATION = {
    "estimate": [1.1549222457999204, -0.1145957360546080, -0.4049868126456048, -0.2318176050270323,
                 -0.3126219733292669, 0.1800290686337176, 0.0727962185441591, 0.0178255460618227,
                 0.4752995416222174],
    "se": [0.1409104218046144, 0.0871821871669403, 0.0283319679293827, 0.2620818648853354,
           0.0796981824849078, 0.1107083694624071, 0.0918194761112369, 0.0856937387784921,
           0.0543669683561920],
    "theta": 0.600873726042356, "loglik": -2037.80638910133, "deviance": 3937.43676729483,
}


def test_drivers_model_matches_glmer(participation):
    """Estimates and SEs within 1e-3 relative (the repository's GLMM tolerance), the
    random-intercept SD within 1e-3, logLik within 1e-2 and at least glmer's."""
    m = fit(participation.formula, participation.data, family=participation.family)
    table = m.fixed_table()
    ref = GLMER_PARTICIPATION
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(table["se"], ref["se"], rtol=1e-3)
    np.testing.assert_allclose(list(m.theta.values()), [ref["theta"]], rtol=1e-3)
    assert ref["loglik"] - 1e-6 <= m.loglik < ref["loglik"] + 1e-2
    assert abs(m.deviance - ref["deviance"]) < 2e-2


@pytest.mark.parametrize("formula, family, load", [
    ("k ~ x + (x | g)", "poisson", _slopes),                         # one factor, q = 2
    (CBPP, "binomial", lambda: _fixture("cbpp.csv")),                  # one factor, cbind weights
    (GROUSE, "poisson", lambda: _fixture("grouseticks.csv")),         # nested intercepts
    (VERBAGG, "binomial", lambda: _fixture("verbagg.csv")),           # crossed, dense remainder
])
def test_analytic_gradient_matches_central_differences(formula, family, load):
    frame = model_frame(formula, load(), family=family)
    fam = make_family(family, frame.y, frame.trials, frame.weights)
    model = glmm.Laplace(frame, fam)
    assert model.has_gradient
    beta0 = glmm.glm_start(frame.X, frame.y, family=fam)
    rng = np.random.default_rng(1)
    x = np.concatenate([theta_start(frame.terms) * 0.7 + 0.05 * rng.random(model.ntheta),
                        beta0 + rng.normal(0, 0.1, len(beta0))])
    _, g = model.deviance_gradient(x)
    u = model.u.copy()

    def dev(z):
        model.u = u.copy()
        return model.deviance(z)

    fd = np.empty_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = 1e-5 * max(1.0, abs(x[i]))
        fd[i] = (dev(x + e) - dev(x - e)) / (2 * e[i])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def _lme4_deviance_one_point(model, params, lp0, tol=1e-7):
    """The point-by-point recursion the batched evaluation replaced (lme4's stage-2 devfun:
    PIRLS from lp0, stopping when the penalised deviance changes by less than tol)."""
    from analysis.mixed.lmm import _inv_logdet, tri
    term = model.single
    G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
    theta, beta = params[:model.ntheta], params[model.ntheta:]
    T = tri(theta, q)
    offset = model.X @ beta
    fam = model.family
    eta = lp0.copy()
    mu = fam.linkinv(eta)
    oldpdev = np.inf
    for _ in range(100):
        v = fam.variance(mu)
        w = fam.wt * v
        z = (eta - offset) + (model.y - mu) / v
        ZWZ = np.empty((G, q, q))
        for a in range(q):
            for b in range(a, q):
                ZWZ[:, a, b] = ZWZ[:, b, a] = np.bincount(codes, weights=w * Z[:, a] * Z[:, b], minlength=G)
        Minv, ld = _inv_logdet(np.einsum("ka,gkl,lb->gab", T, ZWZ, T) + np.eye(q))
        r = np.column_stack([np.bincount(codes, weights=Z[:, a] * w * z, minlength=G) for a in range(q)])
        U = (Minv * (r @ T)[:, None, :]).sum(axis=2)
        eta = offset + (Z * (U @ T.T)[codes]).sum(axis=1)
        mu = fam.linkinv(eta)
        pdev = fam.devres(mu).sum() + (U * U).sum()
        if abs((oldpdev - pdev) / pdev) < tol:
            break
        oldpdev = pdev
    return pdev + ld


@pytest.mark.parametrize("formula, family, load", [
    ("k ~ x + (x | g)", "poisson", _slopes),
    (CBPP, "binomial", lambda: _fixture("cbpp.csv")),
])
def test_batched_lme4_deviance_equals_the_point_by_point_recursion(formula, family, load):
    frame = model_frame(formula, load(), family=family)
    g = glmm.fit_glmm(frame, family)
    model, term = g.model, g.model.single
    T = glmm.split_theta(g.theta, frame.terms)[0]
    lp0 = frame.X @ g.beta + (term.Z * (g.u.reshape(-1, term.q) @ T.T)[term.codes]).sum(axis=1)
    points = optimize.deriv12_points(np.concatenate([g.theta, g.beta]))
    batched = model.lme4_deviances(points, lp0, max_cells=3 * frame.n)   # several chunks
    one = np.array([_lme4_deviance_one_point(model, p, lp0) for p in points])
    np.testing.assert_allclose(batched, one, rtol=1e-12)


def test_model_without_fixed_effects_fits_as_glmer():
    """No fixed effects (``0 + (1 | g)``): an empty fixed part has a batched Hessian too.
    R: glmer(cbind(incidence, size - incidence) ~ 0 + (1 | herd), cbpp, binomial) gives
    logLik -118.374954769051 and theta 2.24660476214859 (lme4 1.1-31)."""
    m = fit("cbind(incidence, size - incidence) ~ 0 + (1 | herd)", _fixture("cbpp.csv"), family="binomial")
    assert m.fixed == [] and m.converged
    assert abs(m.loglik - -118.374954769051) < 1e-6
    np.testing.assert_allclose(list(m.theta.values()), [2.24660476214859], rtol=1e-5)


def test_predictor_units_do_not_change_the_optimum_or_its_cost(monkeypatch):
    """A fixed effect in thousands (x * 1000 + 5000) is the same model as x: same logLik and
    intercept variance, and (fixed effects preconditioned by the GLM information) about as
    many PIRLS runs; the previous fit needed 795 on Contraception's age in such units."""
    data = _slopes()
    data["x_big"] = data["x"] * 1000 + 5000
    small = fit("k ~ x + (1 | g)", data, family="poisson")
    counter = _Counter(monkeypatch)
    big = fit("k ~ x_big + (1 | g)", data, family="poisson")
    assert big.converged and counter.pirls <= 40
    assert abs(big.loglik - small.loglik) < 1e-8
    np.testing.assert_allclose(big.random[0]["variance"], small.random[0]["variance"], rtol=1e-6)
    np.testing.assert_allclose(big.fixed_table()["estimate"].iloc[1] * 1000, small.fixed_table()["estimate"].iloc[1],
                               rtol=1e-6)


def test_uncentred_random_slope_reaches_the_centred_models_optimum():
    """(x_b | g) with x_b = 100 x + 300 spans the same model as (x | g).  PIRLS fails at some
    of L-BFGS-B's trial points there (overflowing means), which stopped it far from the
    optimum (the previous fit raised an error); the restart from where it stopped gets there."""
    data = _slopes()
    data["x_b"] = data["x"] * 100 + 300
    centred = fit("k ~ x + (x | g)", data, family="poisson")
    uncentred = fit("k ~ x_b + (x_b | g)", data, family="poisson")
    assert centred.converged and uncentred.converged
    assert abs(uncentred.loglik - centred.loglik) < 1e-6
