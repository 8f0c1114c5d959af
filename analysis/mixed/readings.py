"""Readings of a fitted mixed model in plain words: how much groups differ (null model), what
a singular fit means for this model, what to try when the fit did not converge.

The Models screen, the report and the tests read the same sentences; the page only renders
them. Thresholds and their sources are in each function's docstring.
"""
from __future__ import annotations

import numpy as np

from analysis.formatting import num
from analysis.mixed.r2 import design_effect
from analysis.mixed.result import MixedResult

ICC_WORTH_MODELLING = 0.05  # Snijders & Bosker (2012), sec. 3.3: an ICC of .05 already inflates SEs


def null_model_summary(null: MixedResult, group: str | None) -> dict:
    """The numbers of the null model ``y ~ 1 + (1 | group)``: ICC, design effect, tau00, sigma2.

    ICC: ``performance::icc`` (0 when tau00 is estimated at zero, where performance gives NA
    because the fit is singular: the groups do not differ); design effect 1 + (m - 1) ICC with
    m the mean group size (Kish 1965).
    """
    tau00 = next((r["variance"] for r in null.random if r["term"] == "(Intercept)"), float("nan"))
    icc = null.icc or 0.0
    n_groups = null.groups.get(group, 1) if group else 1
    mean_size = null.n_obs / max(1, n_groups)
    deff = null.design_effect if null.design_effect is not None else design_effect(icc, mean_size)
    return {"icc": icc, "design_effect": deff, "tau00": tau00, "sigma2": null.residual_variance,
            "n_groups": n_groups, "mean_size": mean_size, "n_obs": null.n_obs}


def null_model_reading(null: MixedResult, group: str | None, outcome: str, noun: str) -> str:
    """How much the groups differ, in words (Snijders & Bosker 2012, sec. 3.3)."""
    s = null_model_summary(null, group)
    icc, deff = s["icc"], s["design_effect"]
    latent = " (on the latent logistic scale, residual variance pi^2/3)" if null.family == "binomial" else ""
    return (f"{noun.capitalize()}s {'differ' if icc >= ICC_WORTH_MODELLING else 'hardly differ'}: ICC = "
            f"{num(icc, 2)}, so {icc * 100:.0f}% of the variance in {outcome} lies between {noun}s{latent}. With "
            f"{s['n_groups']} {noun}s of on average {s['mean_size']:.1f} respondents the design effect is "
            f"{num(deff, 1)}: the {s['n_obs']} respondents carry about as much information as "
            f"{s['n_obs'] / deff:.0f} independent ones, so an analysis that ignored the nesting would report "
            "standard errors that are too small. An ICC above about .05 is usually reason enough for a multilevel "
            "model (Snijders & Bosker 2012).")


def singular_advice(result: MixedResult, outcome: str) -> str | None:
    """What a singular fit (lme4::isSingular) means for this model and what to try (Bates et al.
    2015, lme4's ``?isSingular``; Barr et al. 2013 on simplifying the random part); ``None``
    when the fit is not singular. A standard deviation below 1/1000 of the residual SD counts
    as estimated at zero."""
    if not result.singular:
        return None
    scale = np.sqrt(result.residual_variance) if result.residual_variance else 1.0
    at_zero = [r for r in result.random if r["sd"] < 1e-3 * scale]
    has_slopes = any(r["term"] != "(Intercept)" for r in result.random)
    if at_zero and all(r["term"] == "(Intercept)" for r in at_zero) and not has_slopes:
        groups_at_zero = ", ".join(r["group"] for r in at_zero)
        advice = (f"The groups of {groups_at_zero} do not differ in {outcome} beyond chance here (variance "
                  "estimated at 0): the fixed effects equal those of a model without that grouping term; keep the "
                  "model to report that, or drop the term.")
    else:
        zero_text = "; ".join(f"{r['term']} by {r['group']}" for r in at_zero)
        advice = ((f"Variance at zero: {zero_text}. " if zero_text else "A correlation is at -1 or +1. ")
                  + "Try: drop the random slope, use uncorrelated slopes (`||`), or keep the simpler model.")
    return ("**Singular fit.** A variance (or correlation) of the random part is estimated at its boundary: "
            f"the data cannot tell this part of the model apart from zero. {advice}")


def convergence_advice(result: MixedResult) -> str | None:
    """What to try when the largest gradient is above lme4's 0.002 (``?convergence``)."""
    if result.converged:
        return None
    return (f"**The fit may not have converged** (largest gradient {result.max_grad:.2g}). Try: centre or "
            "rescale the predictors (the centring helpers above), simplify the random part, or fit with ML.")
