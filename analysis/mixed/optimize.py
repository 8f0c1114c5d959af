"""Optimisers for the (RE)ML and Laplace deviances: L-BFGS-B with a projected Newton
polish, and the finite-difference derivatives of every fit (numDeriv-style Richardson Hessian;
lme4's ``deriv12`` and ``checkConv`` statistic; a Hessian from an analytic gradient).

Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed., ch. 7 (L-BFGS-B via
``scipy.optimize.minimize``) and ch. 8 (finite differences); lme4's ``checkConv`` scaled
gradient (Bates et al. 2015) for the convergence message.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def _central_gradient(f, x, lower, h_rel=1e-5):
    g = np.empty_like(x)
    for i in range(len(x)):
        h = h_rel * max(abs(x[i]), 1e-2)
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def numerical_hessian(f, x, h_rel=1e-3, h_min=1e-4, f0=None):
    """Central second differences with one Richardson step (as numDeriv's hessian)."""
    k = len(x)
    f0 = f(x) if f0 is None else f0
    base = np.array([h_rel * abs(v) + (h_min if abs(v) < 1e-8 else 0.0) for v in x])

    def at(h):
        H = np.empty((k, k))
        fp = np.empty(k)
        fm = np.empty(k)
        for i in range(k):
            e = np.zeros(k)
            e[i] = h[i]
            fp[i], fm[i] = f(x + e), f(x - e)
            H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h[i] ** 2
        for i in range(k):
            for j in range(i):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = h[i]
                ej[j] = h[j]
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                     + f(x - ei - ej)) / (4 * h[i] * h[j])
        return H

    return (4 * at(base / 2) - at(base)) / 3


def minimize_bounded(f, x0, lower, max_newton=20, fg=None, hessian_out=None):
    """L-BFGS-B, then projected Newton polishing with a finite-difference Hessian.

    ``fg(x) -> (f, gradient)`` is used when given (analytic gradient); otherwise central
    differences.  lme4's BOBYQA can stop early on ill-scaled problems (random slopes on
    wide-range predictors); the Newton polish reaches the true optimum.
    Returns (x, f(x), max |gradient| over the free parameters).  When ``hessian_out`` is a
    dict and the last Hessian was taken at the returned x with every parameter free, it
    receives ``x`` and ``H`` (so the Satterthwaite step need not difference again).
    """
    lower = np.asarray(lower, dtype=float)
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    if fg is None:
        grad = lambda x: _central_gradient(f, x, lower)  # noqa: E731
        fun_grad = lambda x: (f(x), grad(x))  # noqa: E731
    else:
        fun_grad = fg
        grad = lambda x: fg(x)[1]  # noqa: E731
    res = minimize(fun_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20})
    x = np.maximum(res.x, lower)
    fx, g = fun_grad(x)
    H_last = None
    for _ in range(max_newton):
        free = ~((x <= lower + 1e-10) & (g > 0))
        if not free.any() or not np.isfinite(fx):
            break
        if fg is None:
            H = numerical_hessian(f, x, h_rel=1e-4, h_min=1e-5, f0=fx)
        else:
            k = len(x)
            H = np.empty((k, k))
            for i in range(k):
                h = 1e-5 * max(abs(x[i]), 1e-2)
                e = np.zeros(k)
                e[i] = h
                H[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
            H = (H + H.T) / 2
        H = H[np.ix_(free, free)]
        H_last, H_at = (H, free), x
        try:
            w, V = np.linalg.eigh(H)
        except np.linalg.LinAlgError:
            break
        w = np.maximum(np.abs(w), 1e-8 * max(1.0, np.abs(w).max()))
        step = np.zeros_like(x)
        step[free] = -(V @ ((V.T @ g[free]) / w))
        if -(g[free] @ step[free]) < 1e-13 * max(1.0, abs(fx)):
            break   # the predicted decrease is below rounding: already at the optimum
        improved = False
        t = 1.0
        for _ in range(30):
            xn = np.maximum(x + t * step, lower)
            fn = f(xn)          # the function alone: the gradient only at the accepted point
            if fn < fx - 1e-14 * max(1.0, abs(fx)):
                improved = True
                break
            t /= 2
        if not improved:
            break
        fn, gn = fun_grad(xn)
        change = np.abs(xn - x).max()
        x, fx, g = xn, fn, gn
        if change < 1e-10:
            break
    free = ~((x <= lower + 1e-10) & (g > 0))
    if hessian_out is not None and H_last is not None and H_last[1].all() and np.array_equal(H_at, x):
        hessian_out.update(x=x.copy(), H=H_last[0])
    max_grad = float(np.abs(g[free]).max()) if free.any() else 0.0
    if H_last is not None and np.array_equal(H_last[1], free):
        # lme4's checkConv: the gradient scaled by the Cholesky factor of the Hessian
        try:
            max_grad = float(np.abs(np.linalg.solve(np.linalg.cholesky(H_last[0]), g[free])).max())
        except np.linalg.LinAlgError:
            pass
    return x, fx, max_grad


def deriv12_points(x, delta=1e-4):
    """The points lme4's ``deriv12`` evaluates, in its order: x, then for each i the pair
    x +- delta e_i followed by the four x +- delta e_i +- delta e_j (j < i)."""
    k = len(x)
    pts = [x]
    for i in range(k):
        e = np.zeros(k)
        e[i] = delta
        pts += [x + e, x - e]
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = delta
            pts += [x + e + ej, x + e - ej, x - e + ej, x - e - ej]
    return np.array(pts)


def deriv12(f, x, delta=1e-4, f_many=None):
    """lme4's ``deriv12``: the gradient and Hessian by central finite differences with a
    fixed step (Bates et al. 2015; lme4's ``deriv12``, used for the Wald covariance and
    ``checkConv``).  ``f_many(points) -> values`` evaluates every point of
    :func:`deriv12_points` in one call when given (else ``f`` point by point, in order).
    Returns (gradient, Hessian)."""
    k = len(x)
    pts = deriv12_points(np.asarray(x, dtype=float), delta)
    vals = f_many(pts) if f_many is not None else np.array([f(p) for p in pts])
    f0 = vals[0]
    H = np.empty((k, k))
    g = np.empty(k)
    at = 1
    for i in range(k):
        fp, fm = vals[at], vals[at + 1]
        g[i] = (fp - fm) / (2 * delta)
        H[i, i] = (fp - 2 * f0 + fm) / delta ** 2
        at += 2
        for j in range(i):
            pp, pm, mp, mm = vals[at:at + 4]
            H[i, j] = H[j, i] = (pp - pm - mp + mm) / (4 * delta ** 2)
            at += 4
    return g, H


def gradient_hessian(grad, x, delta=1e-4):
    """The Hessian as central differences of an analytic gradient, with deriv12's fixed
    step: 2k gradients instead of deriv12's 2k^2 + 1 deviances, and no rounding error of
    order eps |f| / delta^2 (Nocedal & Wright 2006, sec. 8.1)."""
    k = len(x)
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = delta
        H[:, i] = (grad(x + e) - grad(x - e)) / (2 * delta)
    return (H + H.T) / 2


def scaled_gradient(g, H):
    """lme4's ``checkConv`` statistic: max |R^{-T} g| with R'R = H (the gradient in the
    units of the estimates' standard errors); max |g| when H is not positive definite."""
    try:
        return float(np.abs(np.linalg.solve(np.linalg.cholesky(H), g)).max()) if len(g) else 0.0
    except np.linalg.LinAlgError:
        return float(np.abs(g).max())
