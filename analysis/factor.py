"""Factor structure: sampling adequacy, number of factors, EFA, CFA and measurement invariance.

* ``kmo`` / ``bartlett``: Kaiser-Meyer-Olkin MSA (Kaiser 1970; Kaiser & Rice 1974) and
  Bartlett's (1950) sphericity test, as ``psych::KMO`` / ``psych::cortest.bartlett``.
* ``parallel_analysis``: Horn's (1965) parallel analysis in the style of ``psych::fa.parallel``.
* ``fa`` / ``efa``: exploratory factor analysis, minimum residual (Harman & Jones 1966) or maximum
  likelihood (Joreskog 1967; Lawley & Maxwell 1971), with oblimin (Jennrich 2002 gradient
  projection) or varimax (Kaiser 1958) rotation, reproducing ``psych::fa`` (psych 2.2.9).
* ``cfa`` / ``invariance``: confirmatory factor analysis by normal-theory maximum likelihood
  (Joreskog 1969) with lavaan's (0.6-14) default fit measures, and the configural / metric /
  scalar sequence of multi-group models (Meredith 1993; Vandenberg & Lance 2000).

Everything here is a pure function of a DataFrame and plain options; nothing imports streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from analysis.errors import InputError
from analysis.scoring import numeric_items

__all__ = [
    "kmo", "bartlett", "parallel_analysis", "ParallelResult", "fa", "efa", "EFAResult",
    "cfa", "CFAResult", "invariance", "InvarianceResult", "correlation_matrix",
]

_EPS = np.finfo(float).eps


def _eigvalsh(m: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric matrix, ascending (LAPACK via scipy: fast also under thread contention)."""
    return linalg.eigh(m, eigvals_only=True)


# --------------------------------------------------------------------------------------
# input preparation


