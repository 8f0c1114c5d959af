"""Factor extraction as ``psych::fa`` does it: minimum residual (Harman & Jones 1966; unweighted least
squares) and maximum likelihood (Joreskog 1967; the ``factanal`` objective), uniquenesses by L-BFGS-B."""
from __future__ import annotations

import numpy as np
from analysis.factor._linalg import _eigvalsh, _smc, _top_eigen


def _minres_loadings(r: np.ndarray, psi: np.ndarray, nf: int) -> np.ndarray:
    """psych FAout.wls: principal axes of R with communalities 1 - psi on the diagonal."""
    values, vectors = _top_eigen(r - np.diag(psi), nf)
    return vectors[:, :nf] * np.sqrt(np.maximum(values[:nf], 0.0))

def _ml_loadings(r: np.ndarray, psi: np.ndarray, nf: int) -> np.ndarray:
    """psych/factanal FAout: ML loadings given the uniquenesses."""
    sc = 1.0 / np.sqrt(psi)
    values, vectors = _top_eigen(r * np.outer(sc, sc), nf)
    return np.sqrt(psi)[:, None] * vectors[:, :nf] * np.sqrt(np.maximum(values[:nf] - 1.0, 0.0))

def _fit_uniquenesses(r: np.ndarray, nf: int, fm: str) -> tuple[np.ndarray, bool]:
    """Uniquenesses psi minimising the minres (ULS) or ML discrepancy, bounds [0.005, max(smc, 1)].

    psych optimises with L-BFGS-B from ``psi = 1 - smc``; the minres fixed point (zero diagonal
    residual) is the same as the unweighted least squares optimum, so we minimise
    ``0.5 * ||R - psi - LL'||^2`` (gradient ``-diag(R - psi - LL')``) to full precision.
    """
    from scipy import linalg, optimize  # here, not at import: the CFA and parallel analysis need neither

    smc = _smc(r)
    start = np.diag(r) - smc
    upper = max(float(smc.max()), 1.0)
    p = r.shape[0]

    if fm == "minres":
        def objective(psi):
            sstar = r - np.diag(psi)
            values, vectors = linalg.eigh(sstar)
            top = np.argsort(values)[::-1][:nf]
            loads = vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))
            resid = sstar - loads @ loads.T
            return 0.5 * float((resid ** 2).sum()), -np.diag(resid).copy()
    else:
        def objective(psi):
            sc = 1.0 / np.sqrt(psi)
            values = _eigvalsh(r * np.outer(sc, sc))[::-1]
            e = values[nf:]
            f = -(np.sum(np.log(e) - e) - nf + p)
            loads = _ml_loadings(r, psi, nf)
            g = np.diag(loads @ loads.T) + psi - np.diag(r)
            return float(f), g / psi ** 2

    start = np.clip(start, 0.005, upper)
    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.005, upper)] * p,
                            options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20})
    return res.x, bool(res.success or np.max(np.abs(res.jac)) < 1e-6)
