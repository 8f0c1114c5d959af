"""Confirmatory factor analysis by normal-theory maximum likelihood (Joreskog 1969), as ``lavaan::cfa``
(0.6-14 defaults), with lavaan's fit measures and Hu & Bentler's (1999) cut-offs as the verdict."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.factor._sem import _baseline, _fit_measures, _heywood_warnings, _Model, _prepare_cfa, _samples
from analysis.formatting import num, p_text

# Hu & Bentler (1999), Structural Equation Modeling 6: 1-55, the combination rules' single-index cut-offs.
HU_BENTLER = {"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08}


@dataclass
class CFAResult:
    """A confirmatory factor model fitted by ML (lavaan defaults).

    Fit: ``chi2``, ``df``, ``p``, ``cfi``, ``tli``, ``rmsea``, ``rmsea_ci`` [lower, upper] (90%),
    ``srmr`` (Bentler), ``loglik``, ``aic``, ``bic``, ``npar``, ``n``.
    ``loadings``: tidy DataFrame (``factor``, ``item``, ``estimate`` unstandardised, ``se``,
    ``loading`` completely standardised (lavaan std.all), ``residual_variance`` (theta),
    ``residual_variance_std``). ``factor_correlations``: factors x factors (std.all Phi).
    ``warnings``: plain-language problems (Heywood cases, non-convergence, df = 0).
    """

    chi2: float
    df: int
    p: float | None
    cfi: float | None
    tli: float | None
    rmsea: float | None
    rmsea_ci: list
    srmr: float
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    n: int
    npar: int
    loglik: float
    aic: float
    bic: float
    converged: bool
    warnings: list[str] = field(default_factory=list)

    def loading_dict(self) -> dict:
        """``{item: standardised loading}`` (first factor of an item if it loads on several)."""
        out: dict = {}
        for row in self.loadings.itertuples():
            out.setdefault(row.item, float(row.loading))
        return out

    def cutoffs_met(self) -> dict[str, bool] | None:
        """Which of Hu & Bentler's (1999) cut-offs the fit meets (CFI, TLI >= .95, RMSEA <= .06, SRMR <= .08);
        None with 0 degrees of freedom, where fit cannot be judged."""
        if self.df == 0:
            return None
        return {"cfi": self.cfi is not None and self.cfi >= HU_BENTLER["cfi"],
                "tli": self.tli is not None and self.tli >= HU_BENTLER["tli"],
                "rmsea": self.rmsea is not None and self.rmsea <= HU_BENTLER["rmsea"],
                "srmr": self.srmr <= HU_BENTLER["srmr"]}

    def verdict(self) -> str:
        """The fit verdict in words, against Hu & Bentler's (1999) cut-offs."""
        met = self.cutoffs_met()
        if met is None:
            return "with 0 degrees of freedom the model reproduces the data exactly, so fit cannot be judged"
        good = list(met.values())
        return (("all four meet" if all(good) else f"{sum(good)} of 4 meet")
                + " Hu & Bentler's (1999) cut-offs (CFI and TLI .95 or more, RMSEA .06 or less, SRMR .08 or less)")

    def reading(self) -> str:
        """One plain-language paragraph: the fit measures, the verdict and the caveat about chi-square."""
        return (f"chi2({self.df}) = {self.chi2:.2f}, {p_text(self.p)}; CFI = {num(self.cfi, 3)}, "
                f"TLI = {num(self.tli, 3)}, RMSEA = {num(self.rmsea, 3)} [90% CI {num(self.rmsea_ci[0], 3)}, "
                f"{num(self.rmsea_ci[1], 3)}], SRMR = {num(self.srmr, 3)} (n = {self.n}, complete cases): "
                f"{self.verdict()}. With large samples the chi-square test rejects even small misfit, so the "
                "indices matter more.")

    def to_dict(self) -> dict:
        return {"n": self.n, "chi2": self.chi2, "df": self.df, "p": self.p, "cfi": self.cfi, "tli": self.tli,
                "rmsea": self.rmsea, "rmsea_ci": list(self.rmsea_ci), "srmr": self.srmr,
                "npar": self.npar, "loglik": self.loglik, "aic": self.aic, "bic": self.bic,
                "loadings": self.loading_dict(), "loadings_table": self.loadings.to_dict(orient="records"),
                "factor_correlations": self.factor_correlations.to_numpy().tolist(),
                "factors": list(self.factor_correlations.columns),
                "cutoffs_met": self.cutoffs_met(),
                "converged": self.converged, "warnings": list(self.warnings)}

