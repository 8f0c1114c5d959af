"""Measurement invariance across groups (Meredith 1993; Vandenberg & Lance 2000): the configural /
metric / scalar sequence of multi-group CFA models, as ``lavaan::cfa(..., group.equal = ...)`` and
``lavaan::anova``, read by Cheung & Rensvold's (2002) delta-CFI rule."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError
from analysis.factor._sem import _baseline, _fit_measures, _heywood_warnings, _Model, _prepare_cfa, _samples
from analysis.formatting import num, p_text

DELTA_CFI_CUTOFF = -0.01


@dataclass
class InvarianceResult:
    """Configural, metric and scalar multi-group CFA (lavaan ``group.equal``) and their comparisons.

    ``steps``: tidy DataFrame, one row per step (``step``, ``chi2``, ``df``, ``p``, ``cfi``, ``tli``,
    ``rmsea``, ``rmsea_lower``, ``rmsea_upper``, ``srmr``, ``aic``, ``bic``, ``chi2_diff``,
    ``df_diff``, ``p_diff``, ``delta_cfi``, ``delta_rmsea``), ``n_by_group``, ``warnings``.
    """

    steps: pd.DataFrame
    n_by_group: dict
    group: str
    warnings: list[str] = field(default_factory=list)

    def step(self, name: str) -> dict:
        return self.steps.set_index("step").loc[name].to_dict()

    def holds(self, name: str) -> bool | None:
        """Whether step ``name`` ("metric", "scalar") holds by Cheung & Rensvold's (2002) rule (CFI drops by
        no more than .01 from the step before); None when the step before has no CFI (0 degrees of freedom)."""
        d_cfi = self.step(name).get("delta_cfi")
        if d_cfi is None or not np.isfinite(d_cfi):
            return None
        return bool(d_cfi >= DELTA_CFI_CUTOFF)

    def reading(self) -> str:
        """One plain-language paragraph: each step's chi-square difference and delta CFI, with the verdict."""
        readings = []
        for name in ("metric", "scalar"):
            row = self.step(name)
            holds = self.holds(name)
            if holds is None:
                verdict = "CFI of the step before is undefined (0 degrees of freedom), so judge by the chi-square"
            else:
                verdict = f"{'holds' if holds else 'does not hold'} by the -.01 rule"
            readings.append(
                f"{name}: chi2 difference({int(row['df_diff'])}) = {row['chi2_diff']:.2f}, "
                f"{p_text(row['p_diff'])}, delta CFI = {num(row.get('delta_cfi'), 3)} ({verdict})")
        n_text = ", ".join(f"{g} n = {n}" for g, n in self.n_by_group.items())
        return (f"Across {n_text}: " + "; ".join(readings) + ". Metric invariance lets you compare "
                "relationships (correlations, regressions) across the groups; scalar invariance also lets you "
                "compare their means. A drop in CFI of more than .01 signals non-invariance (Cheung & Rensvold "
                "2002); the chi-square difference is very sensitive in large samples.")

    def to_dict(self) -> dict:
        out = {"group": self.group, "n_by_group": self.n_by_group, "warnings": list(self.warnings)}
        for row in self.steps.to_dict(orient="records"):
            name = row.pop("step")
            for key in ("df", "df_diff", "npar"):
                if row.get(key) is not None and np.isfinite(row[key]):
                    row[key] = int(row[key])
            out[name] = row
        return out

def invariance(data: pd.DataFrame, model: dict[str, list[str]] | Sequence[str], group: str, *,
               missing: str = "listwise") -> InvarianceResult:
    """Measurement invariance across groups (Meredith 1993; Vandenberg & Lance 2000): configural
    (same pattern), metric (equal loadings) and scalar (equal loadings and intercepts) multi-group
    ML CFA with a mean structure, marker-variable identification (first loading of each factor 1,
    latent means 0, free in groups 2.. under scalar invariance), as
    ``lavaan::cfa(model, data, group = g, group.equal = c("loadings", "intercepts"))``.

    chi2 = sum_g N_g F_ML,g (with mean part); RMSEA multiplied by sqrt(G) and SRMR (Bentler, with
    mean residuals) as lavaan; the chi-square difference test against the step before is
    ``lavaan::anova`` (standard ML: difference of chi-squares and of df). Groups appear in the
    order of first appearance in the data; rows with a missing item or group are dropped.
    """
    items, factors, pattern, x, g = _prepare_cfa(data, model, group, missing)
    labels = list(pd.unique(g))
    if len(labels) < 2:
        raise InputError("measurement invariance needs at least two groups", column=str(group),
                         hint="pick a grouping column with two or more values")
    samples = _samples(x, g, min_n=len(items))
    baseline = _baseline(samples)
    rows = []
    warnings: list[str] = []
    previous = None
    for name, equal in (("configural", set()), ("metric", {"loadings"}), ("scalar", {"loadings", "intercepts"})):
        mdl = _Model(items, factors, pattern, samples, std_lv=False, meanstructure=True, equal=equal)
        p = len(items)
        df = len(samples) * (p * (p + 1) // 2 + p) - mdl.n_free
        if df < 0:
            raise InputError(f"the {name} model has more parameters than data moments (df = {df})",
                             hint="give every factor at least 3 items")
        theta, fmin, _, _, converged = mdl.fit()
        if not converged:
            warnings.append(f"the {name} model did not converge; its results are not trustworthy")
        warnings += [f"{name}: {w}" for w in _heywood_warnings(mdl, theta)]
        fit = _fit_measures(mdl, theta, fmin, baseline)
        row = {"step": name, "chi2": fit["chi2"], "df": fit["df"], "p": fit["p"], "cfi": fit["cfi"],
               "tli": fit["tli"], "rmsea": fit["rmsea"], "rmsea_lower": fit["rmsea_ci"][0],
               "rmsea_upper": fit["rmsea_ci"][1], "srmr": fit["srmr"], "aic": fit["aic"], "bic": fit["bic"],
               "npar": fit["npar"], "chi2_diff": None, "df_diff": None, "p_diff": None, "delta_cfi": None,
               "delta_rmsea": None}
        if previous is not None:
            diff = max(fit["chi2"] - previous["chi2"], 0.0)
            ddf = fit["df"] - previous["df"]
            both_cfi = None not in (fit["cfi"], previous["cfi"])
            both_rmsea = None not in (fit["rmsea"], previous["rmsea"])
            row.update({"chi2_diff": diff, "df_diff": ddf,
                        "p_diff": float(special.chdtrc(ddf, diff)) if ddf > 0 else None,
                        "delta_cfi": (fit["cfi"] - previous["cfi"]) if both_cfi else None,
                        "delta_rmsea": (fit["rmsea"] - previous["rmsea"]) if both_rmsea else None})
        rows.append(row)
        previous = fit
    n_by_group = {str(s.label): s.n for s in samples}
    return InvarianceResult(steps=pd.DataFrame(rows), n_by_group=n_by_group, group=str(group), warnings=warnings)
