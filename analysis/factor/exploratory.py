"""Exploratory factor analysis reproducing ``psych::fa`` (Revelle, psych 2.2.9).

Extraction in ``extraction.py`` (minres, ML), rotation in ``rotation.py`` (oblimin, varimax); this
module puts them together as ``psych::fa`` does (sign flips, ordering by variance accounted for)
and adds ``psych::fa.stats``' fit statistics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError
from analysis.factor._linalg import _eigvalsh, _smooth
from analysis.factor.correlation import _corr_input, _items_frame
from analysis.factor.extraction import _fit_uniquenesses, _minres_loadings, _ml_loadings
from analysis.factor.fit_indices import _rmsea_ci
from analysis.factor.rotation import _oblimin, _varimax
from analysis.formatting import num

LOADING_CUTOFF = 0.40


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
    def weak_items(self) -> list[str]:
        """Items loading below .40 on every factor (the Stevens 2002 / Hair et al. 2019 convention)."""
        return [str(i) for i, row in self.loadings.iterrows() if row.abs().max() < LOADING_CUTOFF]

    def reading(self) -> str:
        """One plain-language paragraph: variance explained, fit, and the items below the .40 convention."""
        share = float(self.variance_accounted.loc["Cumulative Var"].iloc[-1])
        fit_bits = (f"; TLI = {num(self.tli)}, RMSEA = {num(self.rmsea, 3)}" if self.tli is not None
                    and self.rmsea is not None else "")
        weak = self.weak_items
        return (f"{self.n_factors} factor(s) ({self.fm}, {self.rotate}) explain {share:.0%} of the items' "
                f"variance{fit_bits}. Loadings of .40 or more are usually read as an item belonging to a factor"
                + (f"; {', '.join(weak)} load(s) below .40 on every factor." if weak else "; every item does."))

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

def _harmonic_mean(values: np.ndarray) -> float:
    """``scipy.stats.hmean`` of positive counts (0 when one is 0), without importing scipy.stats
    (0.4 s of a command's start): 1 / mean(1 / x), as scipy computes it."""
    values = np.asarray(values, dtype=float)
    if (values == 0).any():
        return 0.0
    return float(1.0 / np.mean(1.0 / values))


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
        nh = _harmonic_mean(counts.ravel())
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
    out["p"] = float(special.chdtrc(dof, chi2)) if dof > 0 else None
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