def _items_frame(data: pd.DataFrame, items: Sequence[str] | None = None, *, min_items: int = 2) -> pd.DataFrame:
    """Numeric item frame with clear messages for text or constant columns."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("expected a table (DataFrame) of item answers")
    items = list(data.columns) if items is None else list(items)
    if len(set(items)) != len(items):
        dup = sorted({c for c in items if items.count(c) > 1})
        raise InputError(f"item(s) listed twice: {', '.join(map(str, dup))}", hint="list each item once")
    x = numeric_items(data, items, min_items=min_items)
    for col in x.columns:
        values = x[col].dropna()
        if len(values) == 0:
            raise InputError("the item has no answers", column=str(col), hint="drop it from the analysis")
        if values.nunique() < 2:
            raise InputError("the item has the same answer for everyone, so it cannot correlate with anything",
                             column=str(col), hint="drop this constant item")
    return x


def _is_correlation_matrix(data: pd.DataFrame) -> bool:
    if data.shape[0] != data.shape[1] or list(map(str, data.index)) != list(map(str, data.columns)):
        return False
    try:
        m = data.to_numpy(dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(m)) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0))


def correlation_matrix(data: pd.DataFrame, items: Sequence[str] | None = None, *,
                       missing: str = "pairwise") -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """Pearson correlations of the items, their n and the pairwise counts.

    ``missing="pairwise"`` is R's ``cor(x, use="pairwise")`` with n = all rows (as psych uses
    for raw data); ``"listwise"`` drops incomplete rows first (``na.omit``).
    """
    if missing not in ("pairwise", "listwise"):
        raise InputError(f"unknown missing-data rule {missing!r}", hint="use 'pairwise' or 'listwise'")
    x = _items_frame(data, items)
    if missing == "listwise":
        x = x.dropna()
        if len(x) < 3:
            raise InputError(f"only {len(x)} rows answer all items", hint="use pairwise deletion or fewer items")
        _check_constant_after_deletion(x)
    present = x.notna().astype(float)
    counts = pd.DataFrame(present.T.to_numpy() @ present.to_numpy(), index=x.columns, columns=x.columns)
    corr = x.corr(method="pearson", min_periods=3)
    if corr.isna().to_numpy().any():
        i, j = np.argwhere(corr.isna().to_numpy())[0]
        raise InputError(f"items '{x.columns[i]}' and '{x.columns[j]}' are answered together by "
                         f"{int(counts.iat[i, j])} respondents, too few for a correlation",
                         column=str(x.columns[i]), hint="drop one of them or collect more answers")
    return corr, int(len(x)), counts


def _check_constant_after_deletion(x: pd.DataFrame) -> None:
    for col in x.columns:
        if x[col].nunique() < 2:
            raise InputError("the item is constant among the complete cases", column=str(col),
                             hint="drop it or use pairwise deletion")


def _corr_input(data_or_corr: pd.DataFrame, n_obs: int | None, missing: str):
    """(R, n, pairwise counts or None, raw) from raw data or a correlation matrix."""
    if isinstance(data_or_corr, pd.DataFrame) and _is_correlation_matrix(data_or_corr):
        r = data_or_corr.astype(float)
        r.index = r.columns
        return r, n_obs, None, None
    r, n, counts = correlation_matrix(data_or_corr, missing=missing)
    return r, (n if n_obs is None else n_obs), (counts if missing == "pairwise" else None), data_or_corr


def _select(data: pd.DataFrame, items: Sequence[str] | None) -> pd.DataFrame:
    return data if items is None else _items_frame(data, items)


def _cov2cor(m: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(m))
    return m * np.outer(d, d)


def _smooth(r: np.ndarray) -> np.ndarray:
    """psych::cor.smooth: lift non-positive eigenvalues so the matrix is positive definite."""
    values, vectors = linalg.eigh(r)
    if values.min() >= _EPS:
        return r
    values = np.where(values < 1e-12, 100 * 1e-12, values)
    values = values * r.shape[0] / values.sum()
    return _cov2cor((vectors * values) @ vectors.T)


def _check_singular(r: pd.DataFrame, what: str) -> None:
    values = _eigvalsh(r.to_numpy())
    if values.min() < 1e-10:
        raise InputError(f"the correlation matrix is singular, so {what} cannot be computed: some items are "
                         "(almost) exact linear combinations of others",
                         hint="drop duplicated items or items that are sums of other items")


# --------------------------------------------------------------------------------------
# KMO and Bartlett


def kmo(data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "pairwise"
        ) -> tuple[float, pd.Series]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (Kaiser 1970; Kaiser & Rice 1974).

    ``MSA = sum r_ij^2 / (sum r_ij^2 + sum q_ij^2)`` over i != j, with q the partial
    correlations from the inverse of R (the anti-image); per item the same sums over column j.
    R is the pairwise (default) or listwise Pearson correlation matrix. Equivalent R call:
    ``psych::KMO(x)`` (which uses ``cor(x, use = "pairwise")``). Returns ``(overall, per_item)``.
    """
    r, _, _, _ = _corr_input(_select(data, items), None, missing)
    _check_singular(r, "the KMO measure")
    rm = r.to_numpy().copy()
    q = _cov2cor(np.linalg.inv(rm))
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(rm, 0.0)
    r2, q2 = (rm ** 2).sum(axis=0), (q ** 2).sum(axis=0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    return overall, pd.Series(r2 / (r2 + q2), index=r.columns, name="MSA")


def bartlett(data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "pairwise",
             n_obs: int | None = None) -> dict:
    """Bartlett's (1950) test that the correlation matrix is an identity matrix.

    ``chi2 = -(n - 1 - (2p + 5)/6) * log det(R)``, ``df = p(p-1)/2``. With raw data n is the
    number of rows (all rows for pairwise R, as psych does; complete rows for listwise).
    Equivalent R call: ``psych::cortest.bartlett(R, n)``. Returns ``dict(chi2, df, p, n)``.
    """
    r, n, _, _ = _corr_input(_select(data, items), n_obs, missing)
    if n is None:
        raise InputError("Bartlett's test needs the number of observations", hint="pass n_obs")
    p = r.shape[1]
    sign, logdet = np.linalg.slogdet(r.to_numpy())
    if sign <= 0 or not np.isfinite(logdet):
        raise InputError("the correlation matrix is singular (determinant 0), so Bartlett's test is undefined",
                         hint="drop duplicated items or items that are sums of other items")
    chi2 = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) // 2
    return {"chi2": chi2, "df": int(df), "p": float(stats.chi2.sf(chi2, df)), "n": int(n)}


