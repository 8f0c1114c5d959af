"""The sparse engine: block-elimination Cholesky, analytic gradient, families' bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from analysis.errors import InputError
from analysis.mixed import fit, schur
from analysis.mixed.frame import model_frame, sparse_structure
from analysis.mixed.lmm import _central_gradient, make_pls, profiled_deviance


def _design(kind, n=600, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "crossed":
        a, b = rng.integers(0, 60, n), rng.integers(0, 15, n)
        d = pd.DataFrame({"a": a.astype(str), "b": b.astype(str)})
        formula = "y ~ x + (1 | a) + (1 | b)"
    elif kind == "nested":
        team = rng.integers(0, 90, n)
        d = pd.DataFrame({"team": team.astype(str), "org": (team // 6).astype(str),
                          "muni": (team // 30).astype(str)})
        formula = "y ~ x + (1 | muni/org/team)"
    elif kind == "nestedslope":
        team = rng.integers(0, 90, n)
        d = pd.DataFrame({"team": team.astype(str), "org": (team // 6).astype(str)})
        formula = "y ~ x + (1 + x | org/team)"
    else:  # a random slope in one factor, crossed with another
        a, b = rng.integers(0, 40, n), rng.integers(0, 12, n)
        d = pd.DataFrame({"a": a.astype(str), "b": b.astype(str)})
        formula = "y ~ x + (1 + x | a) + (1 | b)"
    d["x"] = rng.normal(size=n)
    d["y"] = 1 + 0.5 * d["x"] + rng.normal(size=n) + rng.normal(size=200)[rng.integers(0, 200, n)]
    return d, formula


@pytest.mark.parametrize("kind", ["crossed", "nested", "slope", "nestedslope"])
@pytest.mark.parametrize("dense_all", [0, 10_000])
def test_schur_factor_equals_dense_algebra(kind, dense_all, monkeypatch):
    monkeypatch.setattr(schur, "DENSE_ALL", dense_all)
    monkeypatch.setattr(schur, "DENSE_REST", 2 if dense_all and kind == "nested" else 4000)  # sparse LU
    data, formula = _design(kind)
    frame = model_frame(formula, data)
    st = sparse_structure(frame)
    theta = np.linspace(0.4, 1.3, st.n_theta)
    Lam = st.lambda_matrix(theta)
    M = (Lam.T @ (st.Z.T @ st.Z) @ Lam + sp.identity(st.Q)).tocsr()
    plan = schur.SchurPlan(st.blocks, (st.Z.T @ st.Z).tocsc())
    fac = plan.factor(M)
    Md = M.toarray()
    Minv = np.linalg.inv(Md)
    assert np.isclose(fac.logdet, np.linalg.slogdet(Md)[1], rtol=1e-12)
    if kind.startswith("nested"):
        assert len(plan.steps) == len(st.blocks)   # a tree: every level eliminated
    rhs = np.random.default_rng(1).normal(size=(st.Q, 3))
    np.testing.assert_allclose(fac.solve(rhs), Minv @ rhs, rtol=1e-9, atol=1e-12)
    for offset, G, q in st.blocks:
        blocks = fac.diag_blocks(offset, G, q)
        sub = Minv[offset:offset + G * q, offset:offset + G * q]
        want = sub.reshape(G, q, G, q)[np.arange(G), :, np.arange(G), :]
        np.testing.assert_allclose(blocks, want, rtol=1e-9, atol=1e-13)
    if plan.exact_traces:
        want = [np.trace(Minv[o:o + G * q, o:o + G * q]) for o, G, q in st.blocks]
        np.testing.assert_allclose(fac.block_traces(st.blocks), want, rtol=1e-10)


@pytest.mark.parametrize("max_classes", [0, 512])
def test_crossed_factor_equals_dense_algebra(max_classes, monkeypatch):
    """The crossed fast path (per-count pieces of K, or a sparse product per theta when
    there are too many counts) gives M's log-determinant, solves and block traces."""
    from analysis.mixed import crossed
    monkeypatch.setattr(crossed, "MAX_CLASSES", max_classes)
    data, _ = _design("crossed")
    data["c"] = (data["b"].astype(int) // 5).astype(str)
    frame = model_frame("y ~ x + (1 | a) + (1 | b) + (1 | c)", data)
    st = sparse_structure(frame)
    ZtZ = (st.Z.T @ st.Z).tocsc()
    plan = crossed.CrossedPlan(ZtZ, st.blocks[0][1])
    assert (plan.KC is None) == (max_classes == 0)
    theta = np.array([0.7, -1.3, 0.4])
    Lam = st.lambda_matrix(theta)
    Md = (Lam.T @ ZtZ @ Lam + sp.identity(st.Q)).toarray()
    lam = theta[np.repeat(np.arange(3), [G for _, G, _ in st.blocks])]
    fac = plan.factor(lam[0], lam[plan.G0:])
    Minv = np.linalg.inv(Md)
    assert np.isclose(fac.logdet, np.linalg.slogdet(Md)[1], rtol=1e-12)
    rhs = np.random.default_rng(1).normal(size=(st.Q, 3))
    np.testing.assert_allclose(fac.solve(rhs), Minv @ rhs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fac.solve(rhs[:, 0]), Minv @ rhs[:, 0], rtol=1e-9, atol=1e-12)
    want = [np.trace(Minv[o:o + G, o:o + G]) for o, G, _ in st.blocks]
    np.testing.assert_allclose(fac.block_traces(st.blocks), want, rtol=1e-10)
    for o, G, q in st.blocks:
        np.testing.assert_allclose(fac.diag_blocks(o, G, q)[:, 0, 0], np.diag(Minv)[o:o + G], rtol=1e-10)


@pytest.mark.parametrize("kind", ["crossed", "nested"])
@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_equals_differences(kind, reml):
    data, formula = _design(kind, seed=2)
    frame = model_frame(formula, data)
    pls = make_pls(frame)
    assert pls.has_gradient
    theta = np.linspace(0.3, 0.9, len(frame.terms))
    n, p = frame.n, frame.X.shape[1]
    dev = lambda t: profiled_deviance(pls.solve(t), n, p, reml)  # noqa: E731
    value, grad = pls.deviance_gradient(theta, reml)
    assert np.isclose(value, dev(theta), rtol=1e-12)
    np.testing.assert_allclose(grad, _central_gradient(dev, theta, None), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["crossed", "nested"])
def test_satterthwaite_pieces_equal_differences(kind):
    """The analytic sigma column of devfun_vp's Hessian and d vcov(beta)/d theta agree with
    central differences of the gradient and of sigma^2 F(theta)^{-1}."""
    data, formula = _design(kind, seed=3)
    frame = model_frame(formula, data)
    pls = make_pls(frame)
    theta, sigma, h = np.linspace(0.4, 0.8, len(frame.terms)), 0.9, 1e-5
    vp = np.concatenate([theta, [sigma]])
    e = np.zeros(len(vp))
    e[-1] = h
    want = (pls.vp_gradient(vp + e, True) - pls.vp_gradient(vp - e, True)) / (2 * h)
    np.testing.assert_allclose(pls.vp_sigma_column(vp, True), want, rtol=1e-6, atol=1e-6)
    vcov = lambda t: sigma ** 2 * np.linalg.inv(pls.solve(t).XtX_adj)  # noqa: E731
    jac = pls.vcov_jacobian(theta, sigma)
    for k in range(len(theta)):
        d = np.zeros(len(theta))
        d[k] = h
        np.testing.assert_allclose(jac[k], (vcov(theta + d) - vcov(theta - d)) / (2 * h), rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("kind, reml", [("crossed", True), ("nested", False)])
def test_vp_hessian_from_the_optimiser_equals_differences(kind, reml):
    """At the optimum, devfun_vp's Hessian built from the optimiser's Hessian of the profiled
    deviance equals central differences of devfun_vp's analytic gradient."""
    from analysis.mixed.lmm import fit_lmm
    from analysis.mixed.satterthwaite import gradient_hessian, vp_hessian_from_profiled
    data, formula = _design(kind, seed=4)
    rng = np.random.default_rng(4)
    for col in (["a", "b"] if kind == "crossed" else ["team", "org", "muni"]):   # real variances
        codes = data[col].astype(int).to_numpy()
        data["y"] += rng.normal(0, 0.7, codes.max() + 1)[codes]
    frame = model_frame(formula, data)
    m = fit_lmm(frame, reml=reml)
    assert np.array_equal(m.hessian["theta"], m.theta)
    vp = np.concatenate([m.theta, [m.sigma]])
    n, p = frame.n, frame.X.shape[1]
    got = vp_hessian_from_profiled(m.pls, m.hessian["H"], vp, n, p, reml)
    want = gradient_hessian(lambda v: m.pls.vp_gradient(v, reml), vp)
    np.testing.assert_allclose(got, (want + want.T) / 2, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_three_level_nested_is_named_as_lme4():
    data, formula = _design("nested")
    m = fit(formula, data)
    assert list(m.groups) == ["team:org:muni", "org:muni", "muni"]


def _counts():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 10).astype(str)
    return pd.DataFrame({"g": g, "x": rng.normal(size=120), "k": rng.poisson(3, 120).astype(float),
                         "n": np.full(120, 8.0)})


@pytest.mark.parametrize("change, call, fragment", [
    ({"k": -1.0}, dict(formula="cbind(k, n - k) ~ x + (1 | g)", family="binomial"), "successes 'k' is negative"),
    ({"k": 9.0}, dict(formula="cbind(k, n - k) ~ x + (1 | g)", family="binomial"), "successes above trials"),
    ({"k": 2.5}, dict(formula="cbind(k, n - k) ~ x + (1 | g)", family="binomial"), "not a whole number"),
    ({"k": 2.5}, dict(formula="k ~ x + (1 | g)", family="poisson"), "whole number >= 0, found 2.5"),
    ({"k": -2.0}, dict(formula="k ~ x + (1 | g)", family="poisson"), "whole number >= 0, found -2"),
    ({}, dict(formula="k ~ x + (1 | g)", family="gamma"), "family 'gamma' is not offered"),
    ({}, dict(formula="k ~ ns(x, 3) + (1 | g)", family="poisson"), "'ns()' is not offered"),
    ({}, dict(formula="cbind(k, n - k) ~ x + (1 | g)", family="poisson"), "need the binomial family"),
    ({}, dict(formula="k ~ x + (1 | g)", family="gaussian", weights="n"), "binomial and poisson"),
])
def test_bad_family_input_is_one_line(change, call, fragment):
    data = _counts()
    for col, value in change.items():
        data.loc[7, col] = value
    with pytest.raises(InputError) as err:
        fit(call.pop("formula"), data, **call)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_poisson_and_cbind_fit_and_report_rate_and_odds_ratios():
    data = _counts()
    pois = fit("k ~ x + (1 | g)", data, family="poisson")
    assert pois.family == "poisson" and "rate_ratio" in pois.to_dict()["fixed"][0]
    binom = fit("cbind(k, n - k) ~ x + (1 | g)", data, family="binomial")
    assert "odds_ratio" in binom.to_dict()["fixed"][0]
    assert np.isfinite(binom.loglik) and np.isfinite(pois.loglik)
