"""Internal consistency of a scale: Cronbach's alpha, Guttman's lambdas, McDonald's omega.

Everything here reproduces ``psych::alpha(x, check.keys = FALSE)`` (Revelle, psych 2.2.9)
and ``psych::omega(x, nfactors = 1)`` on the same (reverse-keyed) items, for both
missing-data rules:

* ``missing="pairwise"`` (psych's default): the covariance matrix is ``cov(x, use =
  "pairwise")``, item means and SDs use every answer to that item;
* ``missing="listwise"``: rows with any missing item are dropped first (``na.omit``).

Formulas and sources
--------------------
* alpha = k/(k-1) * (1 - tr(C)/sum(C)) (Cronbach 1951); standardized alpha the same on
  R = cov2cor(C).
* Feldt CI: 1 - (1 - alpha) * F(q; n-1, (n-1)(k-1)) (Feldt 1965; ``psych::alpha.ci``), with
  n as psych counts it: every row given (``nsub <- dim(x)[1]`` in ``psych::alpha``), including
  rows that answer none of the items, under pairwise deletion; the complete rows under
  listwise deletion (psych is then given ``na.omit(x)``).
* lambda-2 = (sum of off-diagonal r + sqrt(k/(k-1) * sum of off-diagonal r^2)) / sum(R),
  lambda-6 = 1 - sum(1 - smc) / sum(R) (Guttman 1945), both on R as psych computes them
  (``psych::splitHalf(x)$lambda2``, ``psych::alpha(x)$total$"G6(smc)"``).
* omega total = (sum(R) - sum(u2)) / sum(R), u2 the uniquenesses of a one-factor minres
  solution of the pairwise Pearson correlations (McDonald 1999; ``psych::omega(x, 1)``).
* r.drop: correlation of an item with the sum of the other items, from C.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputError
from analysis.scoring import apply_reverse, numeric_items

MISSING_RULES = ("pairwise", "listwise")
MIN_ROWS = 3  # fewer than three answers leave no usable variance or correlation


@dataclass
class ReliabilityResult:
    """Alpha, lambdas and omega of one scale, with the item table (see module docstring)."""

    n: int                      # respondents used (pairwise: with at least one answer)
    k: int                      # number of items
    missing: str                # "pairwise" or "listwise"
    alpha: float                # raw Cronbach's alpha
    alpha_std: float            # standardized alpha (from the correlation matrix)
    alpha_ci: tuple[float, float]  # Feldt (1965) interval at ci_level
    ci_level: float
    lambda2: float
    lambda6: float
    average_r: float
    median_r: float
    omega_total: float
    items: pd.DataFrame         # item, n, mean, sd, r_drop, r_cor, alpha_if_deleted, alpha_std_if_deleted
    n_rows: int                 # rows given (before any missing-data rule)
    n_min_pairwise: int         # smallest number of respondents behind one covariance
    scale_mean: float           # mean and SD of the respondents' item means (psych's total)
    scale_sd: float
    omega_cfa: float = float("nan")      # from a one-factor ML CFA, complete cases (lavaan)
    omega_cfa_std: float = float("nan")  # the same with standardized loadings
    n_cfa: int = 0
    reverse: list[str] = field(default_factory=list)
    alpha_ci_bootstrap: tuple[float, float] | None = None
    bootstrap: int = 0
    warnings: list[str] = field(default_factory=list)
    correlations: pd.DataFrame | None = None  # inter-item R = cov2cor(C) behind alpha_std (for a heatmap)

    def reading(self) -> str:
        """One plain-language sentence quoting the numbers and the convention used."""
        pct = f"{self.ci_level * 100:g}%"
        text = (f"alpha = {_num(self.alpha)} [{_num(self.alpha_ci[0])}, {_num(self.alpha_ci[1])}] "
                f"({pct} Feldt interval)")
        if self.alpha_ci_bootstrap is not None:
            lo, hi = self.alpha_ci_bootstrap
            text += f", bootstrap [{_num(lo)}, {_num(hi)}]"
        if np.isfinite(self.omega_total):
            text += f", omega total = {_num(self.omega_total)}"
        text += f" for {self.k} items and n = {self.n} ({self.missing} deletion)"
        text += "; values of .70 or more are usually taken as acceptable for research scales (Nunnally 1978)"
        finite = [v for v in (self.alpha, self.omega_total) if np.isfinite(v)]
        if finite and min(finite) < 0.70:
            text += ", so this scale falls short of that convention"
        return text + "."

    def to_dict(self) -> dict:
        items = self.items.copy()
        return {
            "n": self.n,
            "k": self.k,
            "missing": self.missing,
            "alpha": self.alpha,
            "alpha_std": self.alpha_std,
            "alpha_ci": list(self.alpha_ci),
            "ci_level": self.ci_level,
            "alpha_ci_bootstrap": list(self.alpha_ci_bootstrap) if self.alpha_ci_bootstrap else None,
            "bootstrap": self.bootstrap,
            "lambda2": self.lambda2,
            "lambda6": self.lambda6,
            "average_r": self.average_r,
            "median_r": self.median_r,
            "omega_total": self.omega_total,
            "omega_cfa": self.omega_cfa,
            "omega_cfa_std": self.omega_cfa_std,
            "n_cfa": self.n_cfa,
            "n_rows": self.n_rows,
            "n_min_pairwise": self.n_min_pairwise,
            "scale_mean": self.scale_mean,
            "scale_sd": self.scale_sd,
            "reverse": list(self.reverse),
            "items": items.to_dict(orient="records"),
            "warnings": list(self.warnings),
            "reading": self.reading(),
        }


def _num(value: float, digits: int = 2) -> str:
    """APA style for coefficients bounded by 1: no leading zero (.82, -.21)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


