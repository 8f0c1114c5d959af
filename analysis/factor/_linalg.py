"""Small linear-algebra helpers shared by the factor models (no statistics of their own), on
numpy's LAPACK (no scipy.linalg import for a factor command)."""
from __future__ import annotations

import numpy as np

_EPS = np.finfo(float).eps


def _eigvalsh(m: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, ascending."""
    return np.linalg.eigvalsh(m)

def _cov2cor(m: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(m))
    return m * np.outer(d, d)

def _smooth(r: np.ndarray) -> np.ndarray:
    """psych::cor.smooth: lift non-positive eigenvalues so the matrix is positive definite."""
    values, vectors = np.linalg.eigh(r)
    if values.min() >= _EPS:
        return r
    values = np.where(values < 1e-12, 100 * 1e-12, values)
    values = values * r.shape[0] / values.sum()
    return _cov2cor((vectors * values) @ vectors.T)

def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (psych::smc, pseudo-inverse, clipped to [0, 1])."""
    smc = 1.0 - 1.0 / np.diag(np.linalg.pinv(r, hermitian=True))
    return np.clip(smc, 0.0, 1.0)

def _top_eigen(m: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(m)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]
