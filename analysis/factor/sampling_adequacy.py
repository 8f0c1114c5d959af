"""Sampling adequacy: is a correlation matrix worth factoring?

* ``kmo``: Kaiser-Meyer-Olkin measure of sampling adequacy (Kaiser 1970; Kaiser & Rice 1974), as
  ``psych::KMO``, with Kaiser's (1974) verbal labels.
* ``bartlett``: Bartlett's (1950) test of sphericity, as ``psych::cortest.bartlett``.
* ``sampling_adequacy``: both, with the plain-language reading the Measurement page shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import InputError
from analysis.factor.correlation import _check_singular, _corr_input, _select
from analysis.factor._linalg import _cov2cor
from analysis.formatting import num, p_text

# Kaiser (1974), "An index of factorial simplicity", Psychometrika 39: 31-36, p. 35.
KAISER_LABELS = ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"),
                 (0.5, "miserable"), (0.0, "unacceptable"))
MSA_MINIMUM = 0.5


def kaiser_label(msa: float) -> str:
    """Kaiser's (1974) word for an MSA value: marvelous (.90+), meritorious (.80+), middling (.70+),
    mediocre (.60+), miserable (.50+), unacceptable (below .50); ``"undefined"`` when not finite."""
    if msa is None or not np.isfinite(msa):
        return "undefined"
    return next((label for cut, label in KAISER_LABELS if msa >= cut), "unacceptable")


class KMOResult(NamedTuple):
    """``psych::KMO``'s ``MSA`` (overall) and ``MSAi`` (per item); unpacks as ``(overall, per_item)``."""

    overall: float
    per_item: pd.Series

    @property
    def label(self) -> str:
        """Kaiser's (1974) label for the overall MSA."""
        return kaiser_label(self.overall)

    @property
    def low_items(self) -> list[str]:
        """Items whose own MSA is below .50 (Kaiser's minimum): candidates to drop."""
        return [str(i) for i, v in self.per_item.items() if v < MSA_MINIMUM]


def kmo(data: pd.DataFrame, items: Sequence[str] | None = None, *, missing: str = "pairwise"
        ) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (Kaiser 1970; Kaiser & Rice 1974).

    ``MSA = sum r_ij^2 / (sum r_ij^2 + sum q_ij^2)`` over i != j, with q the partial
    correlations from the inverse of R (the anti-image); per item the same sums over column j.
    R is the pairwise (default) or listwise Pearson correlation matrix. Equivalent R call:
    ``psych::KMO(x)`` (which uses ``cor(x, use = "pairwise")``). Returns ``KMOResult(overall, per_item)``,
    which unpacks as the tuple ``(overall, per_item)`` and carries Kaiser's label (``.label``).
    """
    r, _, _, _ = _corr_input(_select(data, items), None, missing)
    _check_singular(r, "the KMO measure")
    rm = r.to_numpy().copy()
    q = _cov2cor(np.linalg.inv(rm))
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(rm, 0.0)
    r2, q2 = (rm ** 2).sum(axis=0), (q ** 2).sum(axis=0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    return KMOResult(overall, pd.Series(r2 / (r2 + q2), index=r.columns, name="MSA"))

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
    return {"chi2": chi2, "df": int(df), "p": float(special.chdtrc(df, chi2)), "n": int(n)}



@dataclass
class AdequacyResult:
    """KMO (overall and per item) and Bartlett's test of one set of items, with their reading."""

    kmo: float
    kmo_items: pd.Series
    bartlett: dict

    @property
    def kaiser_label(self) -> str:
        return kaiser_label(self.kmo)

    @property
    def low_items(self) -> list[str]:
        return KMOResult(self.kmo, self.kmo_items).low_items

    @property
    def correlated(self) -> bool:
        """Bartlett's test rejects an identity correlation matrix at .05."""
        return bool(self.bartlett["p"] < 0.05)

    def reading(self) -> str:
        """One plain-language paragraph quoting the numbers and the conventions used."""
        bart = self.bartlett
        return (f"KMO = {num(self.kmo)}, which Kaiser (1974) calls '{self.kaiser_label}' (.50 or more is needed, "
                f".80 or more is good); Bartlett's test chi2({bart['df']}) = {bart['chi2']:.1f}, {p_text(bart['p'])} "
                + ("says the items are correlated enough to factor." if self.correlated
                   else "cannot reject that the items are uncorrelated, so a factor model has little to work with.")
                + (f" Items with an MSA below .50: {', '.join(self.low_items)}." if self.low_items else ""))

    def to_dict(self) -> dict:
        return {"kmo": self.kmo, "kmo_label": self.kaiser_label, "kmo_items": self.kmo_items.to_dict(),
                "kmo_low_items": self.low_items, "bartlett": dict(self.bartlett)}


def sampling_adequacy(data: pd.DataFrame, items: Sequence[str] | None = None, *,
                      missing: str = "pairwise") -> AdequacyResult:
    """``kmo`` and ``bartlett`` on the same items and missing-data rule.

    Equivalent R calls: ``psych::KMO(x)``, ``psych::cortest.bartlett(cor(x, use = "pairwise"), n)``.
    """
    overall, per_item = kmo(data, items, missing=missing)
    return AdequacyResult(kmo=overall, kmo_items=per_item, bartlett=bartlett(data, items, missing=missing))
