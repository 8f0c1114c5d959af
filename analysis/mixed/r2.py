"""Nakagawa R-squared, ICC and design effect, as ``performance`` 0.10.2.

Nakagawa & Schielzeth (2013), *Methods Ecol Evol* 4:133-142; Nakagawa, Johnson &
Schielzeth (2017), *J R Soc Interface* 14:20170213; random slopes after Johnson
(2014), *Methods Ecol Evol* 5:944-946:

    var_fixed  = var(X beta)                         (n - 1 denominator)
    var_random = sum over grouping factors of mean(diag(Z Sigma Z'))
    var_resid  = sigma^2 (Gaussian) or pi^2 / 3 (binomial, logit link)
    R2_marginal    = var_fixed / (var_fixed + var_random + var_resid)
    R2_conditional = (var_fixed + var_random) / (same)
    ICC_adjusted   = var_random / (var_random + var_resid)

Z holds the columns of the fixed-effect model matrix named as the random terms (as
performance does).  Like performance 0.10.2, only the first block of each grouping
factor enters var_random, so the extra blocks of ``(x || g)`` (``g.1``) are left out.
A fit singular at tolerance 1e-5 gets no conditional R² and no ICC (R: NA, "Can't compute
random effect variances"), and its marginal R² leaves the random variance out, as performance does.
R equivalent: ``performance::r2_nakagawa(m)``, ``performance::icc(m)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# performance's singularity check for R² and ICC (check_singularity(m, tolerance = 1e-5)), stricter
# than lme4::isSingular's 1e-4 that decides the "singular fit" message
PERFORMANCE_SINGULAR_TOL = 1e-5


@dataclass
class VarianceDecomposition:
    var_fixed: float
    var_random: float
    var_residual: float

    @property
    def r2_marginal(self) -> float:
        return self.var_fixed / (self.var_fixed + self.var_random + self.var_residual)

    @property
    def r2_conditional(self) -> float:
        return (self.var_fixed + self.var_random) / (self.var_fixed + self.var_random + self.var_residual)

    @property
    def icc_adjusted(self) -> float:
        return self.var_random / (self.var_random + self.var_residual)

    @property
    def icc_unadjusted(self) -> float:
        return self.var_random / (self.var_fixed + self.var_random + self.var_residual)

    def reported(self, singular: bool) -> dict:
        """R², ICCs as ``performance`` 0.10.2 reports them: when the fit is singular at
        :data:`PERFORMANCE_SINGULAR_TOL` (``check_singularity(m, tolerance = 1e-5)``) the random
        variances count as unavailable, so the conditional R² and both ICCs are ``None`` (R's NA)
        and the marginal R² leaves the random variance out of its denominator
        (var_fixed / (var_fixed + var_resid)); otherwise none of them is defined without a
        random variance (ICC ``None`` when var_random is 0)."""
        if singular:
            return {"r2_marginal": self.var_fixed / (self.var_fixed + self.var_residual), "r2_conditional": None,
                    "icc": None, "icc_unadjusted": None}
        has_random = self.var_random > 0
        return {"r2_marginal": self.r2_marginal, "r2_conditional": self.r2_conditional,
                "icc": self.icc_adjusted if has_random else None,
                "icc_unadjusted": self.icc_unadjusted if has_random else None}


def variance_decomposition(X: np.ndarray, x_names: list[str], beta: np.ndarray,
                           blocks: list[tuple[str, str, list[str], np.ndarray]],
                           var_residual: float) -> VarianceDecomposition:
    """blocks: (name, factor, coefficient names, covariance matrix) per random term."""
    eta = X @ beta if X.shape[1] else np.zeros(X.shape[0])
    var_fixed = float(np.var(eta, ddof=1)) if len(eta) > 1 else 0.0
    var_random = 0.0
    col = {name: i for i, name in enumerate(x_names)}
    for name, factor, coefs, cov in blocks:
        if name != factor:  # g.1, g.2: performance 0.10.2 does not look these up
            continue
        keep = [k for k, c in enumerate(coefs) if c in col]
        if not keep:
            continue
        Zc = X[:, [col[coefs[k]] for k in keep]]
        S = cov[np.ix_(keep, keep)]
        var_random += float(np.einsum("ij,jk,ik->", Zc, S, Zc) / X.shape[0])
    return VarianceDecomposition(var_fixed, var_random, var_residual)


def design_effect(icc: float, mean_cluster_size: float) -> float:
    """Kish (1965) design effect for cluster samples: 1 + (m - 1) ICC."""
    return 1.0 + (mean_cluster_size - 1.0) * icc
