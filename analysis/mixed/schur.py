"""Sparse Cholesky of the penalised least-squares system by block elimination.

The PLS system of a mixed model (Bates et al. 2015, JSS 67(1), eq. 18) is
M = Lambda' Z'Z Lambda + I (or with Z'WZ for a GLMM), with one block of columns per
random-effect term.  Each row of the data belongs to exactly one level of a grouping
factor, so the diagonal block of M for a term is block-diagonal (q x q per level).  The
factorisation eliminates such blocks by Schur complements,

    M = [[A, C], [C', E]],   S = E - C' A^{-1} C,   log|M| = log|A| + log|S|,

the first (largest) term always, later terms too while their block in the Schur
complement stays block-diagonal (nested factors: the tree structure), and factors the
rest (crossed factors: the smaller factors) by dense Cholesky.  This is the supernodal
idea of CHOLMOD (Chen, Davis, Hager & Rajamanickam 2008, ACM TOMS 35(3)) with the
fill-reducing ordering lme4 uses for the same matrices (largest factor first); the plan
(which blocks to eliminate) is made once per model from the pattern, and each theta only
redoes the numbers.  R equivalent: ``Matrix::Cholesky(M, LDL = FALSE, perm = TRUE)`` as
``lme4`` calls it through ``merPredD``.
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve

DENSE_REST = 4000   # largest remainder factored densely; above it, further elimination or sparse LU
DENSE_ALL = 600     # up to this many random effects the elimination runs on dense arrays


def blas_single_thread():
    """Context: one BLAS thread.  The dense Cholesky of a ~1,000-square Schur complement
    is 10-40x slower with OpenBLAS's threads on a busy 2-core machine than on one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _batched_inv_logdet(M):
    from analysis.mixed.lmm import _inv_logdet
    return _inv_logdet(M)


def _block_diag(blocks: np.ndarray) -> sp.csr_matrix:
    G, q, _ = blocks.shape
    if q == 1:
        return sp.diags(blocks[:, 0, 0], format="csr")
    return sp.bsr_matrix((blocks, np.arange(G), np.arange(G + 1)), shape=(G * q, G * q)).tocsr()


