"""Multilevel logistic regression by the Laplace approximation, as ``lme4::glmer``.

Bates et al. (2015, JSS 67(1)) and the lme4 ``PIRLS`` vignette: for fixed (theta, beta)
penalised iteratively reweighted least squares finds the conditional mode u* of the
spherical random effects; the Laplace deviance is

    d(theta, beta) = sum_i devres_i(y, mu(u*)) + ||u*||^2 + log|Lambda'Z'WZ Lambda + I|

and is minimised over (theta, beta) jointly (lme4's second stage, nAGQ = 1).  The
covariance of beta is 2 H^{-1} restricted to beta, H the finite-difference Hessian
of d over (theta, beta), as ``vcov.merMod(use.hessian = TRUE)`` in lme4 1.1-31.
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
from analysis.mixed.schur import SchurPlan


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

    def _pirls_blocked(self, theta, beta, u0=None):
        from analysis.mixed.lmm import _inv_logdet, tri
        term = self.single
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
            return _inv_logdet(M)

        pd_, mu = pdev(U)
        for _ in range(100):
            Minv, _ = system(mu)
            r = fam.wt * (self.y - mu)
            zr = np.column_stack([np.bincount(codes, weights=Z[:, a] * r, minlength=G) for a in range(q)])
            grad = zr @ T - U
            delta = (Minv * grad[:, None, :]).sum(axis=2)
            U, pd_, mu, converged = _halving_step(pdev, U, delta, pd_)
            if converged:
                break
        Minv, ld = system(mu)
        return fam.devres(mu).sum() + (U * U).sum() + ld, U.ravel(), mu, None

    def lme4_deviance(self, params, lp0, tol=1e-7):
        """The Laplace deviance exactly as lme4's stage-2 devfun evaluates it.

        Each call restarts PIRLS from the optimum's linear predictor lp0 and stops when
        the penalised deviance changes by less than tolPwrss (1e-7, relative), with the
        log-determinant from the last decomposition.  Near the optimum this differs from
        the fully converged value by O(step^2), which shows in lme4's finite-difference
        Hessian and so in its standard errors; used only for that Hessian.
        """
        from analysis.mixed.lmm import _inv_logdet, tri
        term = self.single
        G, q, codes, Z = term.n_levels, term.q, term.codes, term.Z
        theta, beta = params[:self.ntheta], params[self.ntheta:]
        T = tri(theta, q)
        offset = self.X @ beta
        fam = self.family
        eta = lp0.copy()
        mu = fam.linkinv(eta)
        oldpdev = np.inf
        for _ in range(100):
            v = fam.variance(mu)
            w = fam.wt * v
            z = (eta - offset) + (self.y - mu) / v
            ZWZ = np.empty((G, q, q))
            for a in range(q):
                for b in range(a, q):
                    ZWZ[:, a, b] = ZWZ[:, b, a] = np.bincount(codes, weights=w * Z[:, a] * Z[:, b], minlength=G)
            Minv, ld = _inv_logdet(np.einsum("ka,gkl,lb->gab", T, ZWZ, T) + np.eye(q))
            r = np.column_stack([np.bincount(codes, weights=Z[:, a] * w * z, minlength=G) for a in range(q)])
            U = (Minv * (r @ T)[:, None, :]).sum(axis=2)
            eta = offset + (Z * (U @ T.T)[codes]).sum(axis=1)
            mu = fam.linkinv(eta)
            pdev = fam.devres(mu).sum() + (U * U).sum()
            if abs((oldpdev - pdev) / pdev) < tol:
                break
            oldpdev = pdev
        return pdev + ld

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
            dev, u, _, _ = self.pirls(theta, beta)
        except (np.linalg.LinAlgError, ValueError, RuntimeError):
            return np.inf
        if np.isfinite(dev):
            self.u = u
        return dev


def deriv12_hessian(f, x, delta=1e-4):
    """lme4's ``deriv12``: central finite differences with a fixed step."""
    k = len(x)
    f0 = f(x)
    H = np.empty((k, k))
    fp, fm = np.empty(k), np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = delta
        fp[i], fm[i] = f(x + e), f(x - e)
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / delta ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = delta
            H[i, j] = H[j, i] = (f(x + e + ej) - f(x + e - ej) - f(x - e + ej) + f(x - e - ej)) / (4 * delta ** 2)
    return H


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
    start = np.concatenate([theta_start(frame.terms), beta0])
    # several factors: every deviance is a PIRLS run, so no Newton polish after L-BFGS-B
    max_newton = 20 if model.single is not None else 0
    params, _, max_grad = optimize_theta(model.deviance, frame.terms, start=start, extra_dims=p,
                                           max_newton=max_newton)
    theta, beta = params[:model.ntheta], params[model.ntheta:]
    lap, u, mu, _ = model.pirls(theta, beta)
    _, _, _, fac = model.pirls(theta, beta, u0=u)
    messages = []
    model.u = u
    if model.single is not None:
        lp0 = frame.X @ beta + (model.single.Z * (u.reshape(-1, model.single.q)
                                                   @ split_theta(theta, frame.terms)[0].T)[model.single.codes]).sum(axis=1)
        H = deriv12_hessian(lambda x: model.lme4_deviance(x, lp0), params)
    else:
        H = deriv12_hessian(model.deviance, params)
    V = None
    try:
        Hinv = np.linalg.inv(H)
        V = 2 * Hinv[model.ntheta:, model.ntheta:]
        V = (V + V.T) / 2
        if np.any(~np.isfinite(V)) or np.linalg.eigvalsh(V).min() <= 0:
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