def cfa(data: pd.DataFrame, model: dict[str, list[str]] | Sequence[str], *, missing: str = "listwise",
        std_lv: bool = True) -> CFAResult:
    """Confirmatory factor analysis by normal-theory maximum likelihood (Joreskog 1969).

    ``model`` maps factor -> items (a plain item list is one factor ``F``); factors correlate freely.
    As lavaan 0.6-14's defaults: complete cases, sample covariance with divisor N, no mean
    structure, ``F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p``, ``chi2 = N F_ML``; baseline =
    independence model; CFI (Bentler 1990), TLI (Tucker & Lewis 1973), RMSEA
    ``sqrt(max(chi2/N/df - 1/N, 0))`` (Steiger & Lind 1980) with its 90% CI from the noncentral
    chi-square, SRMR (Bentler 1995; lavaan "srmr"). ``std_lv=True`` fixes factor variances to 1
    (otherwise the first loading of each factor is 1); standardised loadings are the same either way.
    SEs from the expected information (lavaan's default ``information = "expected"``).

    Equivalent R call: ``lavaan::cfa(model, data, estimator = "ML", std.lv = TRUE, missing = "listwise")``.
    """
    items, factors, pattern, x, _ = _prepare_cfa(data, model, None, missing)
    samples = _samples(x, None, min_n=len(items))
    mdl = _Model(items, factors, pattern, samples, std_lv=std_lv, meanstructure=False, equal=set())
    p = len(items)
    df = p * (p + 1) // 2 - mdl.n_free
    if df < 0:
        raise InputError(f"the model has more parameters ({mdl.n_free}) than variances and covariances "
                         f"({p * (p + 1) // 2}), so it cannot be estimated (df = {df})",
                         hint="a one-factor model needs at least 3 items; give every factor 3 or more items")
    theta, fmin, grad, hess, converged = mdl.fit()
    warnings = []
    if df == 0:
        warnings.append("the model has 0 degrees of freedom (e.g. one factor with 3 items): it reproduces the "
                        "data exactly, so chi-square, CFI, TLI and RMSEA cannot test its fit")
    if not converged:
        warnings.append("the estimation did not converge; the results are not trustworthy "
                        "(the model may not be identified or may not suit these data)")
    fit = _fit_measures(mdl, theta, fmin, _baseline(samples))
    try:
        vcov = 2.0 / mdl.n_total * np.linalg.inv(hess)
        se_all = np.sqrt(np.clip(np.diag(vcov), 0, None))
    except np.linalg.LinAlgError:
        se_all = np.full(mdl.n_free, np.nan)
        warnings.append("the information matrix is singular: the model is not identified, standard errors unavailable")
    warnings += _heywood_warnings(mdl, theta)
    lam, phi, th, _, _ = mdl.matrices(theta, 0)
    sigma, _ = mdl.implied(theta, 0)
    sd_lat = np.sqrt(np.abs(np.diag(phi)))
    sd_obs = np.sqrt(np.diag(sigma))
    rows = []
    spec = mdl.groups[0]
    for j, f in enumerate(factors):
        for i, item in enumerate(items):
            if pattern[i, j]:
                k = spec.lam_idx[i, j]
                rows.append({"factor": f, "item": item, "estimate": float(lam[i, j]),
                             "se": float(se_all[k]) if k >= 0 else None,
                             "loading": float(lam[i, j] * sd_lat[j] / sd_obs[i]),
                             "residual_variance": float(th[i]),
                             "residual_variance_std": float(th[i] / sd_obs[i] ** 2)})
    phi_std = phi / np.outer(sd_lat, sd_lat)
    return CFAResult(chi2=fit["chi2"], df=fit["df"], p=fit["p"], cfi=fit["cfi"], tli=fit["tli"],
                     rmsea=fit["rmsea"], rmsea_ci=fit["rmsea_ci"], srmr=fit["srmr"],
                     loadings=pd.DataFrame(rows),
                     factor_correlations=pd.DataFrame(phi_std, index=factors, columns=factors),
                     n=mdl.n_total, npar=fit["npar"], loglik=fit["loglik"], aic=fit["aic"], bic=fit["bic"],
                     converged=converged, warnings=warnings)
