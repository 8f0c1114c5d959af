"""Multilevel (mixed) models with lme4's formula language and lme4/lmerTest numbers.

``fit(formula, data)`` -> :class:`MixedResult`; ``compare([m0, m1])`` -> LRT table;
``null_model`` (ICC, design effect); centring helpers ``center`` and ``group_mean``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.mixed.compare import compare
from analysis.mixed.frame import model_frame
from analysis.mixed.r2 import PERFORMANCE_SINGULAR_TOL, VarianceDecomposition, design_effect, variance_decomposition
from analysis.mixed.result import SINGULAR_MESSAGE, MixedResult, fixed_rows, random_rows

__all__ = ["fit", "compare", "null_model", "center", "group_mean", "design_effect", "MixedResult"]

SINGULAR_TOL = 1e-4      # lme4::isSingular
GRADIENT_TOL = 2e-3      # lme4's check.conv.grad tolerance, on the preconditioned scale


def fit(formula: str, data: pd.DataFrame, *, reml: bool = True, family: str = "gaussian",
        reference_levels: dict[str, str] | None = None, weights: str | None = None) -> MixedResult:
    """Fit a linear (REML/ML), binomial-logit or Poisson-log (Laplace) mixed model.

    Linear: profiled (RE)ML deviance (Bates et al. 2015, JSS 67(1)) with Satterthwaite
    df (Kuznetsova et al. 2017), R: ``lmerTest::lmer(formula, data, REML = reml)``.
    Binomial: Laplace approximation, R: ``lme4::glmer(formula, data, binomial, nAGQ = 1)``;
    the outcome is 0/1, ``cbind(successes, failures)``, or a proportion with ``weights``
    naming the trials column (R: ``weights = size``).  Poisson: log link, whole-number
    counts, R: ``glmer(formula, data, poisson)``.  Formula functions: see
    :mod:`analysis.mixed.functions`.
    ICC and R2 as ``performance::icc`` / ``performance::r2_nakagawa`` (Nakagawa et al. 2017;
    not for Poisson).  Rows with a missing value in any used column are dropped (``na.omit``).
    Several grouping factors (crossed or nested) use the block-elimination Cholesky of
    :mod:`analysis.mixed.schur`.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"y ~ x + (1 | a) + (1 | b)"`` or ``"cbind(s, f) ~ x + (1 | g)"``.
    data : pandas.DataFrame
        The rows and columns the formula names.
    reml : bool
        REML (default) or ML; linear models only (GLMMs are always Laplace ML).
    family : {"gaussian", "binomial", "poisson"}
        Anything else is an InputError.
    reference_levels : dict, optional
        Reference level per categorical predictor (R: ``relevel``).
    weights : str, optional
        Column of prior weights (binomial and Poisson; R: ``weights = w``).

    Returns
    -------
    MixedResult
    """
    family = (family or "gaussian").lower()
    if family not in ("gaussian", "binomial", "poisson"):
        raise InputError(f"family '{family}' is not offered", hint="use gaussian, binomial or poisson")
    if weights is not None and family == "gaussian":
        raise InputError("prior weights are offered for the binomial and poisson families only",
                         hint="drop --weights, or fit a binomial model with a proportion outcome")
    from analysis.mixed.schur import blas_single_thread
    with blas_single_thread():   # the frame's rank check too: a tall QR thrashes with 2 threads
        frame = model_frame(formula, data, family=family, reference_levels=reference_levels,
                            weights=weights)
        if family != "gaussian":
            result = _fit_binomial(frame, data, reference_levels, family)
        else:
            result = _fit_gaussian(frame, data, reml, reference_levels)
    result.weights = weights
    return result


def _covariances(frame, theta, scale2):
    from analysis.mixed.lmm import split_theta
    return [scale2 * (T @ T.T) for T in split_theta(theta, frame.terms)]


def _theta_dict(frame, theta):
    from analysis.mixed.lmm import theta_names
    return dict(zip(theta_names(frame.terms), map(float, theta)))


def _singular(frame, theta, tol: float = SINGULAR_TOL):
    """lme4::isSingular(m, tol): a variance parameter (theta with lower bound 0) below ``tol``."""
    from analysis.mixed.lmm import theta_lower
    lower = theta_lower(frame.terms)
    return bool(np.any(np.abs(theta[lower == 0]) < tol))


def _reported(vd, frame, theta) -> dict:
    """R² and ICCs as performance reports them (``analysis.mixed.r2``), its own singularity rule."""
    return vd.reported(_singular(frame, theta, PERFORMANCE_SINGULAR_TOL))


def _common_messages(frame, singular, converged, max_grad):
    messages = []
    if frame.n_dropped:
        messages.append(f"{frame.n_dropped} row(s) with a missing value in the model's variables were left out")
    if singular:
        messages.append(SINGULAR_MESSAGE)
    if not converged:
        messages.append(f"the model may not have converged (largest gradient {max_grad:.2g}); "
                        "try centring or rescaling predictors, or simplify the random part")
    return messages


def _null_design_effect(frame, icc):
    if (len(frame.terms) == 1 and frame.x_names == ["(Intercept)"]
            and frame.terms[0].coef_names == ["(Intercept)"] and icc is not None):
        counts = np.bincount(frame.terms[0].codes)
        return design_effect(icc, float(counts.mean()))
    return None


def _fit_gaussian(frame, data, reml, reference_levels) -> MixedResult:
    from analysis.mixed.lmm import fit_lmm
    from analysis.mixed.satterthwaite import satterthwaite_df
    fitted_model = fit_lmm(frame, reml=reml)
    n, p = frame.n, frame.X.shape[1]
    theta, sigma = fitted_model.theta, fitted_model.sigma
    df, sat_messages = satterthwaite_df(fitted_model.pls, theta, sigma, n, p, reml, fitted_model.vcov,
                                       fitted_model.hessian)
    covs = _covariances(frame, theta, sigma ** 2)
    random, corr = random_rows(frame.terms, covs)
    blocks = [(t.name, t.factor, t.coef_names, c) for t, c in zip(frame.terms, covs)]
    vd = variance_decomposition(frame.X, frame.x_names, fitted_model.beta, blocks, sigma ** 2)
    singular = _singular(frame, theta)
    converged = fitted_model.max_grad < GRADIENT_TOL
    npar = p + len(theta) + 1
    loglik = -fitted_model.deviance / 2
    modes = fitted_model.pls.modes(theta, fitted_model.beta, sigma)
    fitted_values = frame.X @ fitted_model.beta
    for term, (b, _) in zip(frame.terms, modes):
        fitted_values = fitted_values + (term.Z * b[term.codes]).sum(axis=1)
    shown = _reported(vd, frame, theta)
    icc = shown["icc"]
    messages = _common_messages(frame, singular, converged, fitted_model.max_grad) + sat_messages
    return MixedResult(
        formula=frame.formula.text, family="gaussian", method="REML" if reml else "ML",
        n_obs=n, n_dropped=frame.n_dropped, groups=_groups(frame), converged=converged,
        singular=singular, fixed=fixed_rows(frame.x_names, fitted_model.beta, fitted_model.vcov, df),
        random=random, random_corr=corr, residual_variance=float(sigma ** 2), loglik=float(loglik),
        deviance=float(fitted_model.deviance), aic=float(fitted_model.deviance + 2 * npar),
        bic=float(fitted_model.deviance + np.log(n) * npar), npar=npar, icc=icc,
        icc_unadjusted=shown["icc_unadjusted"], r2_marginal=shown["r2_marginal"],
        r2_conditional=shown["r2_conditional"],
        design_effect=_null_design_effect(frame, icc), theta=_theta_dict(frame, theta),
        max_grad=float(fitted_model.max_grad), messages=messages, data=data, reml=reml,
        reference_levels=reference_levels,
        vcov=pd.DataFrame(fitted_model.vcov, index=frame.x_names, columns=frame.x_names),
        fitted=pd.Series(fitted_values, index=frame.data.index, name="fitted"),
        residuals=pd.Series(frame.y - fitted_values, index=frame.data.index, name="residual"),
        _frame=frame, _modes=modes, _beta=fitted_model.beta)


def _fit_binomial(frame, data, reference_levels, family="binomial") -> MixedResult:
    import scipy.sparse as sp

    from analysis.mixed.glmm import fit_glmm
    from analysis.mixed.lmm import split_theta
    g = fit_glmm(frame, family)
    n, p = frame.n, frame.X.shape[1]
    covs = _covariances(frame, g.theta, 1.0)
    random, corr = random_rows(frame.terms, covs)
    blocks = [(t.name, t.factor, t.coef_names, c) for t, c in zip(frame.terms, covs)]
    vd: VarianceDecomposition | _NoDecomposition = variance_decomposition(frame.X, frame.x_names, g.beta, blocks,
                                                                          np.pi ** 2 / 3)
    extra = []
    if family == "poisson":  # performance's Poisson R2 needs the null model's mean: not offered
        vd = _NoDecomposition()
        extra = ["ICC and R2 are not computed for the Poisson family"]
    singular = _singular(frame, g.theta)
    converged = g.max_grad < GRADIENT_TOL
    npar = p + len(g.theta)
    # conditional modes b = Lambda u and covariance Lambda (Lambda'Z'WZ Lambda + I)^-1 Lambda'
    modes = []
    fam = g.model.family
    w = fam.wt * fam.variance(g.mu)
    A = (g.model.Z @ g.model.lam_matrix(g.theta)).tocsr()
    M = (A.T @ A.multiply(w[:, None]).tocsr() + sp.identity(g.model.Q, format="csr")).tocsr()
    fac = g.model.plan.factor(M)
    for term, T, (offset, G, q) in zip(frame.terms, split_theta(g.theta, frame.terms), g.model.blocks):
        u = g.u[offset:offset + G * q].reshape(G, q)
        cov = fac.diag_blocks(offset, G, q)
        modes.append((u @ T.T, T @ cov @ T.T))
    messages = _common_messages(frame, singular, converged, g.max_grad) + g.messages + extra
    shown = _reported(vd, frame, g.theta)
    icc = shown["icc"]
    return MixedResult(
        formula=frame.formula.text, family=family, method="ML",  # Laplace approximation (nAGQ = 1)
        n_obs=n, n_dropped=frame.n_dropped, groups=_groups(frame), converged=converged,
        singular=singular, fixed=fixed_rows(frame.x_names, g.beta, g.vcov, family=family),
        random=random, random_corr=corr, residual_variance=None,
        loglik=float(-g.laplace_deviance / 2), deviance=float(g.deviance),
        aic=float(g.laplace_deviance + 2 * npar), bic=float(g.laplace_deviance + np.log(n) * npar),
        npar=npar, icc=icc, icc_unadjusted=shown["icc_unadjusted"], r2_marginal=shown["r2_marginal"],
        r2_conditional=shown["r2_conditional"],
        design_effect=_null_design_effect(frame, icc), theta=_theta_dict(frame, g.theta),
        max_grad=float(g.max_grad), messages=messages, data=data, reml=False,
        reference_levels=reference_levels,
        vcov=pd.DataFrame(g.vcov, index=frame.x_names, columns=frame.x_names),
        fitted=pd.Series(g.mu, index=frame.data.index, name="fitted"),
        residuals=pd.Series(frame.y - g.mu, index=frame.data.index, name="residual"),
        _frame=frame, _modes=modes, _beta=g.beta)


class _NoDecomposition:
    var_random = 0.0
    icc_adjusted = icc_unadjusted = r2_marginal = r2_conditional = None

    def reported(self, singular: bool) -> dict:
        return {"r2_marginal": None, "r2_conditional": None, "icc": None, "icc_unadjusted": None}


def _groups(frame) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in frame.terms:
        out.setdefault(t.factor, t.n_levels)
    return out


def null_model(data: pd.DataFrame, outcome: str, group: str, *, reml: bool = True) -> MixedResult:
    """The empty model ``outcome ~ 1 + (1 | group)``: its ``icc`` is
    tau00 / (tau00 + sigma2) and ``design_effect`` is 1 + (mean cluster size - 1) * ICC
    (Kish 1965; Snijders & Bosker 2012, sec. 3.3).  R: ``lmer(y ~ 1 + (1 | g))``,
    ``performance::icc``."""
    return fit(f"`{outcome}` ~ 1 + (1 | `{group}`)", data, reml=reml)


def center(data: pd.DataFrame, column: str, *, group: str | None = None) -> pd.Series:
    """Grand-mean (``group=None``) or group-mean (within-cluster) centring.

    Enders & Tofighi (2007), *Centering predictor variables in cross-sectional
    multilevel models*, Psychol Methods 12(2):121-138: group-mean centring (CWC) gives
    the pure within-group effect; add ``group_mean`` as a level-2 predictor for the
    between-group effect.  R: ``x - mean(x, na.rm = TRUE)`` / ``x - ave(x, g)``.
    """
    _check_columns(data, [column] + ([group] if group else []))
    x = pd.to_numeric(data[column], errors="coerce")
    if group is None:
        return (x - x.mean()).rename(f"{column}_c")
    return (x - group_mean(data, column, group)).rename(f"{column}_cwc")


def group_mean(data: pd.DataFrame, column: str, group: str) -> pd.Series:
    """Each row's group mean of ``column`` (missing values ignored), a level-2 predictor
    (Enders & Tofighi 2007).  R: ``ave(x, g, FUN = function(v) mean(v, na.rm = TRUE))``."""
    _check_columns(data, [column, group])
    x = pd.to_numeric(data[column], errors="coerce")
    return x.groupby(data[group]).transform("mean").rename(f"{column}_gm")


def _check_columns(data, columns):
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"unknown column(s): {', '.join(missing)}")
    for c in columns[:1]:
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise InputError("centring needs a numeric column", column=c)
