"""Penalised least squares for several grouping factors (nested or crossed), as ``lme4::lmer``.

Bates, Maechler, Bolker & Walker (2015), JSS 67(1), section 3: for relative covariance
factor Lambda(theta), M = Lambda' Z'Z Lambda + I is factored (here by the block
elimination of :mod:`analysis.mixed.schur`, planned once per model; for crossed scalar
terms by :mod:`analysis.mixed.crossed`, with no sparse products per theta), and the profiled
(RE)ML deviance follows from log|M|, log|R_X|^2 and the penalised residual sum of squares
r2 (eqs. 34 and 41).  With scalar random effects only (``(1 | g)`` terms, the usual
crossed and nested survey designs) the gradient in theta is analytic: with
Lambda = sum_k theta_k E_k,

    d log|M| / d theta_k = 2 (n_k - tr_k(M^{-1})) / theta_k
    d r2 / d theta_k     = -2 r' Z E_k u        (envelope theorem, r the PLS residual)
    d log|R_X|^2 / d theta_k = tr(F^{-1} dF),  F = X'X - B_X' M^{-1} B_X,

so the optimiser needs one factorisation and one trace per step, not finite differences.
R equivalent: ``lme4::lmer(y ~ ... + (1 | a) + (1 | b), REML = TRUE/FALSE)``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from analysis.mixed.frame import ModelFrame, sparse_structure
from analysis.mixed.schur import SchurPlan


def _ols(X, y):
    if X.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.lstsq(X, y, rcond=None)[0]


class GeneralPLS:
    """Several grouping factors (nested or crossed): sparse Z, lme4's general PLS."""

    def __init__(self, frame: ModelFrame):
        self.terms = frame.terms
        n, p = frame.X.shape
        self.n, self.p = n, p
        structure = sparse_structure(frame)
        self.Q = structure.Q
        self.blocks = structure.blocks
        Z = structure.Z
        self.beta0 = _ols(frame.X, frame.y)
        R = np.column_stack([frame.X, frame.y - frame.X @ self.beta0 if p else frame.y])
        self.ZtZ = (Z.T @ Z).tocsc()
        self.ZtR = np.asarray(Z.T @ R)
        self.RtR = R.T @ R
        self._structure = structure
        self.plan = SchurPlan(self.blocks, self.ZtZ)
        self.scalar = all(t.q == 1 for t in frame.terms)
        if self.scalar:
            # Lambda is diagonal: M's entries are Z'Z's scaled by lam_i lam_j, pattern fixed
            self._term_of = np.concatenate([np.full(G, k) for k, (_, G, _) in enumerate(self.blocks)])
            coo = (self.ZtZ + sp.identity(self.Q, format="csc") * 0.0).tocoo()
            coo.sum_duplicates()
            self._M_pattern = coo
            self._on_diag = coo.row == coo.col
        # crossed scalar terms (first factor eliminated, dense rest): no sparse algebra per theta
        self.crossed = None
        self._last: tuple | None = None
        if self.scalar and len(self.plan.steps) == 1 and self.plan.dense_rest and self.plan.rest_size:
            from analysis.mixed.crossed import CrossedPlan
            self.crossed = CrossedPlan(self.ZtZ, self.blocks[0][1])

    def _lambda(self, theta):
        return self._structure.lambda_matrix(theta)

    def _system(self, theta):
        if self.scalar:
            lam = np.asarray(theta, dtype=float)[self._term_of]
            c = self._M_pattern
            data = c.data * lam[c.row] * lam[c.col] + self._on_diag
            M = sp.csr_matrix((data, (c.row, c.col)), shape=(self.Q, self.Q))
            B = lam[:, None] * self.ZtR
            return None, M, B
        Lam = self._lambda(theta)
        M = (Lam.T @ self.ZtZ @ Lam + sp.identity(self.Q, format="csc")).tocsr()
        B = np.asarray(Lam.T @ self.ZtR)
        return Lam, M, B

    def _factor(self, theta):
        """B = Lambda' Z'[X y] and the factorisation of M at theta (crossed fast path or Schur)."""
        theta = np.asarray(theta, dtype=float)
        if self.crossed is not None:
            lam = theta[self._term_of]
            G0 = self.crossed.G0
            return lam[:, None] * self.ZtR, self.crossed.factor(lam[0], lam[G0:])
        _, M, B = self._system(theta)
        return B, self.plan.factor(M)

    def solve(self, theta):
        from analysis.mixed.lmm import _fixed_solution
        B, fac = self._factor(theta)
        S = fac.solve(B)
        return _fixed_solution(self.RtR - B.T @ S, self.p, fac.logdet, self.beta0)

    @property
    def has_gradient(self) -> bool:
        return self.scalar and self.plan.exact_traces

    def _pieces(self, theta, reml: bool):
        """log|M|, log|R_X|^2, r2 and their theta-gradients at one theta (module doc); the
        last result is kept, since the optimiser and the Satterthwaite step ask twice."""
        theta = np.asarray(theta, dtype=float)
        key = (theta.tobytes(), reml)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        out = self._compute_pieces(theta, reml)
        self._last = (key, out)
        return out

    def _compute_pieces(self, theta, reml: bool):
        from scipy.linalg import cho_factor, cho_solve
        p = self.p
        B, fac = self._factor(theta)
        S = fac.solve(B)
        A = self.RtR - B.T @ S
        if p:
            cf = cho_factor(A[:p, :p], lower=True)
            beta = cho_solve(cf, A[:p, p])
            ldRX2 = 2.0 * np.log(np.abs(np.diag(cf[0]))).sum()
            P = cho_solve(cf, np.eye(p))
        else:
            beta, ldRX2, P = np.zeros(0), 0.0, np.zeros((0, 0))
        pwrss = max(A[p, p] - A[:p, p] @ beta, 1e-300)
        lam = theta[self._term_of]
        u = S[:, p] - S[:, :p] @ beta
        # Z'(y - X beta - Z Lambda u): the PLS residual projected on each random effect
        Ztr = self.ZtR[:, p] - self.ZtR[:, :p] @ beta - self.ZtZ @ (lam * u)
        traces = fac.block_traces(self.blocks)
        k = len(theta)
        g_ld, g_r, g_x = np.empty(k), np.empty(k), np.zeros(k)
        SX = S[:, :p]
        if p and reml:
            ZtZLS = self.ZtZ @ (lam[:, None] * SX)
            PS = SX @ P
        for t, (offset, G, _) in enumerate(self.blocks):
            sl = slice(offset, offset + G)
            th = theta[t]
            if abs(th) < 1e-10:
                raise ZeroDivisionError
            g_ld[t] = 2.0 * (G - traces[t]) / th
            g_r[t] = -2.0 * Ztr[sl] @ u[sl]
            if p and reml:
                # dF = -(E_k Z'X)' S_X - S_X'(E_k Z'X) + S_X' dM S_X, dM = E Z'Z Lam + Lam Z'Z E
                g_x[t] = -2.0 * ((self.ZtR[sl, :p] * PS[sl]).sum() - (PS[sl] * ZtZLS[sl]).sum())
        return fac.logdet, ldRX2, pwrss, g_ld, g_r, g_x

    def deviance_gradient(self, theta, reml: bool):
        """Profiled (RE)ML deviance and its analytic gradient (scalar terms; see module doc)."""
        from analysis.mixed.lmm import deviance_and_gradient
        ld, ldRX2, pwrss, g_ld, g_r, g_x = self._pieces(theta, reml)
        return deviance_and_gradient(self.n, self.p, reml, ld, ldRX2, pwrss, g_ld, g_r, g_x)

    def vp_gradient(self, varpar, reml: bool) -> np.ndarray:
        """Gradient of lmerTest's devfun_vp (the (RE)ML deviance in (theta, sigma), beta
        profiled): d/dtheta = dlog|M| + dr2/sigma^2 (+ dlog|R_X|^2), d/dsigma =
        -2 r2/sigma^3 + 2 (n - p REML)/sigma."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        _, _, pwrss, g_ld, g_r, g_x = self._pieces(theta, reml)
        n_eff = self.n - (self.p if reml else 0)
        g_theta = g_ld + g_r / sigma ** 2 + (g_x if reml else 0.0)
        return np.concatenate([g_theta, [-2.0 * pwrss / sigma ** 3 + 2.0 * n_eff / sigma]])

    def vp_sigma_column(self, varpar, reml: bool) -> np.ndarray:
        """d/dsigma of :meth:`vp_gradient`, analytic: -2 dr2/dtheta / sigma^3 for the theta
        rows and 6 r2/sigma^4 - 2 (n - p REML)/sigma^2 for sigma (Kuznetsova et al. 2017's
        Hessian of devfun_vp, its sigma column without differences)."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        _, _, pwrss, _, g_r, _ = self._pieces(theta, reml)
        n_eff = self.n - (self.p if reml else 0)
        return np.concatenate([-2.0 * g_r / sigma ** 3, [6.0 * pwrss / sigma ** 4 - 2.0 * n_eff / sigma ** 2]])

    def vcov_jacobian(self, theta, sigma: float) -> np.ndarray:
        """d vcov(beta) / d theta_k = -sigma^2 F^{-1} dF_k F^{-1} (k, p, p), analytic for scalar
        terms: F = X'X - B_X' M^{-1} B_X and dF_k as in the module doc, so the Satterthwaite
        Jacobian (Kuznetsova et al. 2017, eq. 7) needs one factorisation, not 2k + 1."""
        theta = np.asarray(theta, dtype=float)
        p = self.p
        B, fac = self._factor(theta)
        SX = fac.solve(B[:, :p])
        Finv = np.linalg.inv(self.RtR[:p, :p] - B[:, :p].T @ SX)
        ZtZLS = self.ZtZ @ (theta[self._term_of][:, None] * SX)
        jac = np.empty((len(theta), p, p))
        for t, (offset, G, _) in enumerate(self.blocks):
            sl = slice(offset, offset + G)
            D1 = self.ZtR[sl, :p].T @ SX[sl]
            D2 = SX[sl].T @ ZtZLS[sl]
            jac[t] = -sigma ** 2 * Finv @ (D2 + D2.T - D1 - D1.T) @ Finv
        return jac

    def modes(self, theta, beta, sigma):
        B, fac = self._factor(theta)
        u = fac.solve(B[:, self.p] - B[:, :self.p] @ (beta - self.beta0))
        Lam = self._lambda(theta)
        b = Lam @ u
        out = []
        T_blocks = _term_T(theta, self.terms)
        for (offset, G, q), T in zip(self.blocks, T_blocks):
            idx = np.arange(offset, offset + G * q)
            D = fac.diag_blocks(offset, G, q)          # blocks of M^{-1}
            cov = np.einsum("ia,gab,jb->gij", T, D, T)  # Lambda M^{-1} Lambda', block by block
            out.append((b[idx].reshape(G, q), sigma ** 2 * cov))
        return out


def _term_T(theta, terms):
    from analysis.mixed.lmm import split_theta
    return split_theta(np.asarray(theta, dtype=float), terms)
