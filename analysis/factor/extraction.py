"""Factor extraction as ``psych::fa`` does it: minimum residual (Harman & Jones 1966; unweighted least
squares) and maximum likelihood (Joreskog 1967; the ``factanal`` objective), the uniquenesses within
psych's bounds by projected Newton steps (psych uses L-BFGS-B; the optimum is the same)."""
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
    ``0.5 * ||R - psi - LL'||^2`` (gradient ``-diag(R - psi - LL')``) to full precision
    (``_box_newton``).
    """
    smc = _smc(r)
    start = np.diag(r) - smc
    upper = max(float(smc.max()), 1.0)
    p = r.shape[0]

    if fm == "minres":
        def objective(psi):
            sstar = r - np.diag(psi)
            values, vectors = np.linalg.eigh(sstar)
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
    psi, _, converged = _box_newton(objective, start, np.full(p, 0.005), np.full(p, upper))
    return psi, converged


def _box_newton(objective, start: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, gtol: float = 1e-11,
                max_iter: int = 200) -> tuple[np.ndarray, float, bool]:
    """Minimum of a smooth ``objective(x) -> (f, gradient)`` within the bounds, by projected
    Newton steps (Bertsekas 1982): a Newton step on the parameters not held at a bound, the
    Hessian by central differences of the analytic gradient (Nocedal & Wright 2006, ch. 8)
    with its eigenvalues made positive so the step goes downhill, and Armijo backtracking
    along the projected path. It reaches the optimum psych's L-BFGS-B (R ``optim``) aims at
    to rounding, in a few steps for the handful of uniquenesses a factor model has.

    Returns
    -------
    (x, f(x), converged): converged when the gradient of the free parameters is below ``gtol``
    or the steps stopped changing anything.
    """
    x = np.clip(np.asarray(start, dtype=float), lower, upper)
    f, g = objective(x)
    p = len(x)
    for _ in range(max_iter):
        held = ((x <= lower + 1e-12) & (g > 0)) | ((x >= upper - 1e-12) & (g < 0))
        free = np.flatnonzero(~held)
        if not len(free) or np.max(np.abs(g[free])) < gtol:
            return x, f, True
        hessian = np.empty((len(free), len(free)))
        for k, i in enumerate(free):
            h = 1e-5 * max(abs(x[i]), 1e-2)
            e = np.zeros(p)
            e[i] = h
            hessian[:, k] = (objective(x + e)[1][free] - objective(x - e)[1][free]) / (2 * h)
        w, v = np.linalg.eigh((hessian + hessian.T) / 2)
        w = np.maximum(np.abs(w), 1e-10 * max(1.0, float(np.abs(w).max())))
        step = np.zeros(p)
        step[free] = -(v @ ((v.T @ g[free]) / w))
        t = 1.0
        while True:
            candidate = np.clip(x + t * step, lower, upper)
            f_new, g_new = objective(candidate)
            if f_new <= f + 1e-4 * float(g @ (candidate - x)):
                break
            t /= 2
            if t < 1e-12:  # no decrease along the step: as low as rounding lets it go
                return x, f, bool(np.max(np.abs(g[free])) < 1e-6)
        still = abs(f - f_new) <= 1e-16 * max(1.0, abs(f)) and np.max(np.abs(candidate - x)) < 1e-14
        x, f, g = candidate, f_new, g_new
        if still:
            return x, f, True
    return x, f, False
