"""Linear mixed models by profiled (RE)ML deviance, as ``lme4::lmer``.

Bates, Maechler, Bolker & Walker (2015), *Fitting linear mixed-effects models using
lme4*, JSS 67(1), eqs. 34 (ML) and 41 (REML): with relative covariance factor
Lambda(theta), L L' = Lambda' Z'Z Lambda + I,

    ML:   d(theta)   = log|L|^2 + n (1 + log(2 pi r2 / n))
    REML: d_R(theta) = log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r2 / (n - p)))

where r2 is the penalised residual sum of squares.  Everything is computed from
cross-products formed once: with one grouping factor, per-group Z_i'Z_i, Z_i'X_i,
Z_i'y_i and batched q x q algebra (fast at a million rows); with several factors,
sparse Z'Z and the block-elimination Cholesky of :mod:`analysis.mixed.schur`
(:mod:`analysis.mixed.sparse_pls`).
R equivalent: ``lme4::lmer(formula, data, REML = TRUE/FALSE)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from analysis.mixed.frame import ModelFrame, RandomTerm
from analysis.mixed.optimize import _central_gradient, minimize_bounded, numerical_hessian  # noqa: F401

DENSE_LIMIT = 3000  # total random effects up to which the general path uses dense Cholesky


def theta_lower(terms: list[RandomTerm]) -> np.ndarray:
    """Lower bounds: 0 for diagonal elements of each Cholesky factor, -inf elsewhere."""
    out = []
    for t in terms:
        for j in range(t.q):
            for i in range(j, t.q):
                out.append(0.0 if i == j else -np.inf)
    return np.array(out)


def theta_start(terms: list[RandomTerm]) -> np.ndarray:
    return np.where(theta_lower(terms) == 0, 1.0, 0.0)


def theta_names(terms: list[RandomTerm]) -> list[str]:
    names = []
    for t in terms:
        for j in range(t.q):
            for i in range(j, t.q):
                names.append(f"{t.name}.{t.coef_names[i]}" if i == j
                             else f"{t.name}.{t.coef_names[i]}.{t.coef_names[j]}")
    return names


def tri(theta_block: np.ndarray, q: int) -> np.ndarray:
    """Lower-triangular relative covariance factor, filled column-wise (lme4's order)."""
    T = np.zeros((q, q))
    k = 0
    for j in range(q):
        for i in range(j, q):
            T[i, j] = theta_block[k]
            k += 1
    return T


def split_theta(theta: np.ndarray, terms: list[RandomTerm]) -> list[np.ndarray]:
    out, k = [], 0
    for t in terms:
        out.append(tri(theta[k:k + t.n_theta], t.q))
        k += t.n_theta
    return out


@dataclass
class Solution:
    """Penalised least squares at one theta."""
    ldL2: float
    ldRX2: float
    pwrss: float
    beta: np.ndarray
    XtX_adj: np.ndarray  # R_X'R_X = X'V^{-1}X * sigma^2


def _ols(X, y):
    if X.shape[1] == 0:
        return np.zeros(0)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _right(X, T):
    """X_g @ T for a stack X (G, a, b) and one small matrix T (b, c)."""
    out = np.zeros((X.shape[0], X.shape[1], T.shape[1]))
    for k in range(T.shape[0]):
        for j in range(T.shape[1]):
            if T[k, j] != 0.0:
                out[:, :, j] += X[:, :, k] * T[k, j]
    return out


def _left(T, X):
    """T' @ X_g for a stack X (G, a, b) and one small matrix T (a, c)."""
    out = np.zeros((X.shape[0], T.shape[1], X.shape[2]))
    for k in range(T.shape[0]):
        for i in range(T.shape[1]):
            if T[k, i] != 0.0:
                out[:, i, :] += T[k, i] * X[:, k, :]
    return out


def _bmm(A, B):
    """Batched product of small matrices, as vector operations over the groups."""
    if A.shape[2] > 4:
        return A @ B
    out = np.zeros((A.shape[0], A.shape[1], B.shape[2]))
    for i in range(A.shape[1]):
        for k in range(A.shape[2]):
            out[:, i, :] += A[:, i, k, None] * B[:, k, :]
    return out


def _inv_logdet(M):
    """Inverse and summed log-determinant of a stack of small SPD matrices."""
    q = M.shape[1]
    if q == 1:
        return 1.0 / M, float(np.log(M[:, 0, 0]).sum())
    if q == 2:
        a, b, c, d = M[:, 0, 0], M[:, 0, 1], M[:, 1, 0], M[:, 1, 1]
        det = a * d - b * c
        if np.any(det <= 0):
            raise np.linalg.LinAlgError("not positive definite")
        inv = np.empty_like(M)
        inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 0], inv[:, 1, 1] = d / det, -b / det, -c / det, a / det
        return inv, float(np.log(det).sum())
    L = np.linalg.cholesky(M)
    return np.linalg.inv(M), float(2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum())