def _is_block_diagonal(S: sp.spmatrix, q: int) -> bool:
    coo = S.tocoo()
    return bool(np.all(coo.row // q == coo.col // q))


class SchurPlan:
    """Which leading term blocks to eliminate, decided once from the pattern of M.

    Parameters
    ----------
    blocks : list of (offset, levels, q)
        The random-effect terms in column order (largest factor first, as lme4 orders them).
    pattern : sparse matrix
        Any matrix with the non-zero pattern of M (e.g. Z'Z plus the identity).
    """

    def __init__(self, blocks, pattern):
        S = abs(sp.csr_matrix(pattern, dtype=float)) + sp.identity(pattern.shape[0], format="csr")
        self.steps: list[tuple[int, int]] = []       # (size, q) per eliminated block
        self.dense_all = S.shape[0] <= DENSE_ALL   # small M: dense arithmetic, no sparse overhead
        for _i, (_offset, G, q) in enumerate(blocks):
            n_k = G * q
            if not _is_block_diagonal(S[:n_k, :n_k], q):
                break
            C = S[:n_k, n_k:]
            S = (S[n_k:, n_k:] + C.T @ C).tocsr()
            self.steps.append((n_k, q))
        self.rest_size = S.shape[0]
        self.dense_rest = self.rest_size <= DENSE_REST

    @property
    def exact_traces(self) -> bool:
        """Whether :meth:`SchurFactor.block_traces` is exact and cheap (dense remainder)."""
        return self.dense_rest

    def factor(self, M) -> "SchurFactor":
        return SchurFactor(self, M)


class SchurFactor:
    """Numeric factorisation of one M following a :class:`SchurPlan`."""

    _rest_inv: Any
    _sel: Any
    _first_rest: Any

    def __init__(self, plan: SchurPlan, M):
        self.plan = plan
        dense = plan.dense_all
        S = M.toarray() if dense else sp.csr_matrix(M)
        self.steps = []
        ld = 0.0
        for n_k, q in plan.steps:
            G = n_k // q
            if dense:
                D = S[:n_k, :n_k]
                idx = np.arange(n_k).reshape(G, q)
                blocks = D[idx[:, :, None], idx[:, None, :]]
            else:
                A = S[:n_k, :n_k].tocoo()
                blocks = np.zeros((G, q, q))
                blocks[A.row // q, A.row % q, A.col % q] = A.data
            Ainv, ldk = _batched_inv_logdet(blocks)
            ld += ldk
            Ainv_sp = _block_diag(Ainv)
            C = S[:n_k, n_k:]
            if dense:
                m = C.shape[1]
                W = np.einsum("gab,gbj->gaj", Ainv, C.reshape(G, q, m)).reshape(n_k, m)
                S = S[n_k:, n_k:] - C.T @ W
            else:
                W = (Ainv_sp @ C).tocsr()
                S = (S[n_k:, n_k:] - C.T @ W).tocsr()
            self.steps.append((n_k, Ainv_sp, W, Ainv))
        m = S.shape[0]
        self.rest = S
        self._cf = self._lu = None
        if m and plan.dense_rest:
            self._cf = cho_factor(S if dense else S.toarray(), lower=True)
            ld += 2.0 * np.log(np.diag(self._cf[0])).sum()
        elif m:
            from scipy.sparse.linalg import splu
            self._lu = splu(sp.csc_matrix(S), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                            options={"SymmetricMode": True})
            d = self._lu.U.diagonal()
            if np.any(d <= 0):
                raise np.linalg.LinAlgError("not positive definite")
            ld += np.log(d).sum()
        self.logdet = float(ld)

    def _solve_rest(self, b):
        if b.shape[0] == 0:
            return b
        if self._cf is not None:
            return cho_solve(self._cf, b)
        return self._lu.solve(b)

    def solve(self, rhs) -> np.ndarray:
        """M^{-1} rhs for a vector or a dense matrix of right-hand sides."""
        b = np.array(rhs, dtype=float, copy=True)
        ys, off = [], 0
        for n_k, Ainv, W, _ in self.steps:
            b1 = b[off:off + n_k]
            ys.append(Ainv @ b1)
            b[off + n_k:] -= W.T @ b1
            off += n_k
        x = np.empty_like(b)
        x[off:] = self._solve_rest(b[off:])
        for (n_k, _, W, _), y1 in zip(reversed(self.steps), reversed(ys)):
            off -= n_k
            x[off:off + n_k] = y1 - W @ x[off + n_k:]
        return x

    def rest_inverse(self) -> np.ndarray:
        """Dense inverse of the Schur complement left after the eliminated blocks
        (LAPACK ``dpotri`` from the Cholesky factor when dense; computed once)."""
        if getattr(self, "_rest_inv", None) is not None:
            return self._rest_inv
        m = self.rest.shape[0]
        if not m:
            inv = np.zeros((0, 0))
        elif self._cf is not None:
            from scipy.linalg.lapack import dpotri
            c, info = dpotri(self._cf[0], lower=1)
            if info != 0:
                raise np.linalg.LinAlgError("dpotri failed")
            low = np.tril(c)
            inv = low + np.tril(c, -1).T
        else:
            inv = self._solve_rest(np.eye(m))
        self._rest_inv = inv
        return inv

    def diag_blocks(self, offset: int, G: int, q: int) -> np.ndarray:
        """The (G, q, q) diagonal blocks of M^{-1} for one term's columns.

        For an eliminated block, [M^{-1}]_11 = A^{-1} + W S^{-1} W' (W = A^{-1} C); for the
        dense remainder, blocks of S^{-1}.  Falls back to solves with unit vectors otherwise.
        """
        first = self.steps[0][0] if self.steps else 0
        if len(self.steps) > 1 and self.plan.dense_rest:
            return self._selected_block(offset, G, q)
        if len(self.steps) <= 1 and self.plan.dense_rest:
            Sinv = self.rest_inverse()
            if offset >= first:
                o = offset - first
                sub = Sinv[o:o + G * q, o:o + G * q]
                return sub.reshape(G, q, G, q)[np.arange(G), :, np.arange(G), :]
            _, _, W, Ainv = self.steps[0]
            out = Ainv.copy()
            if Sinv.shape[0] == 0:
                return out
            chunk = max(q, (4000 // q) * q)
            m = Sinv.shape[0]
            for start in range(0, G * q, chunk):
                Wc = W[start:start + chunk]
                WZ = np.asarray(Wc @ Sinv).reshape(-1, q, m)
                Wd = (Wc if isinstance(Wc, np.ndarray) else Wc.toarray()).reshape(-1, q, m)
                out[start // q:start // q + Wd.shape[0]] += np.einsum("gaj,gbj->gab", WZ, Wd)
            return out
        Q = sum(n for n, _ in self.plan.steps) + self.plan.rest_size
        out = np.empty((G, q, q))
        chunk = max(q, (2000 // q) * q)
        for start in range(0, G * q, chunk):
            cols = offset + np.arange(start, min(start + chunk, G * q))
            E = np.zeros((Q, len(cols)))
            E[cols, np.arange(len(cols))] = 1.0
            V = self.solve(E)[cols, :]
            k = len(cols) // q
            out[start // q:start // q + k] = V.reshape(k, q, k, q)[np.arange(k), :, np.arange(k), :]
        return out

    def block_traces(self, blocks) -> np.ndarray:
        """tr of M^{-1} over each term's columns (needs ``plan.exact_traces``).

        For the eliminated block: tr(A^{-1}) + tr(S^{-1} W'W), so only the pattern of W'W
        is touched; for the remainder, the diagonal of the dense S^{-1}.
        """
        if len(self.steps) > 1:
            return np.array([float(np.trace(self._selected_block(o, G, q), axis1=1, axis2=2).sum())
                             for o, G, q in blocks])
        Sinv = self.rest_inverse()
        if not self.steps:
            d = np.diag(Sinv)
            return np.array([float(d[o:o + G * q].sum()) for o, G, q in blocks])
        first = self.steps[0][0]
        _, _, W, Ainv = self.steps[0]
        if isinstance(W, np.ndarray):
            cross = float((Sinv * (W.T @ W)).sum())
        else:
            WtW = (W.T @ W).tocoo()
            cross = float((Sinv[WtW.row, WtW.col] * WtW.data).sum())
        out = []
        for offset, G, q in blocks:
            if offset < first:
                out.append(float(np.trace(Ainv, axis1=1, axis2=2).sum()) + cross)
            else:
                o = offset - first
                out.append(float(np.diag(Sinv)[o:o + G * q].sum()))
        return np.array(out)

    def _selected_block(self, offset: int, G: int, q: int) -> np.ndarray:
        """Diagonal blocks of M^{-1} for one term when several blocks were eliminated."""
        sel = self._selected()
        off = 0
        for (n_k, _, _, _), D in zip(self.steps, sel):
            if offset == off:
                return D
            off += n_k
        Zrest = self.rest_inverse()
        o = offset - off
        sub = Zrest[o:o + G * q, o:o + G * q]
        return sub.reshape(G, q, G, q)[np.arange(G), :, np.arange(G), :]

    def _selected(self) -> list[np.ndarray]:
        """Diagonal blocks of M^{-1} for every eliminated block, by the selected-inverse
        recursion (Takahashi, Fagan & Chen 1973; Erisman & Tinney 1975): with Z the inverse of
        the Schur complement S known on the pattern of S,

            Z_r1 = -Z W'  (on the pattern of W'),   Z_11 = A^{-1} - W Z_r1,

        from the dense remainder back to the first (largest) block; only entries inside the
        pattern are formed, so nested trees cost O(nnz)."""
        if getattr(self, "_sel", None) is not None:
            return self._sel
        Z = sp.csr_matrix(self.rest_inverse())
        sel: list = [None] * len(self.steps)
        for idx in reversed(range(len(self.steps))):
            n_k, _, W, Ainv = self.steps[idx]
            q = Ainv.shape[1]
            Ws = sp.csr_matrix(W)
            if Z.shape[0] == 0:
                D, Zr1 = Ainv.copy(), sp.csr_matrix((0, n_k))
            else:
                WT = Ws.T.tocsr()
                pattern = WT.copy()
                pattern.data = np.ones_like(pattern.data)
                Zr1 = (-(Z @ WT).multiply(pattern)).tocsr()
                if q == 1:
                    corr = -np.asarray(Ws.multiply(Zr1.T).sum(axis=1)).ravel()
                    D = Ainv + corr[:, None, None]
                else:
                    P = (Ws @ Zr1).tocoo()
                    keep = P.row // q == P.col // q
                    D = Ainv.copy()
                    np.add.at(D, (P.row[keep] // q, P.row[keep] % q, P.col[keep] % q), -P.data[keep])
            sel[idx] = D
            if idx:
                Z = sp.bmat([[_block_diag(D), Zr1.T], [Zr1, Z]], format="csr")
            else:
                self._first_rest = (Zr1, Z)   # what selected_inverse needs to close the recursion
        self._sel = sel
        return sel

    def selected_inverse(self) -> sp.csr_matrix:
        """M^{-1} on (a superset of) the pattern of M, the recursion of :meth:`_selected`
        carried through the first block (needs ``plan.exact_traces``: a dense remainder).

        The Laplace deviance's gradient needs these entries (Bates et al. 2015's
        log|L|^2 differentiated in the weights), never the whole inverse."""
        if not self.steps:
            return sp.csr_matrix(self.rest_inverse())
        sel = self._selected()
        Zr1, Z = self._first_rest
        if Z.shape[0] == 0:
            return _block_diag(sel[0])
        return sp.bmat([[_block_diag(sel[0]), Zr1.T], [Zr1, Z]], format="csr")
