"""Multilevel logistic regression by the Laplace approximation, as ``lme4::glmer``.

Bates et al. (2015, JSS 67(1)) and the lme4 ``PIRLS`` vignette: for fixed (theta, beta)
penalised iteratively reweighted least squares finds the conditional mode u* of the
spherical random effects; the Laplace deviance is

    d(theta, beta) = sum_i devres_i(y, mu(u*)) + ||u*||^2 + log|Lambda'Z'WZ Lambda + I|

and is minimised over (theta, beta) jointly (lme4's second stage, nAGQ = 1) by L-BFGS-B
with the deviance's analytic gradient (implicit differentiation of u* and one adjoint
solve, :meth:`Laplace.deviance_gradient`; one grouping factor, or crossed and nested
random intercepts), PIRLS warm-started from the previous modes, and the fixed effects
preconditioned by the GLM information (:func:`_fixed_effects_map`); other designs
difference the deviance.  The covariance of beta is 2 H^{-1} restricted to beta, H the
finite-difference Hessian of d over (theta, beta), as ``vcov.merMod(use.hessian = TRUE)``
in lme4 1.1-31 (one factor: lme4's ``deriv12`` on its own PIRLS stopping rule,
:meth:`Laplace.lme4_deviances`; crossed intercepts: differences of the gradient).
R equivalent: ``lme4::glmer(y ~ ..., family = binomial, nAGQ = 1)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from analysis.errors import InputError
from analysis.mixed.frame import ModelFrame, sparse_structure
from analysis.mixed.families import Binomial, make_family
from analysis.mixed.lmm import optimize_theta, split_theta, theta_start
from analysis.mixed.optimize import deriv12, gradient_hessian, scaled_gradient
from analysis.mixed.schur import SchurPlan

SELECTED_INVERSE_CELLS = 5_000_000   # largest remainder x random effects for the analytic gradient
RESTART_GRADIENT = 1e-2   # largest |gradient| (optimiser's coordinates) at which L-BFGS-B is not restarted


def glm_start(X, y, separation_names=None, family=None):
    """GLM by IRLS (start values, as ``glm.fit``); detects perfect separation (binomial)."""
    fam = family if family is not None else Binomial(y)
    if X.shape[1] == 0:
        return np.zeros(0)
    mu = fam.start()
    eta = fam.link_fun(mu)
    beta = np.zeros(X.shape[1])
    for it in range(60):
        v = np.maximum(fam.variance(mu), 1e-12)
        w = fam.wt * v
        z = eta + (fam.y - mu) / v
        new = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * z))
        eta = X @ new
        mu = fam.linkinv(eta)
        if it and np.abs(new - beta).max() < 1e-10:
            beta = new
            break
        beta = new
    eta = X @ beta
    if fam.name == "binomial" and np.abs(eta).max() > 25:
        sd = X.std(axis=0)
        sd[sd == 0] = 1.0
        j = int(np.argmax(np.abs(beta) * sd * (np.arange(len(beta)) > 0 if len(beta) > 1 else 1)))
        name = separation_names[j] if separation_names else str(j)
        raise InputError(f"perfect separation: '{name}' predicts the outcome (almost) perfectly, "
                         "so its odds ratio is infinite",
                         hint="drop or merge that predictor's categories, or use a penalised model")
    return beta


def _fixed_effects_map(X, beta0, fam, levels=1.0):
    """The matrix A of the optimiser's fixed-effect coordinates gamma,
    beta = beta0 + A gamma, A = sqrt(levels) L'^{-1} with L L' = X'WX the GLM information
    at the start values (a preconditioner; Nocedal & Wright 2006, sec. 7.2).

    In gamma the fixed-effect block of the deviance's Hessian is about 2 x levels times
    the identity whatever the predictors' units (a predictor in thousands no longer makes
    L-BFGS-B's first steps absurd), and a variance parameter's curvature is of the order
    of its term's number of levels (each level adds a log-determinant term), so with
    ``levels`` the mean number of levels the two blocks are on one scale, which is what
    L-BFGS-B's scaled-identity start assumes.  The identity when X'WX is not positive
    definite.
    """
    p = X.shape[1]
    if p == 0:
        return np.zeros((0, 0))
    mu = fam.linkinv(X @ beta0)
    w = fam.wt * fam.variance(mu)
    try:
        L = np.linalg.cholesky(X.T @ (w[:, None] * X))
        return np.sqrt(levels) * np.linalg.solve(L.T, np.eye(p))
    except np.linalg.LinAlgError:
        return np.eye(p)


def _level_sums(cells, values, G):
    """Sums of ``values`` (points x rows) by level, point by point: ``cells`` holds each
    row's level offset by G times its point's index.  Returns (points x G)."""
    return np.bincount(cells, weights=values.ravel(), minlength=cells.size // values.shape[1] * G).reshape(-1, G)


def _inv_logdet_each(M):
    """Inverses and log-determinants of a (P, G, q, q) stack of SPD blocks, the
    log-determinants summed over the G blocks of each of the P points."""
    P, G, q, _ = M.shape
    if q == 1:
        return 1.0 / M, np.log(M[:, :, 0, 0]).sum(axis=1)
    if q == 2:
        a, b, c, d = M[..., 0, 0], M[..., 0, 1], M[..., 1, 0], M[..., 1, 1]
        det = a * d - b * c
        if np.any(det <= 0):
            raise np.linalg.LinAlgError("not positive definite")
        inv = np.empty_like(M)
        inv[..., 0, 0], inv[..., 0, 1], inv[..., 1, 0], inv[..., 1, 1] = d / det, -b / det, -c / det, a / det
        return inv, np.log(det).sum(axis=1)
    L = np.linalg.cholesky(M)
    return np.linalg.inv(M), 2.0 * np.log(np.diagonal(L, axis1=2, axis2=3)).sum(axis=(1, 2))


def _halving_step(pdev, u, delta, pd):
    """One PIRLS update of the spherical random effects ``u``: the Newton step ``delta``,
    halved until the penalised deviance ``pdev`` does not increase (as lme4's PIRLS does).
    Returns the new u, its penalised deviance, its mean vector and whether PIRLS converged."""
    t = 1.0
    for _ in range(30):
        new = u + t * delta
        pd_new, mu_new = pdev(new)
        if pd_new <= pd + 1e-12 * abs(pd):
            break
        t /= 2
    converged = np.abs(new - u).max() < 1e-10 or abs(pd - pd_new) < 1e-13 * abs(pd)
    return new, pd_new, mu_new, converged


@dataclass
class _BlockedModes:
    """PIRLS's result for one grouping factor at one (theta, beta)."""
    T: np.ndarray          # q x q relative covariance factor
    U: np.ndarray          # G x q spherical conditional modes
    mu: np.ndarray         # fitted means
    Minv: np.ndarray       # G x q x q inverses of M_g = T'Z_g'W Z_g T + I
    ZWZ: np.ndarray        # G x q x q  Z_g'W Z_g
    deviance: float        # devres-based Laplace deviance


class Laplace:
    def __init__(self, frame: ModelFrame, family=None):
        self.y, self.X = frame.y, frame.X
        self.family = family if family is not None else Binomial(frame.y)
        structure = sparse_structure(frame)
        self.blocks = structure.blocks
        self.Q, self.ntheta = structure.Q, structure.n_theta
        self.Z = structure.Z.tocsr()
        self._structure = structure
        self.u = np.zeros(structure.Q)
        self.plan = SchurPlan(self.blocks, (self.Z.T @ self.Z).tocsc())
        self.scalar = len(frame.terms) > 1 and all(t.q == 1 for t in frame.terms)
        if self.scalar:
            self._weighted_gram_setup(frame)
        # one grouping factor: block-diagonal system, solved group by group
        self.single = frame.terms[0] if len(frame.terms) == 1 else None

    def _blocked_modes(self, theta, beta, u0=None) -> "_BlockedModes":
        """PIRLS for one grouping factor: the system is block-diagonal (one q x q block per
        level), so each Newton step of the conditional modes is solved level by level.
        Starts from ``u0`` or the last accepted modes (a warm start: near the previous
        (theta, beta) one or two steps suffice)."""
        from analysis.mixed.lmm import _inv_logdet, tri
        term = self.single
        assert term is not None
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        fam = self.family
        T = tri(theta, q)
        offset = self.X @ beta
        U = (self.u.copy() if u0 is None else u0.copy()).reshape(G, q)

        def eta_of(U_):
            b = U_ @ T.T
            return offset + (Z * b[codes]).sum(axis=1)

        def pdev(U_):
            mu_ = fam.linkinv(eta_of(U_))
            return fam.devres(mu_).sum() + (U_ * U_).sum(), mu_

        def system(mu_):
            w = fam.wt * fam.variance(mu_)
            ZWZ = np.empty((G, q, q))
            for a in range(q):
                for b in range(a, q):
                    ZWZ[:, a, b] = ZWZ[:, b, a] = np.bincount(codes, weights=w * Z[:, a] * Z[:, b], minlength=G)
            M = np.einsum("ka,gkl,lb->gab", T, ZWZ, T) + np.eye(q)
            return _inv_logdet(M), ZWZ

        pd_, mu = pdev(U)
        for _ in range(100):
            (Minv, _), _ = system(mu)
            r = fam.wt * (self.y - mu)
            zr = np.column_stack([np.bincount(codes, weights=Z[:, a] * r, minlength=G) for a in range(q)])
            grad = zr @ T - U
            delta = (Minv * grad[:, None, :]).sum(axis=2)
            U, pd_, mu, converged = _halving_step(pdev, U, delta, pd_)
            if converged:
                break
        (Minv, ld), ZWZ = system(mu)
        if q == 1:
            Minv = Minv.reshape(G, 1, 1)
        return _BlockedModes(T, U, mu, Minv, ZWZ, fam.devres(mu).sum() + (U * U).sum() + ld)

    def _pirls_blocked(self, theta, beta, u0=None):
        m = self._blocked_modes(theta, beta, u0)
        return m.deviance, m.U.ravel(), m.mu, None

    def _blocked_gradient(self, m: "_BlockedModes") -> np.ndarray:
        """Gradient of the Laplace deviance in (theta, beta), one grouping factor.

        d = pdev(u*) + sum_g log|M_g|, M_g = I + T'Z_g'W Z_g T.  At the conditional modes
        the penalised deviance is stationary in u, so its part is the partial derivative
        (-2 X'r in beta, r = wt (y - mu)); the log-determinant moves with T directly and
        with W = wt var(mu) through eta = X beta + Z T u*, and u* moves with (theta, beta)
        by the implicit-function theorem (du* = -M^{-1} dF, F = u - T'Z'r the stationarity
        condition, whose Jacobian in u is M for a canonical link).  One adjoint solve,
        v = M^{-1} T'Z's with s_i = c_i dw_i/deta and c_i = z_i'T M_g^{-1} T'z_i, gives
        that part for every parameter at once (the adjoint method; Nocedal & Wright 2006,
        sec. 8.2; the Laplace deviance of Bates et al. 2015, JSS 67(1), sec. 5).
        Exact up to PIRLS's convergence tolerance; it costs about one PIRLS step.
        """
        term = self.single
        assert term is not None
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        fam, T, U, mu, Minv, B = self.family, m.T, m.U, m.mu, m.Minv, m.ZWZ
        var = fam.variance(mu)
        r = fam.wt * (self.y - mu)
        w = fam.wt * var
        K = np.einsum("ak,gkl,bl->gab", T, Minv, T)                  # T M_g^{-1} T'
        c = np.einsum("ia,iab,ib->i", Z, K[codes], Z)                # z_i' T M_g^{-1} T' z_i
        s = c * fam.wt * fam.dvariance(mu) * var                     # d log|M| / d eta_i

        def by_group(v):
            return np.column_stack([np.bincount(codes, weights=Z[:, a] * v, minlength=G) for a in range(q)])
        zr, zs = by_group(r), by_group(s)
        v = np.einsum("gab,gb->ga", Minv, zs @ T)                    # adjoint: M_g^{-1} T' Z_g's
        Tv = v @ T.T
        zeta = (Z * Tv[codes]).sum(axis=1)
        g_beta = self.X.T @ (s - 2.0 * r - w * zeta)
        BTv = np.einsum("gab,gb->ga", B, Tv)
        MTB = np.einsum("gab,cb,gcd->gad", Minv, T, B)               # M_g^{-1} T' B_g
        # derivative in T[a, b], as a q x q matrix
        D = (-2.0 * zr + zs - BTv).T @ U + zr.T @ v + 2.0 * MTB.sum(axis=0).T
        g_theta = np.array([D[i, j] for j in range(q) for i in range(j, q)])
        return np.concatenate([g_theta, g_beta])

    def lme4_deviance(self, params, lp0, tol=1e-7):
        """The Laplace deviance exactly as lme4's stage-2 devfun evaluates it.

        Each call restarts PIRLS from the optimum's linear predictor lp0 and stops when
        the penalised deviance changes by less than tolPwrss (1e-7, relative), with the
        log-determinant from the last decomposition.  Near the optimum this differs from
        the fully converged value by O(step^2), which shows in lme4's finite-difference
        Hessian and so in its standard errors; used only for that Hessian.
        """
        return float(self.lme4_deviances(np.asarray(params, dtype=float)[None, :], lp0, tol)[0])

    def lme4_deviances(self, points, lp0, tol=1e-7, max_cells=32_000):
        """:meth:`lme4_deviance` at each row of ``points`` (k parameters each).

        Every evaluation starts PIRLS from the same linear predictor lp0, so the first
        step's weights, Z'WZ and working-response sums are shared: only X beta differs,
        which enters that step through the level sums Z'W X (computed once).  Later steps
        run the points side by side as (points x rows) arrays, each point stopping at its
        own iteration, in chunks of at most ``max_cells`` array cells (small enough to
        stay in the CPU cache).  The values agree with the point-by-point recursion up
        to rounding; evaluating the finite-difference Hessian's 2k^2 + 1 points together
        costs about half as much.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        term = self.single
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        fam, X = self.family, self.X
        mu0 = fam.linkinv(lp0)
        v0 = fam.variance(mu0)
        w0 = fam.wt * v0
        wz0 = w0 * (lp0 + (self.y - mu0) / v0)
        ZWX = np.zeros((G, q, X.shape[1]))
        for a in range(q):
            for j in range(X.shape[1]):
                ZWX[:, a, j] = np.bincount(codes, weights=Z[:, a] * w0 * X[:, j], minlength=G)
        first = (self._zwz(w0),
                 np.column_stack([np.bincount(codes, weights=Z[:, a] * wz0, minlength=G) for a in range(q)]),
                 ZWX)
        chunk = max(1, max_cells // max(len(self.y), 1))
        return np.concatenate([self._lme4_chunk(points[i:i + chunk], first, tol)
                               for i in range(0, len(points), chunk)])

    def _zwz(self, w):
        """Z_g'W Z_g for every level g of the single grouping factor, (G, q, q)."""
        term = self.single
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        out = np.empty((G, q, q))
        for a in range(q):
            for b in range(a, q):
                out[:, a, b] = out[:, b, a] = np.bincount(codes, weights=w * Z[:, a] * Z[:, b], minlength=G)
        return out

    def _lme4_chunk(self, points, first, tol):
        from analysis.mixed.lmm import tri
        term = self.single
        assert term is not None
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        fam = self.family
        P = len(points)
        T = np.stack([tri(x[:self.ntheta], q) for x in points])          # P x q x q
        beta = points[:, self.ntheta:]
        offset = beta @ self.X.T                                           # P x n
        ZWZ0, ZWz0, ZWX0 = first
        # the first step: Z'WZ is shared, the working response's level sums are
        # Z'W (lp0 + (y - mu)/v) - Z'W X beta
        ZWZ = np.broadcast_to(ZWZ0, (P, G, q, q))
        r = ZWz0[None] - np.einsum("gaj,pj->pga", ZWX0, beta)               # P x G x q
        out = np.full(P, np.nan)
        oldpdev = np.full(P, np.inf)
        active = np.arange(P)
        for _ in range(100):
            U, ld, eta = self._lme4_step(T, ZWZ, r, offset)
            mu = fam.linkinv(eta)
            pdev = fam.devres(mu).sum(axis=1) + (U * U).sum(axis=(1, 2))
            done = np.abs((oldpdev - pdev) / pdev) < tol
            out[active[done]] = (pdev + ld)[done]
            keep = ~done
            if not keep.any():
                return out
            active, T, offset, eta, mu, oldpdev = active[keep], T[keep], offset[keep], eta[keep], mu[keep], pdev[keep]
            # the next step's system at the new means, level sums for all points at once
            cells = (codes[None, :] + G * np.arange(len(active))[:, None]).ravel()
            v = fam.variance(mu)
            w = fam.wt * v
            wz = w * ((eta - offset) + (self.y - mu) / v)
            ZWZ = np.empty((len(active), G, q, q))
            for a in range(q):
                for b in range(a, q):
                    ZWZ[:, :, a, b] = ZWZ[:, :, b, a] = _level_sums(cells, w * (Z[:, a] * Z[:, b]), G)
            r = np.stack([_level_sums(cells, Z[:, a] * wz, G) for a in range(q)], axis=2)
        out[active] = (pdev + ld)[keep]
        return out

    def _lme4_step(self, T, ZWZ, r, offset):
        """One PIRLS solve for P points: u_g = M_g^{-1} T'r_g with M_g = T'Z_g'WZ_g T + I;
        returns U (P x G x q), the summed log|M_g| per point and the new linear predictor."""
        term = self.single
        assert term is not None
        Z, codes = term.Z, term.codes
        if term.q == 1:
            t = T[:, 0, 0][:, None]
            Minv, ld = _inv_logdet_each(t[:, :, None, None] ** 2 * ZWZ + 1.0)
            U = Minv[:, :, :, 0] * (r * t[:, :, None])
            return U, ld, offset + Z[:, 0] * (U[:, :, 0] * t)[:, codes]
        Minv, ld = _inv_logdet_each(np.einsum("pka,pgkl,plb->pgab", T, ZWZ, T) + np.eye(term.q))
        U = np.einsum("pgab,pgb->pga", Minv, np.einsum("pgk,pka->pga", r, T))
        b = np.einsum("pga,pka->pgk", U, T)                                      # rows of T u_g
        return U, ld, offset + (Z[None, :, :] * b[:, codes, :]).sum(axis=2)

    def _weighted_gram_setup(self, frame):
        """Scalar terms: Z'WZ keeps one pattern, its values are P w for a fixed sparse P
        (each row adds w_i z_a z_b to the cells of its levels), so a PIRLS step needs one
        sparse mat-vec instead of a sparse matrix product."""
        n = frame.n
        cols = [off + t.codes for t, (off, _, _) in zip(frame.terms, self.blocks)]
        zs = [t.Z[:, 0] for t in frame.terms]
        r = np.concatenate([ca for ca in cols for _ in cols])
        c = np.concatenate([cb for _ in cols for cb in cols])
        v = np.concatenate([za * zb for za in zs for zb in zs])
        obs = np.tile(np.arange(n), len(cols) ** 2)
        key = r.astype(np.int64) * self.Q + c
        uniq, cell = np.unique(key, return_inverse=True)
        self._P = sp.csr_matrix((v, (cell, obs)), shape=(len(uniq), n))
        ur, uc = uniq // self.Q, uniq % self.Q
        self._M_indices = uc.astype(np.int32)
        self._M_indptr = np.concatenate([[0], np.cumsum(np.bincount(ur, minlength=self.Q))]).astype(np.int32)
        self._M_rows, self._M_cols = ur, uc
        self._on_diag = (ur == uc).astype(float)
        self._term_of = np.concatenate([np.full(G, k) for k, (_, G, _) in enumerate(self.blocks)])
        self._Zt = self.Z.T.tocsr()

    def _scalar_system(self, theta):
        lam = np.asarray(theta, dtype=float)[self._term_of]
        scale = lam[self._M_rows] * lam[self._M_cols]

        def matrix(w):
            data = (self._P @ w) * scale + self._on_diag
            return sp.csr_matrix((data, self._M_indices, self._M_indptr), shape=(self.Q, self.Q))
        return lam, matrix

    def lam_matrix(self, theta):
        return self._structure.lambda_matrix(theta)

    def pirls(self, theta, beta, u0=None):
        """Conditional modes u* for fixed (theta, beta); returns (deviance, u, mu, solver)."""
        if self.single is not None and u0 is None:
            return self._pirls_blocked(theta, beta)
        fam = self.family
        offset = self.X @ beta
        u = self.u.copy() if u0 is None else u0.copy()
        if self.scalar:
            lam, matrix = self._scalar_system(theta)
            Au = lambda u_: self.Z @ (lam * u_)          # noqa: E731  Z Lambda u
            Atr = lambda r_: lam * (self._Zt @ r_)       # noqa: E731  Lambda'Z' r

            def factor(mu_):
                return self.plan.factor(matrix(fam.wt * fam.variance(mu_)))
        else:
            A = (self.Z @ self.lam_matrix(theta)).tocsr()
            At = A.T.tocsr()
            I = sp.identity(self.Q, format="csr")
            Au = lambda u_: A @ u_                       # noqa: E731
            Atr = lambda r_: At @ r_                     # noqa: E731

            def factor(mu_):
                w = fam.wt * fam.variance(mu_)
                return self.plan.factor((At @ A.multiply(w[:, None]).tocsr() + I).tocsr())

        def pdev(u_):
            mu_ = fam.linkinv(offset + Au(u_))
            return fam.devres(mu_).sum() + u_ @ u_, mu_

        pd, mu = pdev(u)
        for _ in range(100):
            fac = factor(mu)
            delta = fac.solve(Atr(fam.wt * (self.y - mu)) - u)
            u, pd, mu, converged = _halving_step(pdev, u, delta, pd)
            if converged:
                break
        fac = factor(mu)
        return fam.devres(mu).sum() + u @ u + fac.logdet, u, mu, fac

    def deviance(self, params):
        theta, beta = params[:self.ntheta], params[self.ntheta:]
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # a failed trial point: infinite deviance
                dev, u, _, _ = self.pirls(theta, beta)
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            return np.inf
        if np.isfinite(dev):
            self.u = u
        return dev

    @property
    def has_gradient(self) -> bool:
        """Whether :meth:`deviance_gradient` is analytic: one grouping factor (any q), or
        scalar terms (crossed and nested random intercepts) whose factorisation ends in a
        dense remainder small enough that the selected inverse of M, which holds about
        remainder x Q numbers, stays cheap (else the optimiser differences deviances)."""
        return self.single is not None or (self.scalar and self.plan.exact_traces
                                           and self.plan.rest_size * self.Q <= SELECTED_INVERSE_CELLS)

    def deviance_gradient(self, params):
        """The Laplace deviance and its analytic gradient in (theta, beta) (needs
        :attr:`has_gradient`); PIRLS starts from the last accepted modes."""
        theta, beta = params[:self.ntheta], params[self.ntheta:]
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # a failed trial point: infinite deviance
                return self._deviance_gradient(theta, beta, len(params))
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            return np.inf, np.zeros(len(params))

    def _deviance_gradient(self, theta, beta, k):
        if self.single is not None:
            m = self._blocked_modes(theta, beta)
            dev, u = m.deviance, m.U.ravel()
            if not np.isfinite(dev):
                return np.inf, np.zeros(k)
            g = self._blocked_gradient(m)
        else:
            dev, u, mu, fac = self.pirls(theta, beta, u0=self.u)
            if not np.isfinite(dev):
                return np.inf, np.zeros(k)
            g = self._scalar_gradient(theta, u, mu, fac)
        self.u = u
        return float(dev), g

    def gradient(self, params):
        """The deviance's gradient: analytic when offered, else central differences."""
        if self.has_gradient:
            return self.deviance_gradient(params)[1]
        from analysis.mixed.optimize import _central_gradient
        return _central_gradient(self.deviance, np.asarray(params, dtype=float), None)

    def _scalar_gradient(self, theta, u, mu, fac) -> np.ndarray:
        """Gradient of the Laplace deviance for scalar terms (crossed or nested random
        intercepts): :meth:`_blocked_gradient`'s formulas with Lambda = diag(lambda_k) over
        the sparse M.  c_i = a_i'M^{-1}a_i (a_i the i-th row of Z Lambda) and the direct
        log-determinant term tr(M^{-1} dM/dlambda_k) need M^{-1} only on the pattern of
        M: the selected inverse (:meth:`SchurFactor.selected_inverse`, Takahashi et al.
        1973), mapped to the cells of M once per model by the sparse P of
        :meth:`_weighted_gram_setup`.  Plus one solve with M for the adjoint."""
        fam = self.family
        lam = np.asarray(theta, dtype=float)[self._term_of]
        rows, cols = self._M_rows, self._M_cols
        minv = np.asarray(fac.selected_inverse()[rows, cols]).ravel()     # M^{-1} on M's cells
        var = fam.variance(mu)
        r = fam.wt * (self.y - mu)
        w = fam.wt * var
        c = self._P.T @ (minv * lam[rows] * lam[cols])
        s = c * fam.wt * fam.dvariance(mu) * var
        Ztr, Zts = self._Zt @ r, self._Zt @ s
        v = fac.solve(lam * Zts)                                             # adjoint M^{-1} Lambda Z's
        zeta = self.Z @ (lam * v)
        g_beta = self.X.T @ (s - 2.0 * r - w * zeta)
        per_level = (Zts - 2.0 * Ztr - self._Zt @ (w * zeta)) * u + v * Ztr
        direct = 2.0 * minv * lam[cols] * (self._P @ w)                    # 2 (M^{-1} Lambda B)_jl B_lj
        n_terms = len(self.blocks)
        g_theta = (np.bincount(self._term_of, weights=per_level, minlength=n_terms)
                   + np.bincount(self._term_of[rows], weights=direct, minlength=n_terms))
        return np.concatenate([g_theta, g_beta])


@dataclass
class GlmmFit:
    theta: np.ndarray
    beta: np.ndarray
    laplace_deviance: float
    deviance: float        # sum of squared deviance residuals (lme4's deviance() for GLMMs)
    vcov: np.ndarray
    max_grad: float
    u: np.ndarray
    mu: np.ndarray
    model: Laplace
    messages: list


def fit_glmm(frame: ModelFrame, family: str = "binomial") -> GlmmFit:
    """Laplace fit of a binomial (logit) or Poisson (log) GLMM, as ``lme4::glmer(nAGQ = 1)``.

    ``frame.trials`` (``cbind`` outcomes) and ``frame.weights`` (prior weights) enter the
    family as ``glm`` does; the reported Laplace deviance is ``aic + ||u||^2 + log|L|^2``
    (lme4's ``glmResp::Laplace``), -2 x the log-likelihood ``logLik()`` prints.
    """
    fam = make_family(family, frame.y, getattr(frame, "trials", None), getattr(frame, "weights", None))
    model = Laplace(frame, fam)
    beta0 = glm_start(frame.X, frame.y, frame.x_names, family=fam)
    p = frame.X.shape[1]
    nt = model.ntheta
    theta0 = theta_start(frame.terms)
    precond = _fixed_effects_map(frame.X, beta0, fam, np.mean([t.n_levels for t in frame.terms]))

    def full(x):
        return np.concatenate([x[:nt], beta0 + precond @ x[nt:]])

    def dev(x):
        return model.deviance(full(x))

    dev_grad = None
    if model.has_gradient:
        def dev_grad(x):
            value, g = model.deviance_gradient(full(x))
            return value, np.concatenate([g[:nt], precond.T @ g[nt:]])
    start = np.concatenate([theta0, np.zeros(p)])
    x, fx, gmax = optimize_theta(dev, frame.terms, start=start, extra_dims=p, dev_grad=dev_grad, max_newton=0)
    for _ in range(2):
        # L-BFGS-B stops short when PIRLS fails at its trial points (means overflowing for a
        # slope on an uncentred wide-range predictor): restart it from there with a fresh
        # curvature memory while that lowers the deviance
        if not gmax > RESTART_GRADIENT:
            break
        x2, f2, g2 = optimize_theta(dev, frame.terms, start=x, extra_dims=p, dev_grad=dev_grad, max_newton=0)
        if not f2 < fx:
            break
        x, fx, gmax = x2, f2, g2
    params = full(x)
    theta, beta = params[:nt], params[nt:]
    lap, u, mu, _ = model.pirls(theta, beta)
    _, _, _, fac = model.pirls(theta, beta, u0=u)
    messages = []
    model.u = u
    grad = model.gradient(params)
    model.u = u
    if model.single is not None:
        lp0 = frame.X @ beta + (model.single.Z * (u.reshape(-1, model.single.q)
                                                   @ split_theta(theta, frame.terms)[0].T)[model.single.codes]).sum(axis=1)
        _, H = deriv12(None, params, f_many=lambda pts: model.lme4_deviances(pts, lp0))
    elif model.has_gradient:
        H = gradient_hessian(lambda x: model.gradient(x), params)
    else:
        _, H = deriv12(model.deviance, params)
    # lme4's checkConv statistic, with the gradient computed accurately at the optimum
    # (deriv12's fixed step misjudges it when a predictor's units are large)
    max_grad = scaled_gradient(grad, H)
    V = None
    try:
        Hinv = np.linalg.inv(H)
        V = 2 * Hinv[model.ntheta:, model.ntheta:]
        V = (V + V.T) / 2
        if np.any(~np.isfinite(V)) or (V.size and np.linalg.eigvalsh(V).min() <= 0):
            V = None
    except np.linalg.LinAlgError:
        V = None
    if V is None:
        # lme4's fallback: the RX-based covariance from the final PIRLS weights
        w = fam.wt * fam.variance(mu)
        A = (model.Z @ model.lam_matrix(theta)).tocsr()
        AtWX = A.T @ (w[:, None] * frame.X)
        V = np.linalg.inv(frame.X.T @ (w[:, None] * frame.X) - AtWX.T @ fac.solve(AtWX))
        messages.append("the standard errors come from the working weights because the numerical "
                        "Hessian was not positive definite")
    model.u = u
    if fam.name == "binomial" and np.abs(frame.X @ beta).max() > 25:
        raise InputError("perfect separation: some combination of predictors predicts the outcome "
                         "perfectly, so odds ratios are infinite",
                         hint="drop or merge sparse categories of the predictors")
    devres = fam.devres(mu)
    lap_full = lap + (fam.aic(mu) - devres.sum())   # devres-based PIRLS deviance -> -2 logLik
    return GlmmFit(theta, beta, float(lap_full), float(devres.sum()), V, max_grad, u, mu, model, messages)
