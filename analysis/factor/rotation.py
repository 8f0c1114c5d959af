"""Factor rotations as ``psych::fa`` calls them: varimax (Kaiser 1958; ``stats::varimax``) and oblimin
(Jennrich 2002 gradient projection; ``GPArotation::oblimin``)."""
from __future__ import annotations

import numpy as np


def _varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """stats::varimax (Kaiser 1958) with Kaiser normalisation, as psych calls it."""
    nc = x.shape[1]
    if nc < 2:
        return x, np.eye(nc)
    sc = np.sqrt((x ** 2).sum(axis=1)) if normalize else np.ones(x.shape[0])
    xs = x / sc[:, None]
    p = xs.shape[0]
    tt = np.eye(nc)
    d = 0.0
    for _ in range(1000):
        z = xs @ tt
        b = xs.T @ (z ** 3 - z @ np.diag((z ** 2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        d_past, d = d, float(s.sum())
        if d < d_past * (1 + eps):
            break
    return (xs @ tt) * sc[:, None], tt

def _oblimin(a: np.ndarray, gamma: float = 0.0, eps: float = 1e-5, maxit: int = 1000
             ) -> tuple[np.ndarray, np.ndarray, bool]:
    """GPArotation::oblimin via GPFoblq (Jennrich 2002; Bernaards & Jennrich 2005), normalize=FALSE,
    eps=1e-5, identity start: exactly the call psych::fa makes. Returns (loadings, Phi, converged)."""
    k = a.shape[1]

    def vgq(lo):
        x = (lo ** 2) @ (1.0 - np.eye(k))
        if gamma != 0:
            p = lo.shape[0]
            x = (np.eye(p) - gamma / p) @ x
        return lo * x, float((lo ** 2 * x).sum() / 4)

    tmat = np.eye(k)
    alpha = 1.0
    lo = a @ np.linalg.inv(tmat).T
    gq, f = vgq(lo)
    g = -(lo.T @ gq @ np.linalg.inv(tmat)).T
    converged = False
    for _ in range(maxit + 1):
        gp = g - tmat @ np.diag((tmat * g).sum(axis=0))
        s = float(np.sqrt((gp ** 2).sum()))
        if s < eps:
            converged = True
            break
        alpha *= 2
        for _ in range(11):
            x = tmat - alpha * gp
            tmatt = x / np.sqrt((x ** 2).sum(axis=0))
            lo = a @ np.linalg.inv(tmatt).T
            gqt, ft = vgq(lo)
            if f - ft > 0.5 * s ** 2 * alpha:
                break
            alpha /= 2
        tmat, f = tmatt, ft
        g = -(lo.T @ gqt @ np.linalg.inv(tmatt)).T
    return lo, tmat.T @ tmat, converged
