"""Crossed scalar random effects: the PLS system without sparse products per theta.

For random intercepts (or any scalar terms) Lambda is diagonal: theta_0 on the first
(largest) factor's G_0 columns and r = theta[term] on the remaining m.  With Z'Z split as
[[diag(n), C0], [C0', E0]] (n the first factor's diagonal: counts for intercepts),

    M = Lambda Z'Z Lambda + I = [[A, C], [C', E]],   A = diag(a),  a = theta_0^2 n + 1,
    S = E - C' A^{-1} C = I + D_r (E0 - K(w)) D_r,    K(w) = C0' diag(w) C0,
    w = theta_0^2 / a,   log|M| = sum log a + log|S|,

(the Schur complement of :mod:`analysis.mixed.schur`; Bates et al. 2015, JSS 67(1),
eq. 18).  Since w depends on a level only through its count, K(w) = sum_c w_c K_c over the
distinct counts c: the K_c are formed once per model, and each theta costs one sparse
matrix-vector product, the dense Cholesky of S (LAPACK ``dpotrf``) and, for the analytic
gradient, its inverse (``dpotri``).  The plan plays the part of CHOLMOD's symbolic analysis,
done once per model as ``lme4``'s ``Matrix::Cholesky(M, perm = TRUE)`` is and then only
updated with new numbers (``merPredD$updateDecomp``), with lme4's order (largest factor first).

The traces the gradient needs (Bates et al. 2015, eq. 34; see :mod:`analysis.mixed.sparse_pls`)
are tr over the first factor of M^{-1} = sum 1/a + tr(S^{-1} D_r K(theta_0^2 / a^2) D_r)
(W = A^{-1} C, W'W = D_r K(theta_0^2/a^2) D_r) and, for the others, sums of diag(S^{-1}).
R equivalent: ``lme4::lmer(y ~ ... + (1 | a) + (1 | b) + (1 | c))``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrf, dpotri, dpotrs

MAX_CLASS_NNZ = 20_000_000   # stored (pair, count) products; above it K(w) is a sparse product per theta
MAX_CLASSES = 512            # distinct diagonal values (counts) grouped; above it, the same fallback


class CrossedPlan:
    """Once per model: the pattern of S and K(w) as a product with per-count pieces.

    Parameters
    ----------
    ZtZ : sparse matrix
        Z'Z of the model (Q x Q), first factor's G0 columns first.
    G0 : int
        Levels of the first (largest, eliminated) factor; its diagonal block is diagonal.
    """

    def __init__(self, ZtZ, G0: int):
        Z = sp.csr_matrix(ZtZ)
        self.G0 = G0
        self.m = m = Z.shape[0] - G0
        self.n = Z.diagonal()[:G0].copy()
        self.C0 = Z[:G0, G0:].tocsr()
        self.C0T = self.C0.T.tocsr()
        E0 = Z[G0:, G0:].tocsr()
        pattern = sp.tril(abs(E0) + abs(self.C0T) @ abs(self.C0) + sp.identity(m), format="coo")
        order = np.lexsort((pattern.row, pattern.col))       # column-major, as LAPACK stores
        self.pi = pattern.row[order].astype(np.int64)
        self.pj = pattern.col[order].astype(np.int64)
        self.flat = self.pi + self.pj * m                    # Fortran position of (i, j)
        self.diag_pos = np.arange(m) * (m + 1)
        self.mult = np.where(self.pi == self.pj, 1.0, 2.0)   # symmetric sums over the lower half
        self.E0 = np.asarray(E0[self.pi, self.pj]).ravel()
        self.on_diag = (self.pi == self.pj).astype(float)
        self.values, first, cls = np.unique(self.n, return_index=True, return_inverse=True)
        self._first = first          # one level per distinct count: w is a function of the count
        self.KC = self._class_products(cls) if len(self.values) <= MAX_CLASSES else None

    def _class_products(self, cls: np.ndarray):
        """K_c = C0[levels with count c]' C0[...] on the lower pattern: column c of one
        CSC matrix (rows = positions in the pattern), so K(w) is one product with w per count."""
        position = np.full(self.m * self.m, -1, dtype=np.int32)
        position[self.flat] = np.arange(len(self.flat), dtype=np.int32)
        indices, data, indptr = [], [], [0]
        for c in range(len(self.values)):
            Cc = self.C0[cls == c]
            Kc = sp.tril(Cc.T @ Cc, format="coo")
            indptr.append(indptr[-1] + Kc.nnz)
            if indptr[-1] > MAX_CLASS_NNZ:
                return None
            indices.append(position[Kc.row + Kc.col.astype(np.int64) * self.m])
            data.append(Kc.data)
        return sp.csc_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)),
                             shape=(len(self.flat), len(self.values)))

    def K(self, w: np.ndarray) -> np.ndarray:
        """C0' diag(w) C0 at the lower pattern's positions.

        Parameters
        ----------
        w : numpy.ndarray
            One weight per level of the first factor, a function of its count ``n`` only.
        """
        if self.KC is not None:
            return self.KC @ w[self._first]
        P = (self.C0T @ self.C0.multiply(w[:, None]).tocsr()).tocsr()
        return np.asarray(P[self.pi, self.pj]).ravel()

    def factor(self, theta0: float, r: np.ndarray) -> "CrossedFactor":
        """Factorise M for the first factor's theta ``theta0`` and the other columns' ``r``."""
        return CrossedFactor(self, theta0, r)


class CrossedFactor:
    """Numeric factorisation of M at one theta (see the module doc).

    Parameters
    ----------
    plan : CrossedPlan
        The model's pattern and per-count pieces.
    theta0 : float
        Relative standard deviation of the first factor (its Lambda entry).
    r : numpy.ndarray
        Lambda's entries for the other m columns (each term's theta, repeated per level).
    """

    def __init__(self, plan: CrossedPlan, theta0: float, r: np.ndarray):
        self.plan, self.theta0, self.r = plan, float(theta0), np.asarray(r, dtype=float)
        t2 = self.theta0 ** 2
        self.a = t2 * plan.n + 1.0
        m = plan.m
        rr = self.r[plan.pi] * self.r[plan.pj]
        vals = rr * (plan.E0 - plan.K(t2 / self.a)) + plan.on_diag
        buf = np.zeros(m * m)
        buf[plan.flat] = vals
        S = buf.reshape((m, m), order="F")
        c, info = dpotrf(S, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("not positive definite")
        self.chol: np.ndarray | None = c
        self.logdet = float(np.log(self.a).sum() + 2.0 * np.log(np.diagonal(c)).sum())
        self._inv: np.ndarray | None = None

    def solve(self, rhs) -> np.ndarray:
        """M^{-1} rhs (vector or matrix) by block elimination of the first factor."""
        if self.chol is None:
            raise RuntimeError("the factor was turned into S^{-1}: solve before block_traces")
        b = np.asarray(rhs, dtype=float)
        G0, t0, r = self.plan.G0, self.theta0, self.r
        one = b.ndim == 1
        b = b[:, None] if one else b
        y1 = b[:G0] / self.a[:, None]
        b2 = b[G0:] - t0 * r[:, None] * (self.plan.C0T @ y1)
        x2, info = dpotrs(self.chol, b2, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("dpotrs failed")
        x1 = y1 - (t0 / self.a)[:, None] * (self.plan.C0 @ (r[:, None] * x2))
        x = np.vstack([x1, x2])
        return x[:, 0] if one else x

    def _inverse_flat(self) -> np.ndarray:
        """S^{-1} (lower half valid) in Fortran order, by ``dpotri`` over the Cholesky factor
        itself (no copy of the m x m array): solves must come before the traces."""
        if self._inv is None:
            inv, info = dpotri(self.chol, lower=1, overwrite_c=1)
            if info != 0:
                raise np.linalg.LinAlgError("dpotri failed")
            self._inv, self.chol = inv.ravel(order="F"), None
        return self._inv

    def diag_blocks(self, offset: int, G: int, q: int) -> np.ndarray:
        """The (G, 1, 1) diagonal of M^{-1} over one term's columns: for the first factor
        1/a + (W S^{-1} W')_ss with W = A^{-1} C (one sparse-dense product), else diag(S^{-1})."""
        plan = self.plan
        inv = self._inverse_flat()
        if offset >= plan.G0:
            o = offset - plan.G0
            return inv[plan.diag_pos][o:o + G].reshape(G, 1, 1)
        low = inv.reshape(plan.m, plan.m, order="F")
        full = np.tril(low) + np.tril(low, -1).T
        Y = plan.C0.multiply(self.r[None, :]).tocsr()
        quad = np.asarray(Y.multiply(Y @ full).sum(axis=1)).ravel()
        return (1.0 / self.a + (self.theta0 / self.a) ** 2 * quad).reshape(G, 1, 1)

    def block_traces(self, blocks) -> np.ndarray:
        """tr of M^{-1} over each term's columns (scalar terms, first one eliminated).

        Parameters
        ----------
        blocks : list of (offset, levels, q)
            The terms in column order, as :func:`analysis.mixed.frame.sparse_structure` gives them.
        """
        plan, t2 = self.plan, self.theta0 ** 2
        inv = self._inverse_flat()
        weighted = inv[plan.flat] * self.r[plan.pi] * self.r[plan.pj] * plan.mult
        first = float((1.0 / self.a).sum() + weighted @ plan.K(t2 / self.a ** 2))
        d = inv[plan.diag_pos]
        out = [first]
        for offset, G, _ in blocks[1:]:
            o = offset - plan.G0
            out.append(float(d[o:o + G].sum()))
        return np.array(out)