# --------------------------------------------------------------------------- core formulas

def _finite(value: float) -> float:
    """Undefined results (a zero or negative variance of a part of the scale) become NaN."""
    value = float(value)
    return value if np.isfinite(value) else float("nan")


@np.errstate(divide="ignore", invalid="ignore")
def _alpha_parts(C: np.ndarray, R: np.ndarray) -> dict:
    """psych's ``alpha.1``: raw and standardized alpha, G6(smc), average and median r."""
    k = C.shape[0]
    sum_c = C.sum()
    sum_r = R.sum()
    off = R[np.tril_indices(k, -1)]
    smc = _smc(R)
    return {
        "alpha": _finite((1 - np.trace(C) / sum_c) * k / (k - 1)),
        "alpha_std": _finite((1 - k / sum_r) * k / (k - 1)),
        "lambda6": _finite(1 - (k - smc.sum()) / sum_r),
        "average_r": (sum_r - k) / (k * (k - 1)),
        "median_r": float(np.median(off)),
    }


def _smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^-1) (``psych::smc``: pseudo-inverse,
    clipped to [0, 1])."""
    inv = np.linalg.pinv(R, rcond=np.sqrt(np.finfo(float).eps), hermitian=True)
    smc = 1 - 1 / np.diag(inv)
    return np.clip(smc, 0.0, 1.0)


def _lambda2(R: np.ndarray) -> float:
    """Guttman's (1945) lambda-2 on R, as ``psych::splitHalf`` reports it."""
    k = R.shape[0]
    off = R - np.diag(np.diag(R))
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite((off.sum() + np.sqrt((off ** 2).sum() * k / (k - 1))) / R.sum())


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965) confidence interval for alpha from the F distribution.

    lower = 1 - (1 - alpha) * F(1 - p/2; n - 1, (n - 1)(k - 1)), upper with F(p/2), p = 1 - level.
    R: ``psych::alpha.ci(alpha, n.obs = n, n.var = k, p.val = 1 - level)``.
    """
    p = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2)
    return float(lower), float(upper)


def _cov(x: pd.DataFrame, missing: str) -> np.ndarray:
    # pandas' pairwise covariance uses the pairwise means, as R's cov(use = "pairwise").
    return x.cov(min_periods=2).to_numpy() if missing == "pairwise" else np.cov(x.to_numpy(), rowvar=False)


def _cov2cor(C: np.ndarray) -> np.ndarray:
    d = 1 / np.sqrt(np.diag(C))
    return C * np.outer(d, d)


def omega_total(x: pd.DataFrame) -> tuple[float, pd.DataFrame, bool, list[str]]:
    """McDonald's (1999) omega total from a one-factor minres model.

    omega_t = (sum(R) - sum(u2)) / sum(R), R the pairwise Pearson correlations of the items
    (``cor(x, use = "pairwise")``), u2 = 1 - h2 of ``psych::fa(R, 1, fm = "minres")``;
    items with a negative loading are flipped first, as ``psych::omega(x, nfactors = 1)``
    does. Returns (omega, table of loading/h2/u2, whether items were flipped, the factor
    model's warnings).
    """
    from analysis.factor import fa  # one home for factor models

    R = x.corr(min_periods=2)
    if R.isna().to_numpy().any():
        i, j = np.argwhere(R.isna().to_numpy())[0]
        raise InputError(f"the correlation of items '{R.columns[i]}' and '{R.columns[j]}' (needed for omega) "
                         "is undefined: too few respondents answered both, or they all gave the same answer",
                         column=str(R.columns[i]),
                         hint="use listwise deletion or items answered by the same people")
    model = fa(R, n_factors=1, fm="minres", rotate="none", n_obs=len(x))
    loadings = np.asarray(model.loadings, dtype=float).reshape(len(R), -1)[:, 0]
    sign = np.where(loadings < 0, -1.0, 1.0)
    Rm = R.to_numpy() * np.outer(sign, sign)
    h2 = loadings ** 2
    u2 = 1 - h2
    with np.errstate(divide="ignore", invalid="ignore"):
        omega = _finite((Rm.sum() - u2.sum()) / Rm.sum())
    table = pd.DataFrame({"item": list(R.columns), "loading": loadings * sign, "h2": h2, "u2": u2})
    return omega, table, bool((sign < 0).any()), [f"omega: {w}" for w in getattr(model, "warnings", [])]


def omega_cfa(x: pd.DataFrame) -> tuple[float, float, int, list[str]]:
    """Omega total from a one-factor confirmatory factor model (McDonald 1999; Raykov 1997).

    omega = (sum lambda)^2 / ((sum lambda)^2 + sum theta) with the unstandardized ML estimates
    (factor variance 1): the reliability of the unit-weighted raw sum score; the standardized
    version uses lambda* (std.all) and theta* = 1 - lambda*^2 (the sum of z-scored items).
    Complete cases, as lavaan's default. R: ``lavaan::cfa('F =~ x1 + ... + xk', data,
    estimator = "ML", std.lv = TRUE)``, then the formula on ``parameterEstimates`` /
    ``standardizedSolution``. Returns (omega, omega_std, n used, warnings).
    """
    from analysis.factor import cfa  # one home for CFA

    model = cfa(x, {"F": list(x.columns)})
    lam = model.loadings["estimate"].to_numpy(dtype=float)
    theta = model.loadings["residual_variance"].to_numpy(dtype=float)
    lam_std = model.loadings["loading"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = _finite(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()))
        std = _finite(lam_std.sum() ** 2 / (lam_std.sum() ** 2 + (1 - lam_std ** 2).sum()))
    return raw, std, int(model.n), [f"omega (CFA): {w}" for w in model.warnings
                                    if "degrees of freedom" not in w]


# --------------------------------------------------------------------------- main entry

def reliability(data: pd.DataFrame, items: Sequence[str], *, reverse: Sequence[str] | None = None,
                scale_min: float | None = None, scale_max: float | None = None,
                missing: str = "pairwise", ci: float = 0.95, bootstrap: int = 0,
                seed: int | None = None) -> ReliabilityResult:
    """Reliability of the scale formed by ``items`` (reverse-keying ``reverse`` first).

    Matches ``psych::alpha(x, check.keys = FALSE)`` for alpha, standardized alpha, G6(smc)
    (lambda-6), average r, r.drop, item means/SDs and alpha if an item is dropped, and
    ``psych::omega(x, nfactors = 1)`` for omega total; ``x`` holds the reverse-keyed items,
    with ``na.omit(x)`` for ``missing="listwise"``. The Feldt interval counts rows as psych
    does: every row given (``nrow(x)``, rows answering none of the items included) under
    pairwise deletion, the complete rows under listwise deletion; ``n`` (the respondents
    whose answers enter the statistics) leaves out rows answering no item, so the two can
    differ. Checked against psych 2.2.9 on bfi with 200 empty rows added
    (tests/test_reliability.py). ``bootstrap`` > 0 adds a percentile
    interval from that many resamples of respondents under the same missing-data rule.

    Sources: Cronbach (1951); Feldt (1965); Guttman (1945); McDonald (1999); Revelle's psych.
    """
    items = list(items)
    if len(items) < 2:
        raise InputError(f"reliability needs at least two items, got {len(items)}",
                         column=items[0] if items else None, hint="pick two or more items of the scale")
    duplicated = sorted({c for c in items if items.count(c) > 1})
    if duplicated:
        raise InputError("the same item is listed twice", column=str(duplicated[0]),
                         hint="list each item once")
    if missing not in MISSING_RULES:
        raise InputError(f"unknown missing-data rule {missing!r}", hint="use 'pairwise' or 'listwise'")
    if not 0 < ci < 1:
        raise InputError(f"confidence level must be between 0 and 1, got {ci}", hint="e.g. 0.95")
    if bootstrap is None or int(bootstrap) < 0:
        raise InputError("the number of bootstrap resamples cannot be negative", hint="use 0 for none")
    reverse = list(reverse or [])
    if (scale_min is None) != (scale_max is None):
        raise InputError("give both the scale minimum and maximum, or neither",
                         hint="e.g. --scale-min 1 --scale-max 6")
    if scale_min is not None and scale_min >= scale_max:
        raise InputError(f"scale minimum {scale_min} must be below the maximum {scale_max}")

    x = numeric_items(data, items, min_items=2)
    for col in items:
        if x[col].notna().sum() == 0:
            raise InputError("this item has no answers", column=str(col),
                             hint="remove it from the scale or check the column mapping")
    x = apply_reverse(x, reverse, scale_min, scale_max)
    range_note = None
    if reverse and scale_min is None:
        observed = numeric_items(data, reverse)
        range_note = (f"reverse-keyed items were recoded with the observed range {np.nanmin(observed.to_numpy()):g}.."
                      f"{np.nanmax(observed.to_numpy()):g}; give the scale's minimum and maximum if answers "
                      "at the ends of the scale may be missing")
    n_rows = len(x)
    if missing == "listwise":
        x = x.dropna()
    else:
        x = x[x.notna().any(axis=1)]
    n = len(x)
    n_feldt = n if missing == "listwise" else n_rows  # psych::alpha's nsub = dim(x)[1]
    if n < MIN_ROWS:
        raise InputError(f"only {n} respondent(s) with usable answers ({missing} deletion); "
                         f"at least {MIN_ROWS} are needed",
                         hint="use pairwise deletion or more data" if missing == "listwise" else "use more data")
    sd = x.std()
    for col in items:
        if not np.isfinite(sd[col]) or sd[col] <= 0:
            value = x[col].dropna()
            raise InputError(f"every respondent gave the same answer ({value.iloc[0]:g}), so the item has no variance"
                             if len(value) else "this item has no answers after the missing-data rule",
                             column=str(col), hint="drop this item from the scale")

    observed = x.notna().astype(float).to_numpy()
    pair_n = observed.T @ observed
    n_min_pairwise = int(pair_n.min())
    if n_min_pairwise < 2:
        i, j = np.unravel_index(int(np.argmin(pair_n)), pair_n.shape)
        raise InputError(f"items '{items[i]}' and '{items[j]}' were answered together by "
                         f"{n_min_pairwise} respondent(s), so their covariance is undefined",
                         column=str(items[i]), hint="use items that the same respondents answered")

    C = _cov(x, missing)
    if C.sum() <= 0:
        raise InputError("the items' covariances cancel out (sum of the covariance matrix is not positive)",
                         hint="check which items are reverse-keyed")
    R = _cov2cor(C)
    k = len(items)
    total = _alpha_parts(C, R)

    # Item table: psych's item.stats and alpha.drop.
    item_n = x.notna().sum().to_numpy()
    r_drop = np.empty(k)
    for i in range(k):
        rest = [j for j in range(k) if j != i]
        with np.errstate(divide="ignore", invalid="ignore"):
            r_drop[i] = _finite((C[:, i].sum() - C[i, i]) / np.sqrt(C[i, i] * C[np.ix_(rest, rest)].sum()))
    RC = R.copy()
    np.fill_diagonal(RC, _smc(R))
    r_cor = RC.sum(axis=0) / np.sqrt(RC.sum())
    if_deleted = np.full(k, np.nan)
    std_if_deleted = np.full(k, np.nan)
    if k > 2:  # with two items, dropping one leaves no scale
        for i in range(k):
            rest = [j for j in range(k) if j != i]
            part = _alpha_parts(C[np.ix_(rest, rest)], R[np.ix_(rest, rest)])
            if_deleted[i], std_if_deleted[i] = part["alpha"], part["alpha_std"]
    table = pd.DataFrame({
        "item": items, "n": item_n.astype(int), "mean": x.mean().to_numpy(), "sd": sd.to_numpy(),
        "r_drop": r_drop, "r_cor": r_cor, "alpha_if_deleted": if_deleted,
        "alpha_std_if_deleted": std_if_deleted,
    })

    warnings: list[str] = [range_note] if range_note else []
    for _, row in table.iterrows():
        if row["r_drop"] < 0:
            marked = row["item"] in reverse
            warnings.append(
                f"item {row['item']} correlates negatively with the rest of the scale (r = {_num(row['r_drop'])}): "
                + ("it is marked reverse-keyed; is that right?" if marked
                   else "is it reverse-keyed but not marked?"))
    if k == 2:
        warnings.append("with two items, alpha if an item is deleted is not defined")
    if missing == "pairwise" and n_min_pairwise < n:
        warnings.append(f"pairwise deletion: the covariances rest on {n_min_pairwise} to {int(pair_n.max())} "
                        f"respondents ({n} answered at least one item)")

    cfa_raw = cfa_std = float("nan")
    n_cfa = 0
    if k > 2:
        omega, _, flipped, factor_warnings = omega_total(x)
        warnings.extend(factor_warnings)
        try:
            cfa_raw, cfa_std, n_cfa, cfa_warnings = omega_cfa(x)
            warnings.extend(cfa_warnings)
        except InputError as exc:  # e.g. too few complete cases for the CFA: alpha and omega still stand
            warnings.append(f"omega from a one-factor CFA is not available: {exc.message}")
    else:  # one factor with two indicators is not identified: any l1 * l2 = r12 fits
        omega, flipped = float("nan"), False
        warnings.append("omega total needs at least three items (a one-factor model of two items is not identified)")
    if flipped:
        warnings.append("omega total flips items that load negatively on the common factor (as psych::omega does); "
                        "check the reverse-keying")

    total_score = x.mean(axis=1)
    result = ReliabilityResult(
        n=n, k=k, missing=missing, alpha=float(total["alpha"]), alpha_std=float(total["alpha_std"]),
        alpha_ci=feldt_ci(float(total["alpha"]), n_feldt, k, ci), ci_level=ci, lambda2=_lambda2(R),
        lambda6=float(total["lambda6"]), average_r=float(total["average_r"]),
        median_r=float(total["median_r"]), omega_total=omega, items=table, n_rows=n_rows,
        n_min_pairwise=n_min_pairwise, scale_mean=float(total_score.mean()),
        scale_sd=float(total_score.std()), omega_cfa=cfa_raw, omega_cfa_std=cfa_std, n_cfa=n_cfa,
        reverse=reverse, correlations=pd.DataFrame(R, index=items, columns=items), bootstrap=int(bootstrap), warnings=warnings)
    if bootstrap:
        result.alpha_ci_bootstrap = _bootstrap_ci(x, missing, int(bootstrap), ci, seed)
    return result


def _bootstrap_ci(x: pd.DataFrame, missing: str, n_boot: int, level: float,
                  seed: int | None) -> tuple[float, float]:
    """Percentile interval of alpha over resampled respondents (Efron & Tibshirani 1993;
    psych::alpha(n.iter = ...) reports the same kind of interval)."""
    rng = np.random.default_rng(seed)
    values = x.to_numpy()
    alphas = []
    for _ in range(n_boot):
        sample = pd.DataFrame(values[rng.integers(0, len(values), len(values))], columns=x.columns)
        C = _cov(sample, missing)
        if not np.all(np.isfinite(C)) or np.any(np.diag(C) <= 0) or C.sum() <= 0:
            continue  # a resample in which an item happens to be constant says nothing about alpha
        k = C.shape[0]
        alphas.append((1 - np.trace(C) / C.sum()) * k / (k - 1))
    if len(alphas) < max(10, n_boot // 2):
        raise InputError("too few usable bootstrap resamples (items are nearly constant)",
                         hint="use the Feldt interval or more data")
    p = 1 - level
    lo, hi = np.quantile(alphas, [p / 2, 1 - p / 2])
    return float(lo), float(hi)