def _fixed_solution(A: np.ndarray, p: int, ld: float, beta0: np.ndarray) -> Solution:
    """Finish a PLS solve from the Schur complement ``A`` of [X y]'[X y] after the random
    effects are profiled out: fixed effects, log|R_X|^2 and the penalised residual sum of
    squares (Bates et al. 2015, JSS 67(1), eqs. 16-18)."""
    XtXa, Xtya = A[:p, :p], A[:p, p]
    if p:
        cf = cho_factor(XtXa, lower=True)
        beta = cho_solve(cf, Xtya)
        ldRX2 = 2.0 * np.log(np.abs(np.diag(cf[0]))).sum()
    else:
        beta, ldRX2 = np.zeros(0), 0.0
    pwrss = A[p, p] - Xtya @ beta
    return Solution(ld, ldRX2, max(pwrss, 1e-300), beta + beta0, XtXa)


class BlockedPLS:
    """One grouping factor: per-group sufficient statistics, batched q x q algebra."""

    def __init__(self, frame: ModelFrame):
        term = frame.terms[0]
        self.term = term
        X, y, Z, codes = frame.X, frame.y, term.Z, term.codes
        G, q, p = term.n_levels, term.q, X.shape[1]
        self.n, self.p, self.q, self.G = len(y), p, q, G
        self.beta0 = _ols(X, y)
        y = y - X @ self.beta0 if p else y  # OLS residuals: avoids cancellation in r2
        W = np.column_stack([Z, X, y])
        ZtW = np.empty((G, q, W.shape[1]))
        for a in range(q):
            za = Z[:, a]
            intercept = np.all(za == 1.0)
            for b in range(W.shape[1]):
                w = W[:, b] if intercept else za * W[:, b]
                ZtW[:, a, b] = np.bincount(codes, weights=w, minlength=G)
        self.ZtZ = ZtW[:, :, :q]
        self.ZtR = ZtW[:, :, q:]            # (G, q, p + 1): Z_i'[X_i, y_i]
        R = W[:, q:]
        self.RtR = R.T @ R                  # [X, y]'[X, y]

    def _factor(self, theta):
        T = tri(theta, self.q)
        M = _left(T, _right(self.ZtZ, T)) + np.eye(self.q)
        B = _left(T, self.ZtR)
        Minv, ld = _inv_logdet(M)
        S = _bmm(Minv, B)
        return T, B, S, ld

    def solve(self, theta) -> Solution:
        _, B, S, ld = self._factor(theta)
        C = B.reshape(-1, B.shape[2]).T @ S.reshape(-1, S.shape[2])
        return _fixed_solution(self.RtR - C, self.p, ld, self.beta0)

    def deviance_gradient(self, theta, reml: bool):
        """Profiled deviance and its analytic gradient in theta (one grouping factor).

        Envelope theorem for r2 (d r2 = -2 sum_i w_i' dT u_i, w_i = Z_i'(y_i - X_i beta
        - Z_i T u_i)), d log|M_i| = tr(M_i^-1 dM_i), d log|R_X|^2 = tr((R_X'R_X)^-1 d(R_X'R_X)).
        """
        q, p, n = self.q, self.p, self.n
        T = tri(theta, q)
        A = self.ZtZ
        AT = _right(A, T)
        M = _left(T, AT) + np.eye(q)
        Minv, ld = _inv_logdet(M)
        B = _left(T, self.ZtR)
        S = _bmm(Minv, B)
        C = B.reshape(-1, B.shape[2]).T @ S.reshape(-1, S.shape[2])
        Af = self.RtR - C
        XtXa, Xtya = Af[:p, :p], Af[:p, p]
        if p:
            cf = cho_factor(XtXa, lower=True)
            beta = cho_solve(cf, Xtya)
            ldRX2 = 2.0 * np.log(np.abs(np.diag(cf[0]))).sum()
            P = cho_solve(cf, np.eye(p))
        else:
            beta, ldRX2, P = np.zeros(0), 0.0, np.zeros((0, 0))
        pwrss = max(Af[p, p] - Xtya @ beta, 1e-300)
        u = S[:, :, p] - S[:, :, :p] @ beta                        # (G, q)
        ATu = (AT * u[:, None, :]).sum(axis=2)
        w = self.ZtR[:, :, p] - self.ZtR[:, :, :p] @ beta - ATu      # (G, q)
        MTA = _bmm(Minv, np.swapaxes(AT, 1, 2))                      # M^-1 T'A, (G, q, q)
        SX = S[:, :, :p]
        ATS = _bmm(AT, SX)                                           # (G, q, p)
        PS = _right(SX, P) if p else SX                              # (G, q, p)
        grad_l = np.empty(len(theta))
        grad_r = np.empty(len(theta))
        grad_x = np.empty(len(theta))
        k = 0
        for b in range(q):
            for a in range(b, q):
                grad_r[k] = -2.0 * np.dot(w[:, a], u[:, b])
                grad_l[k] = 2.0 * MTA[:, b, a].sum()
                if p:
                    grad_x[k] = -2.0 * ((self.ZtR[:, a, :p] * PS[:, b, :]).sum()
                                        - (PS[:, b, :] * ATS[:, a, :]).sum())
                else:
                    grad_x[k] = 0.0
                k += 1
        return deviance_and_gradient(n, p, reml, ld, ldRX2, pwrss, grad_l, grad_r, grad_x)

    def modes(self, theta, beta, sigma):
        """Conditional modes b_i and their conditional covariance sigma^2 T M_i^{-1} T'."""
        T, B, S, _ = self._factor(theta)
        rhs = B[:, :, self.p] - B[:, :, :self.p] @ (beta - self.beta0)       # (G, q)
        if self.q == 1:
            m = T[0, 0] ** 2 * self.ZtZ[:, 0, 0] + 1.0
            u = rhs / m[:, None]
            Minv = (1.0 / m)[:, None, None]
        else:
            Minv, _ = _inv_logdet(_left(T, _right(self.ZtZ, T)) + np.eye(self.q))
            u = (Minv * rhs[:, None, :]).sum(axis=2)
        b = u @ T.T
        cov = sigma ** 2 * _right(_left(T.T, Minv), T.T)
        return [(b, cov)]


