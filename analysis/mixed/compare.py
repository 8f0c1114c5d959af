"""Likelihood-ratio comparison of nested mixed models, as ``anova()`` in lme4.

Models are ordered by number of parameters; each row is tested against the row
before with chisq = 2 * max(0, logLik_k - logLik_(k-1)) on df = npar difference
(Wilks 1938; lme4 ``anova.merMod``).  With ``refit=True`` (lme4's default) REML fits
are refitted with ML first, because REML likelihoods of models with different fixed
effects are not comparable; ``refit=False`` compares the fits as they are (fine for
models that differ only in their random part).  Boundary tests of variances are
conservative with the naive chi-square (Self & Liang 1987); ``p_boundary`` gives the
50:50 chi-bar mixture p for reference.
R equivalent: ``anova(m0, m1)`` / ``anova(m0, m1, refit = FALSE)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError


def compare(results: list, *, refit: bool = True, names: list[str] | None = None) -> pd.DataFrame:
    """Table of models (npar, AIC, BIC, logLik, deviance, chisq, df, p) with LRTs."""
    results = list(results)
    if len(results) < 2:
        raise InputError("compare needs at least two fitted models")
    names = list(names) if names else [f"m{i}" for i in range(len(results))]
    if len(names) != len(results):
        raise InputError("give one name per model")
    if len({r.n_obs for r in results}) > 1:
        raise InputError("the models were fitted to different numbers of rows "
                         f"({', '.join(str(r.n_obs) for r in results)}); "
                         "fit them on the same complete cases")
    if len({r.family for r in results}) > 1:
        raise InputError("cannot compare a linear with a logistic model")
    refitted = False
    if refit and any(r.method == "REML" for r in results):
        results = [r.refit(reml=False) if r.method == "REML" else r for r in results]
        refitted = True
    order = sorted(range(len(results)), key=lambda i: results[i].npar)
    rows, prev = [], None
    for i in order:
        r = results[i]
        row = {"model": names[i], "formula": r.formula, "method": r.method, "npar": r.npar,
               "AIC": r.aic, "BIC": r.bic, "logLik": r.loglik, "deviance": -2 * r.loglik,
               "chisq": np.nan, "df": np.nan, "p": np.nan, "p_boundary": np.nan}
        if prev is not None:
            chisq = 2 * max(0.0, r.loglik - prev.loglik)
            df = r.npar - prev.npar
            row["chisq"], row["df"] = chisq, df
            if df > 0:
                row["p"] = float(special.chdtrc(df, chisq))
                lower = special.chdtrc(df - 1, chisq) if df > 1 else float(chisq <= 0)
                row["p_boundary"] = float(0.5 * lower + 0.5 * special.chdtrc(df, chisq))
        rows.append(row)
        prev = r
    table = pd.DataFrame(rows)
    table.attrs["messages"] = ["refitting model(s) with ML (instead of REML)"] if refitted else []
    return table