# --------------------------------------------------------------------------------------
# EFA: psych::fa


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (psych::smc, pseudo-inverse, clipped to [0, 1])."""
    smc = 1.0 - 1.0 / np.diag(linalg.pinvh(r))
    return np.clip(smc, 0.0, 1.0)


def _top_eigen(m: np.ndarray, nf: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = linalg.eigh(m)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def _minres_loadings(r: np.ndarray, psi: np.ndarray, nf: int) -> np.ndarray:
    """psych FAout.wls: principal axes of R with communalities 1 - psi on the diagonal."""
    values, vectors = _top_eigen(r - np.diag(psi), nf)
    return vectors[:, :nf] * np.sqrt(np.maximum(values[:nf], 0.0))


def _ml_loadings(r: np.ndarray, psi: np.ndarray, nf: int) -> np.ndarray:
    """psych/factanal FAout: ML loadings given the uniquenesses."""
    sc = 1.0 / np.sqrt(psi)
    values, vectors = _top_eigen(r * np.outer(sc, sc), nf)
    return np.sqrt(psi)[:, None] * vectors[:, :nf] * np.sqrt(np.maximum(values[:nf] - 1.0, 0.0))


def _fit_uniquenesses(r: np.ndarray, nf: int, fm: str) -> tuple[np.ndarray, bool]:
    """Uniquenesses psi minimising the minres (ULS) or ML discrepancy, bounds [0.005, max(smc, 1)].

    psych optimises with L-BFGS-B from ``psi = 1 - smc``; the minres fixed point (zero diagonal
    residual) is the same as the unweighted least squares optimum, so we minimise
    ``0.5 * ||R - psi - LL'||^2`` (gradient ``-diag(R - psi - LL')``) to full precision.
    """
    smc = _smc(r)
    start = np.diag(r) - smc
    upper = max(float(smc.max()), 1.0)
    p = r.shape[0]

    if fm == "minres":
        def objective(psi):
            sstar = r - np.diag(psi)
            values, vectors = linalg.eigh(sstar)
            top = np.argsort(values)[::-1][:nf]
            loads = vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))
            resid = sstar - loads @ loads.T
            return 0.5 * float((resid ** 2).sum()), -np.diag(resid).copy()
    else:
        def objective(psi):
            sc = 1.0 / np.sqrt(psi)
            values = _eigvalsh(r * np.outer(sc, sc))[::-1]
            e = values[nf:]
            f = -(np.sum(np.log(e) - e) - nf + p)
            loads = _ml_loadings(r, psi, nf)
            g = np.diag(loads @ loads.T) + psi - np.diag(r)
            return float(f), g / psi ** 2

    start = np.clip(start, 0.005, upper)
    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.005, upper)] * p,
                            options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20})
    return res.x, bool(res.success or np.max(np.abs(res.jac)) < 1e-6)


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


@dataclass
class EFAResult:
    """Exploratory factor analysis as ``psych::fa`` reports it.

    ``loadings`` (items x factors, pattern matrix, named MR1.. / ML1.. as psych names them and in
    psych's order: by variance accounted for), ``communalities`` (1 - fitted uniqueness, psych's
    ``$communalities``), ``uniquenesses`` (``diag(R - LL')``), ``factor_correlations`` (Phi;
    identity for orthogonal or unrotated solutions), ``eigenvalues`` (of R), ``common_eigenvalues``
    (of the reduced matrix), ``variance_accounted`` (SS loadings, proportions), fit statistics
    (``dof``, ``objective``, ``chi2`` the likelihood chi-square with Bartlett's correction, ``p``,
    ``tli``, ``rmsea`` with 90% CI, ``rms`` residual) and ``warnings``.
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    factor_correlations: pd.DataFrame
    eigenvalues: pd.Series
    common_eigenvalues: pd.Series
    variance_accounted: pd.DataFrame
    n_factors: int
    fm: str
    rotate: str
    n_obs: int | None
    dof: float
    objective: float
    chi2: float | None
    p: float | None
    tli: float | None
    rmsea: float | None
    rmsea_ci: list
    rms: float
    converged: bool
    warnings: list[str] = field(default_factory=list)
    correlation: pd.DataFrame | None = None

    @property
    def structure(self) -> pd.DataFrame:
        """Structure matrix (item-factor correlations) = pattern x Phi."""
        return self.loadings @ self.factor_correlations

    def to_dict(self) -> dict:
        return {
            "n_factors": self.n_factors, "fm": self.fm, "rotate": self.rotate, "n_obs": self.n_obs,
            "loadings": {item: [float(v) for v in row] for item, row in self.loadings.iterrows()},
            "factors": list(self.loadings.columns),
            "communalities": self.communalities.to_dict(),
            "uniquenesses": self.uniquenesses.to_dict(),
            "factor_correlations": self.factor_correlations.to_numpy().tolist(),
            "eigenvalues": self.eigenvalues.tolist(),
            "variance_accounted": {k: v for k, v in self.variance_accounted.to_dict(orient="index").items()},
            "dof": self.dof, "objective": self.objective, "chi2": self.chi2, "p": self.p,
            "tli": self.tli, "rmsea": self.rmsea, "rmsea_ci": self.rmsea_ci, "rms": self.rms,
            "converged": self.converged, "warnings": list(self.warnings),
        }


def _rmsea_ci(chi2: float, df: float, n: float, level: float = 0.90, divisor: float | None = None
              ) -> tuple[float, float]:
    """Confidence interval of the RMSEA from the noncentral chi-square (Steiger & Lind 1980;
    Browne & Cudeck 1993): find the noncentrality lambda with P(chi2 | df, lambda) = 1 - tail and
    = tail, then ``sqrt(lambda / (divisor * df))``."""
    tail = (1 - level) / 2
    divisor = (n - 1) if divisor is None else divisor

    def ncp_for(prob):
        fun = lambda lam: stats.ncx2.cdf(chi2, df, lam) - prob if lam > 0 else stats.chi2.cdf(chi2, df) - prob
        if fun(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while fun(hi) > 0:
            hi *= 2
        return optimize.brentq(fun, 0.0, hi, xtol=1e-12, rtol=1e-14, maxiter=500)

    lo = ncp_for(1 - tail)
    hi = ncp_for(tail)
    return float(np.sqrt(lo / (divisor * df))), float(np.sqrt(hi / (divisor * df)))


def _fa_stats(r: np.ndarray, loadings: np.ndarray, phi: np.ndarray | None, n_obs: int | None,
              counts: np.ndarray | None) -> dict:
    """psych::fa.stats: likelihood objective, chi-square, TLI and RMSEA of a factor solution."""
    n = r.shape[0]
    nf = loadings.shape[1]
    model = loadings @ (phi if phi is not None else np.eye(nf)) @ loadings.T
    residual = r - model
    dof = n * (n - 1) / 2 - n * nf + nf * (nf - 1) / 2
    off = residual.copy()
    np.fill_diagonal(off, 0.0)
    if counts is None:
        rms = float(np.sqrt((off ** 2).sum() / (n * (n - 1))))
    else:
        nh = stats.hmean(counts.ravel())
        rms = float(np.sqrt((off ** 2 * counts).sum() / (nh * n * (n - 1))))
    np.fill_diagonal(model, np.diag(r))
    model = _smooth(model)
    rs = _smooth(r)
    m_inv_r = np.linalg.solve(model, rs)
    objective = float(np.trace(m_inv_r) - np.linalg.slogdet(m_inv_r)[1] - n)
    out = {"dof": dof, "objective": objective, "rms": rms, "chi2": None, "p": None, "tli": None,
           "rmsea": None, "rmsea_ci": [None, None]}
    if n_obs is None:
        return out
    nm = (n_obs - 1) - (2 * n + 5) / 6 - (2 * nf) / 3
    chi2 = max(objective * nm, 0.0)
    out["chi2"] = chi2
    out["p"] = float(stats.chi2.sf(chi2, dof)) if dof > 0 else None
    f0 = float(np.trace(rs) - np.linalg.slogdet(rs)[1] - n)
    if dof > 0:
        mm = objective / dof
        m0 = f0 * 2 / (n * (n - 1))
        out["tli"] = float((m0 - mm) / (m0 - 1 / nm))
        out["rmsea"] = float(np.sqrt(max(chi2 / (dof * n_obs) - 1 / (n_obs - 1), 0.0)))
        lo, hi = _rmsea_ci(chi2, dof, n_obs)
        out["rmsea_ci"] = [lo, hi]
    return out


def fa(data_or_corr: pd.DataFrame, n_factors: int = 1, fm: str = "minres", rotate: str = "oblimin",
       n_obs: int | None = None, missing: str = "pairwise") -> EFAResult:
    """Exploratory factor analysis reproducing ``psych::fa`` (Revelle, psych 2.2.9).

    ``data_or_corr`` is either raw item answers (Pearson correlations, pairwise by default as psych's
    ``use = "pairwise"``, n = all rows) or a correlation matrix (pass ``n_obs`` for fit statistics).
    ``fm="minres"``: minimum residual / unweighted least squares (Harman & Jones 1966): uniquenesses
    minimising the off-diagonal residuals, loadings the principal axes of R with 1 - psi on the
    diagonal. ``fm="ml"``: maximum likelihood (Joreskog 1967; the ``factanal`` objective).
    ``rotate``: ``"oblimin"`` (quartimin, gamma 0; GPArotation::oblimin, normalize = FALSE),
    ``"varimax"`` (``stats::varimax``, Kaiser-normalised) or ``"none"``. As psych, columns are
    flipped so each loading column sums positive and ordered by variance accounted for.
    Fit statistics follow ``psych::fa.stats``: ``chi2 = F * ((n - 1) - (2p + 5)/6 - 2k/3)``,
    TLI = (M0 - Mm) / (M0 - 1/nm), RMSEA = sqrt(max(chi2/(df n) - 1/(n - 1), 0)).

    Equivalent R call: ``psych::fa(x, nfactors = k, fm = fm, rotate = rotate)``.
    """
    fm = {"mle": "ml", "ML": "ml", "uls": "minres"}.get(fm, fm)
    if fm not in ("minres", "ml"):
        raise InputError(f"unknown factoring method {fm!r}", hint="use 'minres' or 'ml'")
    if rotate not in ("none", "oblimin", "varimax"):
        raise InputError(f"unknown rotation {rotate!r}", hint="use 'oblimin', 'varimax' or 'none'")
    try:
        n_factors = int(n_factors)
    except (TypeError, ValueError):
        raise InputError(f"the number of factors must be a whole number, got {n_factors!r}") from None
    r_df, n, counts, _ = _corr_input(data_or_corr, n_obs, missing)
    items = [str(c) for c in r_df.columns]
    p = len(items)
    if n_factors < 1:
        raise InputError("the number of factors must be at least 1")
    if n_factors >= p:
        raise InputError(f"{n_factors} factors cannot be extracted from {p} items",
                         hint="use fewer factors than items")
    warnings: list[str] = []
    dof = p * (p - 1) / 2 - p * n_factors + n_factors * (n_factors - 1) / 2
    if dof < 0:
        warnings.append(f"{n_factors} factors for {p} items leave negative degrees of freedom ({dof:g}): "
                        "the solution is not identified; use fewer factors")
    r = r_df.to_numpy()
    if fm == "ml":
        if _eigvalsh(r).min() < 1e-10:
            raise InputError("maximum likelihood needs a non-singular correlation matrix",
                             hint="drop duplicated items, or use fm='minres'")
    psi, converged = _fit_uniquenesses(r, n_factors, fm)
    loads = _minres_loadings(r, psi, n_factors) if fm == "minres" else _ml_loadings(r, psi, n_factors)
    signs = np.sign(loads.sum(axis=0))
    signs[signs == 0] = 1
    loads = loads * signs
    model = loads @ loads.T
    common_eigen = np.sort(_eigvalsh(r - np.diag(np.diag(r)) + np.diag(np.diag(model))))[::-1]

    phi = None
    if rotate != "none" and n_factors > 1:
        if rotate == "varimax":
            loads, _ = _varimax(loads)
        else:
            loads, phi, rot_ok = _oblimin(loads)
            if not rot_ok:
                warnings.append("the oblimin rotation did not converge in 1000 iterations")
    signs = np.sign(loads.sum(axis=0))
    signs[signs == 0] = 1
    loads = loads * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    prefix = "MR" if fm == "minres" else "ML"
    names = [f"{prefix}{i + 1}" for i in range(n_factors)]
    if n_factors > 1:
        ev = np.diag((phi if phi is not None else np.eye(n_factors)) @ loads.T @ loads)
        order = np.argsort(-ev, kind="stable")
        loads = loads[:, order]
        names = [names[i] for i in order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]
    fit = _fa_stats(r, loads, phi, n, counts.to_numpy() if counts is not None else None)
    phi_full = phi if phi is not None else np.eye(n_factors)
    communalities = 1.0 - psi
    if communalities.max() > 1 or psi.min() <= 0.005 + 1e-8:
        heywood = [items[i] for i in np.flatnonzero(psi <= 0.005 + 1e-8)]
        warnings.append("Heywood case: the uniqueness of " + ", ".join(heywood) +
                        " reached its lower bound (communality near or above 1); interpret with care, "
                        "consider fewer factors or dropping the item")
    if not converged:
        warnings.append("the factor extraction did not fully converge; interpret with care")
    vx = np.diag(phi_full @ loads.T @ loads)
    vtotal = float((np.diag(model) + np.diag(r - model)).sum())
    variance = pd.DataFrame({"SS loadings": vx, "Proportion Var": vx / vtotal,
                             "Cumulative Var": np.cumsum(vx / vtotal),
                             "Proportion Explained": vx / vx.sum(),
                             "Cumulative Proportion": np.cumsum(vx / vx.sum())}, index=names).T
    return EFAResult(
        loadings=pd.DataFrame(loads, index=items, columns=names),
        communalities=pd.Series(communalities, index=items, name="h2"),
        uniquenesses=pd.Series(np.diag(r - model), index=items, name="u2"),
        factor_correlations=pd.DataFrame(phi_full, index=names, columns=names),
        eigenvalues=pd.Series(np.sort(_eigvalsh(r))[::-1], index=range(1, p + 1), name="eigenvalue"),
        common_eigenvalues=pd.Series(common_eigen, index=range(1, p + 1), name="eigenvalue"),
        variance_accounted=variance, n_factors=n_factors, fm=fm, rotate=rotate, n_obs=n,
        dof=float(dof), objective=fit["objective"], chi2=fit["chi2"], p=fit["p"], tli=fit["tli"],
        rmsea=fit["rmsea"], rmsea_ci=fit["rmsea_ci"], rms=fit["rms"], converged=converged,
        warnings=warnings, correlation=r_df,
    )


def efa(data: pd.DataFrame, items: Sequence[str] | None = None, n_factors: int = 1, *, fm: str = "minres",
        rotate: str = "oblimin", missing: str = "pairwise", n_obs: int | None = None) -> EFAResult:
    """``fa`` on the named ``items`` of ``data`` (all columns when ``items`` is None)."""
    frame = data if items is None else _items_frame(data, items)
    return fa(frame, n_factors=n_factors, fm=fm, rotate=rotate, n_obs=n_obs, missing=missing)


# --------------------------------------------------------------------------------------
# parallel analysis


@dataclass
class ParallelResult:
    """Horn's parallel analysis, psych::fa.parallel style (simulated normal data).

    ``eigenvalues``: tidy table (``component`` 1..p, ``observed_pc``, ``observed_fa`` eigenvalues of R
    and of the one-factor minres reduced matrix, and the simulated ``simulated_pc_mean``,
    ``simulated_pc_q``, ``simulated_fa_mean``, ``simulated_fa_q`` at ``quantile``).
    ``n_factors``: number of leading factor eigenvalues above the simulated ``quantile``
    (psych's rule with its default quant = .95); ``n_components`` the same for components.
    """

    eigenvalues: pd.DataFrame
    n_factors: int
    n_components: int
    n_obs: int
    n_iter: int
    quantile: float
    seed: int | None

    def to_dict(self) -> dict:
        return {"n_factors": self.n_factors, "n_components": self.n_components, "n_obs": self.n_obs,
                "n_iter": self.n_iter, "quantile": self.quantile, "seed": self.seed,
                "criterion": f"observed eigenvalue > {self.quantile:g} quantile of simulated eigenvalues",
                "eigenvalues": self.eigenvalues.to_dict(orient="list")}


def _fa_eigenvalues(r: np.ndarray) -> np.ndarray:
    """psych fa(r, 1, fm='minres')$values: eigenvalues of R with the one-factor communalities on the diagonal."""
    psi, _ = _fit_uniquenesses(r, 1, "minres")
    loads = _minres_loadings(r, psi, 1)
    reduced = r.copy()
    np.fill_diagonal(reduced, (loads ** 2).sum(axis=1))
    return np.sort(_eigvalsh(reduced))[::-1]


def _leading_count(observed: np.ndarray, threshold: np.ndarray) -> int:
    above = observed > threshold
    return int(len(above) if above.all() else np.argmin(above))


def parallel_analysis(data: pd.DataFrame, items: Sequence[str] | None = None, *, n_iter: int = 20,
                      seed: int | None = 42, quantile: float = 0.95, missing: str = "pairwise") -> ParallelResult:
    """Horn's (1965) parallel analysis as ``psych::fa.parallel(x, fm = "minres", fa = "both",
    n.iter = 20, sim = TRUE, quant = .95)`` (simulated standard normal data with the same n and p).

    Observed eigenvalues are those of R (components) and of the one-factor minres reduced matrix
    (factors); each simulated data set gets the same treatment. The number of factors is the count
    of leading observed factor eigenvalues that exceed the ``quantile`` (default 95th percentile) of
    the simulated ones. The simulation is seeded so results are reproducible; they will not equal
    R's random draws digit for digit.
    """
    if n_iter < 1:
        raise InputError("parallel analysis needs at least one simulated data set", hint="set n_iter >= 1")
    if not 0 < quantile < 1:
        raise InputError("the quantile must lie between 0 and 1")
    r_df, n, _, _ = _corr_input(_select(data, items), None, missing)
    if n is None:
        raise InputError("parallel analysis needs raw data (or n_obs) to simulate samples of the same size")
    r = r_df.to_numpy()
    p = r.shape[0]
    if n <= p:
        raise InputError(f"{n} rows are too few for parallel analysis of {p} items",
                         hint="collect more answers or use fewer items")
    rng = np.random.default_rng(seed)
    sim_pc = np.empty((n_iter, p))
    sim_fa = np.empty((n_iter, p))
    for k in range(n_iter):
        sim = np.corrcoef(rng.standard_normal((n, p)), rowvar=False)
        sim_pc[k] = np.sort(_eigvalsh(sim))[::-1]
        sim_fa[k] = _fa_eigenvalues(sim)
    obs_pc = np.sort(_eigvalsh(r))[::-1]
    obs_fa = _fa_eigenvalues(r)
    table = pd.DataFrame({
        "component": np.arange(1, p + 1), "observed_pc": obs_pc, "observed_fa": obs_fa,
        "simulated_pc_mean": sim_pc.mean(axis=0), "simulated_pc_q": np.quantile(sim_pc, quantile, axis=0),
        "simulated_fa_mean": sim_fa.mean(axis=0), "simulated_fa_q": np.quantile(sim_fa, quantile, axis=0),
    })
    return ParallelResult(eigenvalues=table,
                          n_factors=_leading_count(obs_fa, table["simulated_fa_q"].to_numpy()),
                          n_components=_leading_count(obs_pc, table["simulated_pc_q"].to_numpy()),
                          n_obs=int(n), n_iter=int(n_iter), quantile=float(quantile), seed=seed)


# --------------------------------------------------------------------------------------
# CFA: multi-group normal-theory ML, as lavaan 0.6-14


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
            for j, f in enumerate(factors):
                first = True
                for i, item in enumerate(items):
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
        if not converged:
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
    for j, (f, its) in enumerate(model.items()):
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
    out = {"chi2": chi2, "df": int(df), "npar": int(model.n_free)}
    out["p"] = float(stats.chi2.sf(chi2, df)) if df > 0 else None
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


@dataclass
class CFAResult:
    """A confirmatory factor model fitted by ML (lavaan defaults).

    Fit: ``chi2``, ``df``, ``p``, ``cfi``, ``tli``, ``rmsea``, ``rmsea_ci`` [lower, upper] (90%),
    ``srmr`` (Bentler), ``loglik``, ``aic``, ``bic``, ``npar``, ``n``.
    ``loadings``: tidy DataFrame (``factor``, ``item``, ``estimate`` unstandardised, ``se``,
    ``loading`` completely standardised (lavaan std.all), ``residual_variance`` (theta),
    ``residual_variance_std``). ``factor_correlations``: factors x factors (std.all Phi).
    ``warnings``: plain-language problems (Heywood cases, non-convergence, df = 0).
    """

    chi2: float
    df: int
    p: float | None
    cfi: float | None
    tli: float | None
    rmsea: float | None
    rmsea_ci: list
    srmr: float
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    n: int
    npar: int
    loglik: float
    aic: float
    bic: float
    converged: bool
    warnings: list[str] = field(default_factory=list)

    def loading_dict(self) -> dict:
        """``{item: standardised loading}`` (first factor of an item if it loads on several)."""
        out: dict = {}
        for row in self.loadings.itertuples():
            out.setdefault(row.item, float(row.loading))
        return out

    def to_dict(self) -> dict:
        return {"n": self.n, "chi2": self.chi2, "df": self.df, "p": self.p, "cfi": self.cfi, "tli": self.tli,
                "rmsea": self.rmsea, "rmsea_ci": list(self.rmsea_ci), "srmr": self.srmr,
                "npar": self.npar, "loglik": self.loglik, "aic": self.aic, "bic": self.bic,
                "loadings": self.loading_dict(), "loadings_table": self.loadings.to_dict(orient="records"),
                "factor_correlations": self.factor_correlations.to_numpy().tolist(),
                "factors": list(self.factor_correlations.columns),
                "converged": self.converged, "warnings": list(self.warnings)}


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


def cfa(data: pd.DataFrame, model: dict[str, list[str]] | Sequence[str], *, missing: str = "listwise",
        std_lv: bool = True) -> CFAResult:
    """Confirmatory factor analysis by normal-theory maximum likelihood (Joreskog 1969).

    ``model`` maps factor -> items (a plain item list is one factor ``F``); factors correlate freely.
    As lavaan 0.6-14's defaults: complete cases, sample covariance with divisor N, no mean
    structure, ``F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p``, ``chi2 = N F_ML``; baseline =
    independence model; CFI (Bentler 1990), TLI (Tucker & Lewis 1973), RMSEA
    ``sqrt(max(chi2/N/df - 1/N, 0))`` (Steiger & Lind 1980) with its 90% CI from the noncentral
    chi-square, SRMR (Bentler 1995; lavaan "srmr"). ``std_lv=True`` fixes factor variances to 1
    (otherwise the first loading of each factor is 1); standardised loadings are the same either way.
    SEs from the expected information (lavaan's default ``information = "expected"``).

    Equivalent R call: ``lavaan::cfa(model, data, estimator = "ML", std.lv = TRUE, missing = "listwise")``.
    """
    items, factors, pattern, x, _ = _prepare_cfa(data, model, None, missing)
    samples = _samples(x, None, min_n=len(items))
    mdl = _Model(items, factors, pattern, samples, std_lv=std_lv, meanstructure=False, equal=set())
    p = len(items)
    df = p * (p + 1) // 2 - mdl.n_free
    if df < 0:
        raise InputError(f"the model has more parameters ({mdl.n_free}) than variances and covariances "
                         f"({p * (p + 1) // 2}), so it cannot be estimated (df = {df})",
                         hint="a one-factor model needs at least 3 items; give every factor 3 or more items")
    theta, fmin, grad, hess, converged = mdl.fit()
    warnings = []
    if df == 0:
        warnings.append("the model has 0 degrees of freedom (e.g. one factor with 3 items): it reproduces the "
                        "data exactly, so chi-square, CFI, TLI and RMSEA cannot test its fit")
    if not converged:
        warnings.append("the estimation did not converge; the results are not trustworthy "
                        "(the model may not be identified or may not suit these data)")
    fit = _fit_measures(mdl, theta, fmin, _baseline(samples))
    try:
        vcov = 2.0 / mdl.n_total * np.linalg.inv(hess)
        se_all = np.sqrt(np.clip(np.diag(vcov), 0, None))
    except np.linalg.LinAlgError:
        se_all = np.full(mdl.n_free, np.nan)
        warnings.append("the information matrix is singular: the model is not identified, standard errors unavailable")
    warnings += _heywood_warnings(mdl, theta)
    lam, phi, th, _, _ = mdl.matrices(theta, 0)
    sigma, _ = mdl.implied(theta, 0)
    sd_lat = np.sqrt(np.abs(np.diag(phi)))
    sd_obs = np.sqrt(np.diag(sigma))
    rows = []
    spec = mdl.groups[0]
    for j, f in enumerate(factors):
        for i, item in enumerate(items):
            if pattern[i, j]:
                k = spec.lam_idx[i, j]
                rows.append({"factor": f, "item": item, "estimate": float(lam[i, j]),
                             "se": float(se_all[k]) if k >= 0 else None,
                             "loading": float(lam[i, j] * sd_lat[j] / sd_obs[i]),
                             "residual_variance": float(th[i]),
                             "residual_variance_std": float(th[i] / sd_obs[i] ** 2)})
    phi_std = phi / np.outer(sd_lat, sd_lat)
    return CFAResult(chi2=fit["chi2"], df=fit["df"], p=fit["p"], cfi=fit["cfi"], tli=fit["tli"],
                     rmsea=fit["rmsea"], rmsea_ci=fit["rmsea_ci"], srmr=fit["srmr"],
                     loadings=pd.DataFrame(rows),
                     factor_correlations=pd.DataFrame(phi_std, index=factors, columns=factors),
                     n=mdl.n_total, npar=fit["npar"], loglik=fit["loglik"], aic=fit["aic"], bic=fit["bic"],
                     converged=converged, warnings=warnings)


@dataclass
class InvarianceResult:
    """Configural, metric and scalar multi-group CFA (lavaan ``group.equal``) and their comparisons.

    ``steps``: tidy DataFrame, one row per step (``step``, ``chi2``, ``df``, ``p``, ``cfi``, ``tli``,
    ``rmsea``, ``rmsea_lower``, ``rmsea_upper``, ``srmr``, ``aic``, ``bic``, ``chi2_diff``,
    ``df_diff``, ``p_diff``, ``delta_cfi``, ``delta_rmsea``), ``n_by_group``, ``warnings``.
    """

    steps: pd.DataFrame
    n_by_group: dict
    group: str
    warnings: list[str] = field(default_factory=list)

    def step(self, name: str) -> dict:
        return self.steps.set_index("step").loc[name].to_dict()

    def to_dict(self) -> dict:
        out = {"group": self.group, "n_by_group": self.n_by_group, "warnings": list(self.warnings)}
        for row in self.steps.to_dict(orient="records"):
            name = row.pop("step")
            for key in ("df", "df_diff", "npar"):
                if row.get(key) is not None and np.isfinite(row[key]):
                    row[key] = int(row[key])
            out[name] = row
        return out


def invariance(data: pd.DataFrame, model: dict[str, list[str]] | Sequence[str], group: str, *,
               missing: str = "listwise") -> InvarianceResult:
    """Measurement invariance across groups (Meredith 1993; Vandenberg & Lance 2000): configural
    (same pattern), metric (equal loadings) and scalar (equal loadings and intercepts) multi-group
    ML CFA with a mean structure, marker-variable identification (first loading of each factor 1,
    latent means 0, free in groups 2.. under scalar invariance), as
    ``lavaan::cfa(model, data, group = g, group.equal = c("loadings", "intercepts"))``.

    chi2 = sum_g N_g F_ML,g (with mean part); RMSEA multiplied by sqrt(G) and SRMR (Bentler, with
    mean residuals) as lavaan; the chi-square difference test against the step before is
    ``lavaan::anova`` (standard ML: difference of chi-squares and of df). Groups appear in the
    order of first appearance in the data; rows with a missing item or group are dropped.
    """
    items, factors, pattern, x, g = _prepare_cfa(data, model, group, missing)
    labels = list(pd.unique(g))
    if len(labels) < 2:
        raise InputError("measurement invariance needs at least two groups", column=str(group),
                         hint="pick a grouping column with two or more values")
    samples = _samples(x, g, min_n=len(items))
    baseline = _baseline(samples)
    rows = []
    warnings: list[str] = []
    previous = None
    for name, equal in (("configural", set()), ("metric", {"loadings"}), ("scalar", {"loadings", "intercepts"})):
        mdl = _Model(items, factors, pattern, samples, std_lv=False, meanstructure=True, equal=equal)
        p = len(items)
        df = len(samples) * (p * (p + 1) // 2 + p) - mdl.n_free
        if df < 0:
            raise InputError(f"the {name} model has more parameters than data moments (df = {df})",
                             hint="give every factor at least 3 items")
        theta, fmin, _, _, converged = mdl.fit()
        if not converged:
            warnings.append(f"the {name} model did not converge; its results are not trustworthy")
        warnings += [f"{name}: {w}" for w in _heywood_warnings(mdl, theta)]
        fit = _fit_measures(mdl, theta, fmin, baseline)
        row = {"step": name, "chi2": fit["chi2"], "df": fit["df"], "p": fit["p"], "cfi": fit["cfi"],
               "tli": fit["tli"], "rmsea": fit["rmsea"], "rmsea_lower": fit["rmsea_ci"][0],
               "rmsea_upper": fit["rmsea_ci"][1], "srmr": fit["srmr"], "aic": fit["aic"], "bic": fit["bic"],
               "npar": fit["npar"], "chi2_diff": None, "df_diff": None, "p_diff": None, "delta_cfi": None,
               "delta_rmsea": None}
        if previous is not None:
            diff = max(fit["chi2"] - previous["chi2"], 0.0)
            ddf = fit["df"] - previous["df"]
            row.update({"chi2_diff": diff, "df_diff": ddf,
                        "p_diff": float(stats.chi2.sf(diff, ddf)) if ddf > 0 else None,
                        "delta_cfi": (fit["cfi"] - previous["cfi"]) if None not in (fit["cfi"], previous["cfi"]) else None,
                        "delta_rmsea": (fit["rmsea"] - previous["rmsea"]) if None not in (fit["rmsea"], previous["rmsea"]) else None})
        rows.append(row)
        previous = fit
    n_by_group = {str(s.label): s.n for s in samples}
    return InvarianceResult(steps=pd.DataFrame(rows), n_by_group=n_by_group, group=str(group), warnings=warnings)