def make_pls(frame: ModelFrame):
    if len(frame.terms) == 1:
        return BlockedPLS(frame)
    from analysis.mixed.sparse_pls import GeneralPLS
    return GeneralPLS(frame)


def profiled_deviance(sol: Solution, n: int, p: int, reml: bool) -> float:
    if reml:
        nmp = n - p
        return sol.ldL2 + sol.ldRX2 + nmp * (1.0 + np.log(2.0 * np.pi * sol.pwrss / nmp))
    return sol.ldL2 + n * (1.0 + np.log(2.0 * np.pi * sol.pwrss / n))


def deviance_and_gradient(n: int, p: int, reml: bool, ld: float, ldRX2: float, pwrss: float,
                          g_ld: np.ndarray, g_r: np.ndarray, g_x: np.ndarray) -> tuple[float, np.ndarray]:
    """Profiled (RE)ML deviance (Bates et al. 2015, eq. 34/41) and its gradient from the pieces
    each PLS path computes: log-determinants, penalised RSS and their derivatives in theta."""
    if reml:
        nmp = n - p
        dev = ld + ldRX2 + nmp * (1.0 + np.log(2.0 * np.pi * pwrss / nmp))
        return float(dev), g_ld + g_x + nmp * g_r / pwrss
    dev = ld + n * (1.0 + np.log(2.0 * np.pi * pwrss / n))
    return float(dev), g_ld + n * g_r / pwrss


def sigma_hat(sol: Solution, n: int, p: int, reml: bool) -> float:
    return float(np.sqrt(sol.pwrss / (n - p if reml else n)))


# --------------------------------------------------------------------------- optimiser

def theta_scale(terms: list[RandomTerm]) -> np.ndarray:
    """Per-element scale 1/rms(z_i) so the optimiser sees comparable parameters.

    T = diag(1/s) T_s is still lower triangular with the same sign constraints, so this
    is a pure preconditioning (it changes nothing in the model).
    """
    out = []
    for t in terms:
        rms = np.sqrt((t.Z ** 2).mean(axis=0))
        rms[rms == 0] = 1.0
        for j in range(t.q):
            for i in range(j, t.q):
                out.append(1.0 / rms[i])
    return np.array(out)


def _canonical(x, terms):
    """Flip columns of each T so its diagonal is non-negative (lme4's convention)."""
    x = x.copy()
    k = 0
    for t in terms:
        for j in range(t.q):
            if x[k] < 0:
                x[k:k + t.q - j] *= -1
            k += t.q - j
    return x


