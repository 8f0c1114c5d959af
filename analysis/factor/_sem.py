"""The multi-group normal-theory ML engine behind ``cfa`` and ``invariance`` (lavaan 0.6-14 defaults).

Sigma = Lambda Phi Lambda' + Theta, mu = nu + Lambda alpha per group, with parameters shared across groups
as ``group.equal`` asks; Fisher scoring on ``F_ML`` (Joreskog 1969); lavaan's fit measures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError
from analysis.factor._linalg import _eigvalsh, _smc, _top_eigen
from analysis.factor.correlation import _items_frame
from analysis.factor.fit_indices import _rmsea_ci


@dataclass
class _GroupSpec:
    """Where each model matrix element of one group comes from: index of a free parameter or -1 (fixed)."""

    lam_idx: np.ndarray
    lam_val: np.ndarray
    phi_idx: np.ndarray
    phi_val: np.ndarray
    theta_idx: np.ndarray
    theta_val: np.ndarray
    nu_idx: np.ndarray
    nu_val: np.ndarray
    alpha_idx: np.ndarray
    alpha_val: np.ndarray

@dataclass
class _Sample:
    label: object
    n: int
    cov: np.ndarray   # divisor N (lavaan likelihood = "normal")
    mean: np.ndarray

class _Model:
    """Sigma = Lambda Phi Lambda' + Theta, mu = nu + Lambda alpha, per group, with shared parameters."""

    def __init__(self, items, factors, pattern, samples, *, std_lv, meanstructure, equal):
        self.items, self.factors, self.samples = items, factors, samples
        self.meanstructure = meanstructure
        p, m = len(items), len(factors)
        counter = [0]

        def new():
            counter[0] += 1
            return counter[0] - 1

        shared_lam: dict = {}
        shared_nu: dict = {}
        self.groups: list[_GroupSpec] = []
        for g, _ in enumerate(samples):
            lam_idx = -np.ones((p, m), dtype=int)
            lam_val = np.zeros((p, m))
            for j in range(len(factors)):
                first = True
                for i in range(len(items)):
                    if not pattern[i, j]:
                        continue
                    if not std_lv and first:
                        lam_val[i, j] = 1.0
                    elif "loadings" in equal:
                        if (i, j) not in shared_lam:
                            shared_lam[(i, j)] = new()
                        lam_idx[i, j] = shared_lam[(i, j)]
                    else:
                        lam_idx[i, j] = new()
                    first = False
            phi_idx = -np.ones((m, m), dtype=int)
            phi_val = np.eye(m)
            for a in range(m):
                for b in range(a + 1):
                    if a == b and std_lv:
                        continue
                    phi_idx[a, b] = phi_idx[b, a] = new()
            theta_idx = np.array([new() for _ in range(p)])
            nu_idx = -np.ones(p, dtype=int)
            alpha_idx = -np.ones(m, dtype=int)
            if meanstructure:
                for i in range(p):
                    if "intercepts" in equal:
                        if i not in shared_nu:
                            shared_nu[i] = new()
                        nu_idx[i] = shared_nu[i]
                    else:
                        nu_idx[i] = new()
                if "intercepts" in equal and g > 0:
                    alpha_idx[:] = [new() for _ in range(m)]
            self.groups.append(_GroupSpec(lam_idx, lam_val, phi_idx, phi_val, theta_idx, np.zeros(p),
                                          nu_idx, np.zeros(p), alpha_idx, np.zeros(m)))
        self.n_free = counter[0]
        self.n_total = sum(s.n for s in samples)
        self.pattern = pattern
        self.std_lv = std_lv

    # -- parameters -> matrices
    @staticmethod
    def _fill(idx, val, theta):
        out = val.copy()
        mask = idx >= 0
        out[mask] = theta[idx[mask]]
        return out

    def matrices(self, theta, g):
        s = self.groups[g]
        lam = self._fill(s.lam_idx, s.lam_val, theta)
        phi = self._fill(s.phi_idx, s.phi_val, theta)
        th = self._fill(s.theta_idx, s.theta_val, theta)
        nu = self._fill(s.nu_idx, s.nu_val, theta)
        alpha = self._fill(s.alpha_idx, s.alpha_val, theta)
        return lam, phi, th, nu, alpha

    def implied(self, theta, g):
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        return lam @ phi @ lam.T + np.diag(th), nu + lam @ alpha

    def start(self):
        theta = np.zeros(self.n_free)
        for g, smp in enumerate(self.samples):
            spec = self.groups[g]
            sd = np.sqrt(np.diag(smp.cov))
            corr = smp.cov / np.outer(sd, sd)
            lam_std = np.zeros_like(spec.lam_val)
            for j in range(len(self.factors)):
                rows = np.flatnonzero(self.pattern[:, j])
                sub = corr[np.ix_(rows, rows)].copy()
                if len(rows) > 1:
                    np.fill_diagonal(sub, np.clip(_smc(sub), 0.05, 0.95))
                    values, vectors = _top_eigen(sub, 1)
                    load = vectors[:, 0] * np.sqrt(max(values[0], 0.05))
                else:
                    load = np.array([0.7])
                if load[0] < 0:
                    load = -load
                lam_std[rows, j] = np.clip(load, -0.95, 0.95)
            lam = lam_std * sd[:, None]
            phi_diag = np.ones(len(self.factors))
            if not self.std_lv:
                for j in range(len(self.factors)):
                    rows = np.flatnonzero(self.pattern[:, j])
                    marker = lam[rows[0], j] if abs(lam[rows[0], j]) > 1e-3 else 1.0
                    phi_diag[j] = marker ** 2
                    lam[:, j] = lam[:, j] / marker
            for (i, j), k in np.ndenumerate(spec.lam_idx):
                if k >= 0:
                    theta[k] = lam[i, j]
            for (a, b), k in np.ndenumerate(spec.phi_idx):
                if k >= 0:
                    theta[k] = phi_diag[a] if a == b else 0.0
            explained = ((lam ** 2) * phi_diag).sum(axis=1)
            resid = np.maximum(np.diag(smp.cov) - explained, 0.1 * np.diag(smp.cov))
            theta[spec.theta_idx] = resid
            mask = spec.nu_idx >= 0
            theta[spec.nu_idx[mask]] = smp.mean[mask]
            theta[spec.alpha_idx[spec.alpha_idx >= 0]] = 0.0
        return theta

    # -- discrepancy, gradient and expected information
    def derivatives(self, theta, g):
        """dSigma/dtheta_k (k x p x p) and dmu/dtheta_k (k x p) for group g."""
        lam, phi, th, nu, alpha = self.matrices(theta, g)
        spec = self.groups[g]
        p, m = lam.shape
        d_sigma = np.zeros((self.n_free, p, p))
        d_mu = np.zeros((self.n_free, p))
        lam_phi = lam @ phi
        for (i, j), k in np.ndenumerate(spec.lam_idx):
            if k < 0:
                continue
            e = np.zeros((p, m))
            e[i, j] = 1.0
            block = e @ lam_phi.T
            d_sigma[k] += block + block.T
            d_mu[k, i] += alpha[j]
        for (a, b), k in np.ndenumerate(spec.phi_idx):
            if k < 0 or b > a:
                continue
            outer = np.outer(lam[:, a], lam[:, b])
            d_sigma[k] += outer if a == b else outer + outer.T
        for i, k in enumerate(spec.theta_idx):
            d_sigma[k, i, i] += 1.0
        for i, k in enumerate(spec.nu_idx):
            if k >= 0:
                d_mu[k, i] += 1.0
        for a, k in enumerate(spec.alpha_idx):
            if k >= 0:
                d_mu[k] += lam[:, a]
        return d_sigma, d_mu

    def discrepancy(self, theta, *, with_derivatives=False):
        """F = sum_g (N_g/N) [log|Sigma| + tr(S Sigma^-1) - log|S| - p + (ybar - mu)' Sigma^-1 (ybar - mu)]."""
        total = 0.0
        grad = np.zeros(self.n_free)
        info = np.zeros((self.n_free, self.n_free))
        for g, smp in enumerate(self.samples):
            sigma, mu = self.implied(theta, g)
            sign, logdet = np.linalg.slogdet(sigma)
            if sign <= 0:
                return (np.inf, None, None) if with_derivatives else np.inf
            inv = np.linalg.inv(sigma)
            p = sigma.shape[0]
            f = logdet + np.trace(smp.cov @ inv) - np.linalg.slogdet(smp.cov)[1] - p
            d = smp.mean - mu
            if self.meanstructure:
                f += d @ inv @ d
            w = smp.n / self.n_total
            total += w * f
            if with_derivatives:
                d_sigma, d_mu = self.derivatives(theta, g)
                extra = np.outer(d, d) if self.meanstructure else 0.0
                wmat = inv - inv @ (smp.cov + extra) @ inv
                grad += w * (np.einsum("ij,kji->k", wmat, d_sigma))
                a = np.einsum("ij,kjl->kil", inv, d_sigma)
                h = np.einsum("kij,lji->kl", a, a)
                if self.meanstructure:
                    grad += w * (-2.0 * d_mu @ inv @ d)
                    h += 2.0 * d_mu @ inv @ d_mu.T
                info += w * h
        if with_derivatives:
            return total, grad, info
        return total

    def fit(self, max_iter: int = 500):
        """Fisher scoring with step halving (expected Hessian), from lavaan-like simple starts."""
        theta = self.start()
        f, grad, hess = self.discrepancy(theta, with_derivatives=True)
        if not np.isfinite(f):
            theta = self.start()
            for spec in self.groups:
                theta[spec.theta_idx] = np.abs(theta[spec.theta_idx]) + 1.0
            f, grad, hess = self.discrepancy(theta, with_derivatives=True)
        converged = False
        for _ in range(max_iter):
            try:
                step = np.linalg.solve(hess, -grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(hess, -grad, rcond=None)[0]
            t = 1.0
            while t > 1e-10:
                candidate = theta + t * step
                f_new = self.discrepancy(candidate)
                if np.isfinite(f_new) and f_new <= f + 1e-14:
                    break
                t /= 2
            else:
                break
            theta = candidate
            f_old = f
            f, grad, hess = self.discrepancy(theta, with_derivatives=True)
            if np.max(np.abs(grad)) < 1e-9 or (abs(f_old - f) < 1e-15 and np.max(np.abs(grad)) < 1e-6):
                converged = True
                break
        if not converged:  # rare: BFGS from where scoring stopped (scipy.optimize imported only then)
            from scipy import optimize

            res = optimize.minimize(lambda x: self._fg(x), theta, jac=True, method="BFGS",
                                    options={"gtol": 1e-9, "maxiter": 5000})
            theta = res.x
            f, grad, hess = self.discrepancy(theta, with_derivatives=True)
            converged = bool(np.isfinite(f) and np.max(np.abs(grad)) < 1e-5)
        return theta, f, grad, hess, converged

    def _fg(self, x):
        f, g, _ = self.discrepancy(x, with_derivatives=True)
        if not np.isfinite(f):
            return 1e10, np.zeros_like(x)
        return f, g

def _samples(x: pd.DataFrame, group: pd.Series | None, min_n: int) -> list[_Sample]:
    out = []
    labels = [None] if group is None else list(pd.unique(group))
    for label in labels:
        sub = x if group is None else x[(group == label).to_numpy()]
        n = len(sub)
        name = "" if label is None else f"group '{label}' has "
        if n <= min_n:
            raise InputError(f"{name}{n} complete cases for {x.shape[1]} items; the covariance matrix "
                             "needs more cases than items", column=None if group is None else str(group.name),
                             hint="merge small groups, drop the group, or use fewer items")
        values = sub.to_numpy()
        mean = values.mean(axis=0)
        cov = (values - mean).T @ (values - mean) / n
        var = np.diag(cov)
        if np.any(var <= 0):
            bad = x.columns[int(np.argmin(var))]
            raise InputError(f"{name}no variation in this item" if name else "the item has no variation",
                             column=str(bad), hint="drop the item or the group")
        if _eigvalsh(cov / np.sqrt(np.outer(var, var))).min() < 1e-10:
            raise InputError(f"{name}a singular covariance matrix (items are exact linear combinations "
                             "of each other)", hint="drop duplicated or summed items")
        out.append(_Sample(label=label, n=n, cov=cov, mean=mean))
    return out

def _parse_model(model: dict[str, Sequence[str]] | Sequence[str]) -> tuple[list[str], list[str], np.ndarray]:
    if not isinstance(model, dict):
        model = {"F": list(model)}
    if not model:
        raise InputError("the model has no factors", hint="give a dict such as {'F1': ['a', 'b', 'c']}")
    factors = [str(f) for f in model]
    items: list[str] = []
    for f, its in model.items():
        its = list(its)
        if not its:
            raise InputError(f"factor '{f}' has no items")
        if len(set(its)) != len(its):
            raise InputError(f"factor '{f}' lists an item twice")
        for it in its:
            if it not in items:
                items.append(it)
    clash = [f for f in factors if f in items]
    if clash:
        raise InputError(f"factor name(s) {', '.join(clash)} are also item names", hint="rename the factor")
    pattern = np.zeros((len(items), len(factors)), dtype=bool)
    for j, its in enumerate(model.values()):
        for it in its:
            pattern[items.index(it), j] = True
    return items, factors, pattern

def _baseline(samples: list[_Sample]) -> tuple[float, int]:
    """Independence model (diagonal Sigma, saturated means): chi2 = sum N_g (sum log s_ii - log|S_g|)."""
    chi2 = 0.0
    df = 0
    for s in samples:
        p = s.cov.shape[0]
        chi2 += s.n * (np.log(np.diag(s.cov)).sum() - np.linalg.slogdet(s.cov)[1])
        df += p * (p - 1) // 2
    return float(chi2), int(df)

def _fit_measures(model: _Model, theta: np.ndarray, fmin: float, baseline: tuple[float, int]) -> dict:
    """lavaan's chi-square, CFI, TLI, RMSEA (with 90% CI) and SRMR (Bentler) for an ML fit."""
    n = model.n_total
    n_groups = len(model.samples)
    p = len(model.items)
    moments = n_groups * (p * (p + 1) // 2 + (p if model.meanstructure else 0))
    df = moments - model.n_free
    chi2 = max(float(n * fmin), 0.0)
    chi2_b, df_b = baseline
    out: dict[str, Any] = {"chi2": chi2, "df": int(df), "npar": int(model.n_free)}
    out["p"] = float(special.chdtrc(df, chi2)) if df > 0 else None
    if df > 0:
        denom = max(chi2_b - df_b, chi2 - df, 0.0)
        out["cfi"] = float(1 - max(chi2 - df, 0.0) / denom) if denom > 0 else 1.0
        out["tli"] = float((chi2_b / df_b - chi2 / df) / (chi2_b / df_b - 1))
        out["rmsea"] = float(np.sqrt(max(chi2 / n / df - 1 / n, 0.0)) * np.sqrt(n_groups))
        lo, hi = _rmsea_ci(chi2, df, n, divisor=n)
        out["rmsea_ci"] = [lo * np.sqrt(n_groups), hi * np.sqrt(n_groups)]
    else:
        out.update({"cfi": None, "tli": None, "rmsea": None, "rmsea_ci": [None, None]})
    srmr_groups = []
    for g, smp in enumerate(model.samples):
        sigma, mu = model.implied(theta, g)
        sd = np.sqrt(np.diag(smp.cov))
        resid = (smp.cov - sigma) / np.outer(sd, sd)
        lower = resid[np.tril_indices(p)]
        parts = [lower ** 2]
        if model.meanstructure:
            parts.append(((smp.mean - mu) / sd) ** 2)
        values = np.concatenate(parts)
        srmr_groups.append(np.sqrt(values.mean()))
    weights = np.array([s.n for s in model.samples]) / n
    out["srmr"] = float((weights * np.array(srmr_groups)).sum())
    loglik = 0.0
    for s in model.samples:
        sigma, mu = model.implied(theta, model.samples.index(s))
        inv = np.linalg.inv(sigma)
        d = s.mean - mu
        loglik += -0.5 * s.n * (p * np.log(2 * np.pi) + np.linalg.slogdet(sigma)[1] + np.trace(s.cov @ inv)
                                + (d @ inv @ d if model.meanstructure else 0.0))
    out["loglik"] = float(loglik)
    out["aic"] = float(-2 * loglik + 2 * model.n_free)
    out["bic"] = float(-2 * loglik + np.log(n) * model.n_free)
    return out

def _prepare_cfa(data: pd.DataFrame, model, group: str | None, missing: str):
    if missing != "listwise":
        raise InputError(f"missing-data rule {missing!r} is not available for CFA",
                         hint="use missing='listwise' (complete cases, lavaan's default)")
    items, factors, pattern = _parse_model(model)
    single = [f for j, f in enumerate(factors) if pattern[:, j].sum() < 2]
    if single:
        raise InputError(f"factor(s) {', '.join(single)} have a single item, which cannot be separated from "
                         "its residual (the model is not identified)",
                         hint="give every factor at least 2 items (3 or more for a one-factor model)")
    x = _items_frame(data, items, min_items=1)
    g = None
    if group is not None:
        if group not in data.columns:
            raise InputError("unknown grouping column", column=str(group))
        if group in items:
            raise InputError("the grouping column is also an item", column=str(group))
        keep = x.notna().all(axis=1) & data[group].notna()
        x, g = x[keep], data.loc[keep, group]
    else:
        x = x.dropna()
    return items, factors, pattern, x, g

def _heywood_warnings(model: _Model, theta: np.ndarray, label: str = "") -> list[str]:
    out = []
    where = f" in group '{label}'" if label else ""
    for g, smp in enumerate(model.samples):
        lam, phi, th, _, _ = model.matrices(theta, g)
        sigma, _ = model.implied(theta, g)
        std = lam * np.sqrt(np.abs(np.diag(phi)))[None, :] / np.sqrt(np.diag(sigma))[:, None]
        glabel = f" in group '{smp.label}'" if smp.label is not None else where
        for i, item in enumerate(model.items):
            if th[i] < 0:
                out.append(f"Heywood case{glabel}: item '{item}' has a negative residual variance "
                           f"({th[i]:.3f}); the model asks more of this item than the data allow - "
                           "check the item, the model or the sample size")
            if np.any(np.abs(std[i]) > 1):
                out.append(f"Heywood case{glabel}: item '{item}' has a standardised loading above 1 "
                           f"({np.max(np.abs(std[i])):.3f}); the solution is improper")
        for a, f in enumerate(model.factors):
            if phi[a, a] < 0:
                out.append(f"the variance of factor '{f}'{glabel} is negative: the solution is improper")
    return out
