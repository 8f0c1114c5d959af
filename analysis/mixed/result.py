"""The fitted-model object shared by the Models page, the command and the tests."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError
from analysis.mixed.formula import _level_label
from analysis.mixed.frame import ModelFrame

SINGULAR_MESSAGE = ("a variance is estimated at zero; simplify the random part, "
                    "e.g. drop the random slope")


@dataclass
class MixedResult:
    """A fitted linear or logistic mixed model (lme4 semantics).

    ``to_dict()`` gives the JSON of ``python -m analysis mixed``.  For plots:
    ``fitted``, ``residuals`` (Series on the rows used), ``ranef()`` (conditional
    modes with conditional SDs per group level), ``predict(newdata)``, ``vcov``
    (DataFrame), ``fixed_table()`` (DataFrame).  ``formula``, ``data``, ``reml``,
    ``family`` and ``reference_levels`` are kept so ``compare`` can refit with ML.
    """
    formula: str
    family: str
    method: str
    n_obs: int
    n_dropped: int
    groups: dict[str, int]
    converged: bool
    singular: bool
    fixed: list[dict[str, Any]]
    random: list[dict[str, Any]]
    random_corr: list[dict[str, Any]]
    residual_variance: float | None
    loglik: float
    deviance: float
    aic: float
    bic: float
    npar: int
    icc: float | None
    icc_unadjusted: float | None
    r2_marginal: float | None
    r2_conditional: float | None
    design_effect: float | None
    theta: dict[str, float]
    max_grad: float
    messages: list[str] = field(default_factory=list)
    # not serialised: what plots and refits need
    data: pd.DataFrame | None = field(default=None, repr=False)
    reml: bool = True
    reference_levels: dict[str, str] | None = None
    vcov: pd.DataFrame | None = field(default=None, repr=False)
    fitted: pd.Series | None = field(default=None, repr=False)
    residuals: pd.Series | None = field(default=None, repr=False)
    _frame: ModelFrame | None = field(default=None, repr=False)
    _modes: list | None = field(default=None, repr=False)
    _beta: np.ndarray | None = field(default=None, repr=False)
    weights: str | None = None   # the prior-weights column, kept for refits

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula, "family": self.family, "method": self.method,
            "n_obs": self.n_obs, "n_dropped": self.n_dropped, "groups": dict(self.groups),
            "converged": self.converged, "singular": self.singular,
            "fixed": self.fixed, "random": self.random, "random_corr": self.random_corr,
            "residual_variance": self.residual_variance, "loglik": self.loglik,
            "deviance": self.deviance, "aic": self.aic, "bic": self.bic, "npar": self.npar,
            "icc": self.icc, "icc_unadjusted": self.icc_unadjusted,
            "r2_marginal": self.r2_marginal, "r2_conditional": self.r2_conditional,
            "design_effect": self.design_effect, "theta": dict(self.theta),
            "max_grad": self.max_grad, "messages": list(self.messages),
        }

    @property
    def fixed_effects(self) -> pd.Series:
        return pd.Series({row["term"]: row["estimate"] for row in self.fixed})

    def fixed_table(self) -> pd.DataFrame:
        rows = []
        for r in self.fixed:
            row = {k: v for k, v in r.items() if k not in ("ci", "or_ci")}
            row["ci_low"], row["ci_high"] = r["ci"]
            if "or_ci" in r:
                row["or_ci_low"], row["or_ci_high"] = r["or_ci"]
            rows.append(row)
        return pd.DataFrame(rows)

    def ranef(self) -> pd.DataFrame:
        """Conditional modes (BLUPs) per group level with conditional SDs (caterpillar plot).

        As ``as.data.frame(lme4::ranef(m, condVar = TRUE))``: columns group, level,
        term, estimate, cond_sd; plus ``n``, the observations of the level in the fit (so a
        caller can withhold small groups, ``analysis.privacy``).
        """
        rows = []
        for term, (b, cov) in zip(self._frame.terms, self._modes):
            sd = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
            n = np.bincount(term.codes, minlength=len(term.levels))
            for j, coef in enumerate(term.coef_names):
                rows.append(pd.DataFrame({"group": term.name, "level": term.levels, "term": coef,
                                          "estimate": b[:, j], "cond_sd": sd[:, j], "n": n}))
        return pd.concat(rows, ignore_index=True)

    def predict(self, newdata: pd.DataFrame | None = None, *, include_random: bool = True,
                type: str = "response") -> pd.Series:
        """Predictions for new rows (predicted lines per group).

        Fixed part X beta plus, when ``include_random``, each group's conditional
        modes; unseen groups get 0 (lme4's ``allow.new.levels = TRUE``).  Binomial:
        probabilities for ``type='response'``, log-odds for ``type='link'``.
        R equivalent: ``predict(m, newdata, re.form = NULL / NA)``.
        """
        from analysis.mixed.functions import add_derived
        frame = self._frame
        if newdata is None:
            newdata = frame.data
        else:   # log(x), scale(x), poly(x, k) with the fitted data's centre, scale, coefficients
            newdata = add_derived({k: d for k, d in frame.formula.derived.items()
                                   if k != frame.formula.outcome and k not in (frame.formula.cbind or ())},
                                  newdata)
        design = frame.fixed_design
        needed = sorted({v for t in design.terms for v in t})
        missing = [c for c in needed if c not in newdata.columns]
        if missing:
            raise InputError(f"prediction data lacks column(s): {', '.join(missing)}")
        for var in needed:
            coding = design.codings[var]
            if coding.is_factor:
                known = {_level_label(v) for v in coding.levels}
                unseen = {_level_label(v) for v in newdata[var].dropna().unique()} - known
                if unseen:
                    raise InputError(f"level(s) not in the fitted data: {', '.join(sorted(unseen))}",
                                     column=var)
        eta = design.matrix(newdata) @ self._beta
        if include_random:
            for term, (b, _) in zip(frame.terms, self._modes):
                group_cols = list(term.spec.group)
                if any(c not in newdata.columns for c in group_cols):
                    continue
                cols = [newdata[c].map(_level_label, na_action="ignore") for c in group_cols]
                labels = cols[0].astype(str) if len(cols) == 1 else \
                    pd.Series([":".join(map(str, t)) for t in zip(*cols)], index=newdata.index)
                index = {lv: i for i, lv in enumerate(term.levels)}
                codes = labels.map(index)
                known = codes.notna().to_numpy()
                if not known.any():
                    continue
                Zn = term.design.matrix(newdata)
                contrib = np.zeros(len(newdata))
                k = codes.to_numpy()[known].astype(int)
                contrib[known] = (Zn[known] * b[k]).sum(axis=1)
                eta = eta + contrib
        if self.family == "binomial" and type == "response":
            eta = 1.0 / (1.0 + np.exp(-eta))
        elif self.family == "poisson" and type == "response":
            eta = np.exp(eta)
        return pd.Series(eta, index=newdata.index, name="predicted")

    def refit(self, *, reml: bool) -> "MixedResult":
        from analysis.mixed import fit
        return fit(self.formula, self.data, reml=reml, family=self.family,
                   reference_levels=self.reference_levels, weights=self.weights)


def fixed_rows(names, beta, vcov, df=None, family="gaussian"):
    se = np.sqrt(np.diag(vcov))
    rows = []
    for j, name in enumerate(names):
        est, s = float(beta[j]), float(se[j])
        stat = est / s if s > 0 else np.nan
        if family in ("binomial", "poisson"):
            p = 2 * special.ndtr(-abs(stat))
            crit = special.ndtri(0.975)
            ci = [est - crit * s, est + crit * s]
            ratio = "odds_ratio" if family == "binomial" else "rate_ratio"
            rows.append({"term": name, "estimate": est, "se": s, "df": None, "z": stat, "p": float(p),
                         "ci": ci, ratio: float(np.exp(est)),
                         ratio[0] + "r_ci": [float(np.exp(ci[0])), float(np.exp(ci[1]))]})
        else:
            d = float(df[j]) if df is not None and np.isfinite(df[j]) else np.nan
            p = 2 * special.stdtr(d, -abs(stat)) if np.isfinite(d) else np.nan
            crit = special.stdtrit(d, 0.975) if np.isfinite(d) else np.nan
            rows.append({"term": name, "estimate": est, "se": s, "df": d, "t": stat, "p": float(p),
                         "ci": [est - crit * s, est + crit * s]})
    return rows


def random_rows(terms, covs, sigma2=None):
    random, corr = [], []
    for term, cov in zip(terms, covs):
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        for i, name in enumerate(term.coef_names):
            random.append({"group": term.name, "term": name, "variance": float(cov[i, i]),
                           "sd": float(sd[i])})
        for j in range(term.q):
            for i in range(j + 1, term.q):
                c = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                corr.append({"group": term.name, "term1": term.coef_names[j],
                             "term2": term.coef_names[i], "corr": float(c)})
    return random, corr
