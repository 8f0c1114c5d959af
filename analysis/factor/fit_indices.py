"""Fit-index helpers shared by EFA and CFA: the RMSEA confidence interval (Steiger & Lind 1980;
Browne & Cudeck 1993), as ``psych::fa.stats`` and ``lavaan::fitMeasures`` compute it."""
from __future__ import annotations

import numpy as np
from scipy import special


def _rmsea_ci(chi2: float, df: float, n: float, level: float = 0.90, divisor: float | None = None
              ) -> tuple[float, float]:
    """Confidence interval of the RMSEA from the noncentral chi-square (Steiger & Lind 1980;
    Browne & Cudeck 1993): find the noncentrality lambda with P(chi2 | df, lambda) = 1 - tail and
    = tail, then ``sqrt(lambda / (divisor * df))``."""
    tail = (1 - level) / 2
    divisor = (n - 1) if divisor is None else divisor

    def ncp_for(prob):
        def fun(lam):
            return special.chndtr(chi2, df, lam) - prob if lam > 0 else special.chdtr(df, chi2) - prob

        if fun(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while fun(hi) > 0:
            hi *= 2
        return _bisect(fun, 0.0, hi)

    lo = ncp_for(1 - tail)
    hi = ncp_for(tail)
    return float(np.sqrt(lo / (divisor * df))), float(np.sqrt(hi / (divisor * df)))


def _bisect(fun, lo: float, hi: float, xtol: float = 1e-12, rtol: float = 1e-14) -> float:
    """The root of a decreasing ``fun`` with ``fun(lo) >= 0 > fun(hi)``, by bisection to
    ``xtol + rtol * |x|`` (the tolerance R's ``uniroot`` / scipy's ``brentq`` would be given;
    at most about 60 halvings of the bracket, without importing scipy.optimize)."""
    while hi - lo > xtol + rtol * abs(hi):
        mid = 0.5 * (lo + hi)
        if fun(mid) >= 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