def optimize_theta(dev, terms, start=None, extra_dims=0, dev_grad=None, max_newton=20,
                   hessian_out=None):
    """Minimise dev over theta (preconditioned), escaping the theta_ii = 0 saddles.

    At a zero diagonal element the deviance is symmetric in that element's sign, so the
    gradient vanishes there even when the optimum is inside; restarts from a positive
    value catch that.  Returns (theta, dev, max|grad|); ``hessian_out`` (a dict) receives
    ``theta`` and the deviance's Hessian ``H`` in theta when the optimiser's last one was
    taken there.
    """
    scale = np.concatenate([theta_scale(terms), np.ones(extra_dims)])
    lower = np.concatenate([theta_lower(terms), np.full(extra_dims, -np.inf)])
    f = lambda x: dev(x * scale)  # noqa: E731
    if dev_grad is None:
        fg = None
    else:
        def fg(x):
            value, gr = dev_grad(x * scale)
            return value, gr * scale
    if start is None:
        start = np.concatenate([theta_start(terms), np.zeros(extra_dims)])
    else:
        start = np.asarray(start, dtype=float) / scale
    # Unconstrained search: the deviance depends on T T' only, so a column of T can change
    # sign freely; bounds would pin theta_jj at 0, where its gradient vanishes.
    free = np.full(len(lower), -np.inf)
    info: dict = {}
    best = minimize_bounded(f, start, free, fg=fg, max_newton=max_newton, hessian_out=info)
    best = (_canonical(best[0], terms), best[1], best[2], info)
    diag = np.flatnonzero(lower == 0)
    for _ in range(2):
        x, fx, _, _ = best
        zero = [i for i in diag if abs(x[i]) < 1e-8]
        if not zero:
            break
        x1 = x.copy()
        x1[zero] = 0.5
        info = {}
        cand = minimize_bounded(f, x1, free, fg=fg, max_newton=max_newton, hessian_out=info)
        if cand[1] < fx - 1e-8:
            best = (_canonical(cand[0], terms), cand[1], cand[2], info)
        else:
            break
    x, fx, g, info = best
    if hessian_out is not None and "x" in info and np.array_equal(info["x"], x):  # not flipped
        hessian_out.update(theta=x * scale, H=info["H"] / np.outer(scale, scale))
    return x * scale, fx, g


@dataclass
class LmmFit:
    theta: np.ndarray
    beta: np.ndarray
    sigma: float
    deviance: float      # the fitted criterion (REML criterion for REML fits)
    deviance_ml: float   # ML deviance at these estimates
    vcov: np.ndarray
    max_grad: float
    pls: object
    solution: Solution
    hessian: dict        # the optimiser's last Hessian of the deviance, if taken at theta


def fit_lmm(frame: ModelFrame, reml: bool = True, start: np.ndarray | None = None) -> LmmFit:
    pls = make_pls(frame)
    n, p = frame.n, frame.X.shape[1]

    def dev(theta):
        try:
            return profiled_deviance(pls.solve(theta), n, p, reml)
        except (np.linalg.LinAlgError, ValueError):
            return np.inf

    if isinstance(pls, BlockedPLS) or pls.has_gradient:
        def dev_grad(theta):
            try:
                return pls.deviance_gradient(theta, reml)
            except ZeroDivisionError:   # a variance at exactly 0: differences instead
                return dev(theta), _central_gradient(dev, np.asarray(theta, dtype=float), None)
            except (np.linalg.LinAlgError, ValueError):
                return np.inf, np.zeros_like(theta)
    else:
        dev_grad = None
    # the sparse path's analytic gradient brings L-BFGS-B to the optimum; one Newton step
    # (each 2k gradients) polish it and give lme4's scaled-gradient convergence check
    max_newton = 20 if isinstance(pls, BlockedPLS) else 1
    hessian: dict = {}
    theta, fval, max_grad = optimize_theta(dev, frame.terms, start, dev_grad=dev_grad,
                                           max_newton=max_newton, hessian_out=hessian)
    sol = pls.solve(theta)
    sigma = sigma_hat(sol, n, p, reml)
    vcov = sigma ** 2 * np.linalg.inv(sol.XtX_adj) if p else np.zeros((0, 0))
    dev_ml = sol.ldL2 + n * (1.0 + np.log(2.0 * np.pi * sol.pwrss / n))
    return LmmFit(theta, sol.beta, sigma, float(fval), float(dev_ml), vcov, max_grad, pls, sol, hessian)
