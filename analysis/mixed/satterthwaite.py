"""Satterthwaite denominator degrees of freedom for fixed effects, as lmerTest.

Kuznetsova, Brockhoff & Christensen (2017), *lmerTest package: tests in linear mixed
effects models*, JSS 82(13), eq. 7: for a contrast l,

    df = 2 (l' C l)^2 / (g' A g),

C = vcov(beta) as a function of the variance parameters varpar = (theta, sigma),
g = d(l' C l)/d varpar and A = 2 H^{-1}, H the Hessian of the (RE)ML deviance in
(theta, sigma) (lmerTest's ``devfun_vp``; Moore-Penrose inverse over positive
eigenvalues; on the sparse path with scalar random effects, H's theta columns are central
differences of the analytic gradient instead of second differences of the deviance, its
sigma column and the Jacobian of C in theta are analytic).
R equivalent: ``summary(lmerTest::lmer(...))$coefficients[, "df"]``.
"""
from __future__ import annotations

import numpy as np

from analysis.mixed.lmm import numerical_hessian


def deviance_vp(pls, varpar: np.ndarray, n: int, p: int, reml: bool) -> float:
    """lmerTest's devfun_vp: -2 log-likelihood at (theta, sigma), beta profiled."""
    theta, sigma = varpar[:-1], varpar[-1]
    sigma2 = sigma * sigma
    sol = pls.solve(theta)
    dev = sol.ldL2 + sol.pwrss / sigma2 + n * np.log(2 * np.pi * sigma2)
    if reml:
        dev += sol.ldRX2 - p * np.log(2 * np.pi * sigma2)
    return float(dev)


def gradient_hessian(grad, x, h_rel=1e-4, h_min=1e-5, columns=None) -> np.ndarray:
    """Hessian as central differences of an analytic gradient (2 gradient calls per column;
    ``columns`` limits them, the others are left for the caller to fill)."""
    k = len(x)
    H = np.zeros((k, k))
    for i in (range(k) if columns is None else columns):
        h = h_rel * abs(x[i]) + (h_min if abs(x[i]) < 1e-8 else 0.0)
        e = np.zeros(k)
        e[i] = h
        H[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return H


def vp_hessian_from_profiled(pls, H_d: np.ndarray, varpar: np.ndarray, n: int, p: int,
                             reml: bool) -> np.ndarray:
    """devfun_vp's Hessian in (theta, sigma) at sigma = sigma-hat from the profiled deviance's
    Hessian H_d in theta: d(theta) = D(theta, sigma-hat(theta)) gives (envelope theorem)
    H_d = D_tt - D_ts D_ss^{-1} D_st, so D_tt = H_d + D_ts D_st / D_ss, with the analytic
    D_ts = -2 dr2/sigma^3 and D_ss = 6 r2/sigma^4 - 2 (n - p REML)/sigma^2
    (:meth:`GeneralPLS.vp_sigma_column`)."""
    k = len(varpar) - 1
    col = pls.vp_sigma_column(varpar, reml)
    H = np.empty((k + 1, k + 1))
    H[:k, :k] = H_d + np.outer(col[:k], col[:k]) / col[k]
    H[:k, k] = H[k, :k] = col[:k]
    H[k, k] = col[k]
    return H


def satterthwaite_df(pls, theta: np.ndarray, sigma: float, n: int, p: int, reml: bool,
                     vcov: np.ndarray, hessian: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Satterthwaite df for each fixed effect (unit contrasts); also warnings.  ``hessian``:
    the optimiser's Hessian of the profiled deviance (``theta``, ``H``), used on the analytic
    path when taken at this theta."""
    varpar = np.concatenate([theta, [sigma]])
    f = lambda vp: deviance_vp(pls, vp, n, p, reml)  # noqa: E731
    analytic = getattr(pls, "has_gradient", False)
    H = None
    k = len(theta)
    if analytic:
        try:
            # theta columns by differences of the analytic gradient; sigma's column and the
            # Jacobian of vcov(beta) in theta analytic (sparse_pls: vp_sigma_column, vcov_jacobian)
            if hessian and np.array_equal(hessian["theta"], theta):
                H = vp_hessian_from_profiled(pls, hessian["H"], varpar, n, p, reml)
            else:
                H = gradient_hessian(lambda vp: pls.vp_gradient(vp, reml), varpar, columns=range(k))
                H[:, k] = pls.vp_sigma_column(varpar, reml)
            jac_theta = pls.vcov_jacobian(theta, sigma)
        except ZeroDivisionError:   # a variance at 0: the gradient formula divides by theta
            analytic, H = False, None
    if H is None:
        H = numerical_hessian(f, varpar, h_rel=1e-3, h_min=1e-4)
    H = (H + H.T) / 2
    w, V = np.linalg.eigh(H)
    tol = 1e-8
    messages = []
    if (w < -tol).any():
        messages.append("the variance parameters are not at a minimum (negative curvature); "
                        "the Satterthwaite df may be unreliable")
    pos = w > tol
    A = 2 * (V[:, pos] / w[pos]) @ V[:, pos].T

    def covbeta(theta_):
        return np.linalg.inv(pls.solve(theta_).XtX_adj)

    # Jacobian of vcov(beta) = sigma^2 (X'V^-1X)^-1: analytic in sigma, Richardson in theta
    # (analytic in theta too on the sparse path with scalar terms)
    jac = np.empty((k + 1, p, p))
    for i in range(k):
        if analytic:
            jac[i] = jac_theta[i]
            continue
        h = 1e-4 * abs(theta[i]) + (1e-5 if abs(theta[i]) < 1e-8 else 0.0)
        e = np.zeros(k)
        e[i] = h
        d1 = (covbeta(theta + e) - covbeta(theta - e)) / (2 * h)
        d2 = (covbeta(theta + e / 2) - covbeta(theta - e / 2)) / h
        jac[i] = sigma ** 2 * (4 * d2 - d1) / 3
    jac[k] = 2 * vcov / sigma
    df = np.empty(p)
    for j in range(p):
        g = jac[:, j, j]
        denom = g @ A @ g
        df[j] = 2 * vcov[j, j] ** 2 / denom if denom > 0 else np.nan
    return df, messages
