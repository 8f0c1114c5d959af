"""Comparisons with effect sizes and their confidence intervals: two surveys on their shared
constructs, and the levels of a group on a score or an answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis import privacy
from analysis.errors import InputError
from analysis.formatting import p_text
from analysis.topics.views import _labelled, published


def _hedges_g(x: np.ndarray, y: np.ndarray) -> float:
    """Hedges g: Cohen's d on the pooled SD times J = 1 - 3 / (4 (nx + ny) - 9) (Hedges 1981;
    R ``effectsize::hedges_g``)."""
    nx, ny = len(x), len(y)
    pooled = np.sqrt(((nx - 1) * x.var(ddof=1) + (ny - 1) * y.var(ddof=1)) / (nx + ny - 2))
    d = (x.mean() - y.mean()) / pooled
    return float(d * (1 - 3 / (4 * (nx + ny) - 9)))


def _hedges_ci(g: float, nx: int, ny: int) -> tuple[float, float]:
    """95% CI of g: g +/- t(.975, nx + ny - 2) * SE with the large-sample SE
    sqrt((nx + ny) / (nx ny) + g^2 / (2 (nx + ny))) (Hedges & Olkin 1985, eq. 5.14; R
    ``effsize::cohen.d(noncentral = FALSE)``)."""
    se = np.sqrt((nx + ny) / (nx * ny) + g * g / (2 * (nx + ny)))
    crit = stats.t.ppf(0.975, nx + ny - 2)
    return float(g - crit * se), float(g + crit * se)


def _rank_biserial(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float, float]:
    """Mann-Whitney U, p, rank-biserial r = 2A - 1 (A = P(X > Y) + P(X = Y)/2) and its 95% CI
    from the Hanley & McNeil (1982) standard error of A. R: ``wilcox.test``,
    ``effectsize::rank_biserial`` (which uses a Fisher-z interval instead)."""
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    nx, ny = len(x), len(y)
    a = res.statistic / (nx * ny)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt(max(a * (1 - a) + (nx - 1) * (q1 - a * a) + (ny - 1) * (q2 - a * a), 0) / (nx * ny))
    z = stats.norm.ppf(0.975)
    return (float(res.statistic), float(res.pvalue), float(2 * a - 1),
            float(max(-1.0, 2 * (a - z * se) - 1)), float(min(1.0, 2 * (a + z * se) - 1)))


def _two_sample(x: pd.Series, y: pd.Series, parametric: bool) -> dict:
    x, y = x.dropna().to_numpy(float), y.dropna().to_numpy(float)
    if len(x) < 2 or len(y) < 2:
        raise InputError("each group needs at least two answers to be compared")
    if parametric:
        t = stats.ttest_ind(x, y, equal_var=False)
        vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
        df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))  # Welch-Satterthwaite
        g = _hedges_g(x, y)
        lo, hi = _hedges_ci(g, len(x), len(y))
        return {"test": "Welch t", "statistic": float(t.statistic), "df": float(df), "p": float(t.pvalue),
                "effect": "Hedges g", "effect_size": g, "ci_low": lo, "ci_high": hi}
    u, p, r, lo, hi = _rank_biserial(x, y)
    return {"test": "Mann-Whitney U", "statistic": u, "df": np.nan, "p": p,
            "effect": "rank-biserial r", "effect_size": r, "ci_low": lo, "ci_high": hi}


def compare_surveys(servants: pd.DataFrame, ps_instrument, citizens: pd.DataFrame, ct_instrument, *,
                    parametric: bool = True, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Public servants vs citizens on every construct sharing a ``shared_key`` (scored data).

    Welch t with Hedges g and its CI (pingouin; R ``t.test(var.equal = FALSE)``,
    ``effectsize::hedges_g``), or Mann-Whitney U with rank-biserial r (``parametric=False``).
    Positive effects mean public servants score higher.
    """
    rows = []
    for c in ps_instrument.constructs:
        if not c.shared_key or c.key not in servants.columns:
            continue
        other = ct_instrument.shared_construct(c.shared_key)
        if other is None or other.key not in citizens.columns:
            continue
        x = servants.loc[published(servants, servants[c.key].notna(), min_n), c.key]
        y = citizens.loc[published(citizens, citizens[other.key].notna(), min_n), other.key]
        res = _two_sample(x, y, parametric)
        who = "public servants" if res["effect_size"] > 0 else "citizens"
        # A direction is only stated when the interval excludes no difference.
        clear = res["ci_low"] > 0 or res["ci_high"] < 0
        verdict = f"{who} score higher" if clear else "no clear difference between public servants and citizens"
        rows.append({"shared_key": c.shared_key, "label": c.label, "n_servants": len(x), "mean_servants": x.mean(),
                     "sd_servants": x.std(ddof=1), "n_citizens": len(y), "mean_citizens": y.mean(),
                     "sd_citizens": y.std(ddof=1), **res,
                     "reading": f"{c.label}: {verdict} ({res['effect']} = {res['effect_size']:.2f}, "
                                f"95% CI {res['ci_low']:.2f} to {res['ci_high']:.2f}, {p_text(res['p'])})."})
    if not rows:
        raise InputError("the two instruments share no construct present in both data sets",
                         hint="shared constructs carry the same shared_key in both instruments")
    return pd.DataFrame(rows)


def _ncp_interval(stat: float, cdf, level: float = 0.95) -> tuple[float, float]:
    """Bounds of the noncentrality parameter whose distribution puts ``stat`` at the upper /
    lower (1 - level)/2 tail (Steiger 2004, Psychological Methods 9(2))."""
    alpha = (1 - level) / 2

    def solve(target):
        def f(lam):
            return cdf(stat, lam) - target

        if f(0.0) < 0:  # even lambda = 0 puts stat below the target quantile
            return 0.0
        hi = max(10.0, stat * 4)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi)

    return solve(1 - alpha), solve(alpha)


def _chi2_cdf(df):
    """The (noncentral) chi-square CDF as ``cdf(statistic, noncentrality)``."""
    return lambda s, lam: stats.ncx2.cdf(s, df, lam) if lam > 0 else stats.chi2.cdf(s, df)


def _f_cdf(df1, df2):
    """The (noncentral) F CDF as ``cdf(statistic, noncentrality)``."""
    return lambda s, lam: stats.ncf.cdf(s, df1, df2, lam) if lam > 0 else stats.f.cdf(s, df1, df2)


@dataclass
class GroupComparison:
    """A group comparison: the test, its effect size with 95% CI, and the per-group table."""
    outcome: str
    group: str
    test: str
    statistic: float
    df: object
    p: float
    effect: str
    effect_size: float
    ci_low: float
    ci_high: float
    groups: pd.DataFrame
    extra: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    rows: pd.Index | None = field(default=None, repr=False)  # the respondents compared
    levels: list | None = field(default=None, repr=False)  # the groups compared, in order

    @property
    def reading(self) -> str:
        return (f"{self.test}: {p_text(self.p)}; {self.effect} = {self.effect_size:.2f} "
                f"(95% CI {self.ci_low:.2f} to {self.ci_high:.2f})"
                + (". The groups differ more than chance would explain." if self.p < 0.05
                   else ". No difference beyond chance."))

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "group": self.group, "test": self.test, "statistic": self.statistic,
                "df": self.df, "p": self.p, "effect": self.effect, "effect_size": self.effect_size,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "groups": self.groups, "extra": self.extra,
                "notes": self.notes, "reading": self.reading}


def compare_groups(data: pd.DataFrame, outcome: str, group: str, *, parametric: bool = True,
                   categorical: bool | None = None, instrument=None,
                   min_n: int = privacy.DEFAULT_MIN_N) -> GroupComparison:
    """Compare ``outcome`` across the levels of ``group`` with the fitting test.

    * numeric, 2 groups: Welch t + Hedges g (CI: Hedges & Olkin 1985), or Mann-Whitney U
      + rank-biserial r (Hanley & McNeil 1982 CI). R: ``t.test``, ``wilcox.test``.
    * numeric, >2 groups: Welch ANOVA (Welch 1951; R ``oneway.test(var.equal = FALSE)``)
      with eta squared and omega squared from the one-way ANOVA sums of squares (Hays 1963),
      the eta squared CI by exact inversion of the noncentral F (Steiger 2004; R
      ``effectsize::eta_squared(ci = .95, alternative = "two.sided")`` agrees to about 1e-4);
      or Kruskal-Wallis (``scipy.stats.kruskal``; R ``kruskal.test``) with epsilon squared
      ``H (n + 1) / (n^2 - 1)`` (Tomczak & Tomczak 2014) and an approximate 95% CI from the
      noncentral chi-square inversion of H (effectsize bootstraps this CI instead).
    * categorical outcome: Pearson chi-square (``scipy.stats.chi2_contingency``, R
      ``chisq.test(correct = FALSE)``) with Cramer's V and its CI by inverting the noncentral
      chi-square (R ``effectsize::cramers_v(adjust = FALSE)``).
    Privacy: each level uses only the respondents ``privacy.group_cells`` allows (whole blocks
    of the view's partition with that level and at least ``min_n`` answers); levels with none
    are left out of the test and the table's values, and named in ``notes`` (no counts).
    """
    for col in (outcome, group):
        if col not in data.columns and not (col == "age_band" and "age" in data.columns):
            raise InputError("unknown column", column=col,
                             hint=f"available columns include {', '.join(map(str, list(data.columns)[:15]))}")
    g = pd.Series(_labelled(data, instrument, group), index=data.index)
    y = data[outcome]
    if categorical is None:  # a text column, or a categorical background of the instrument (codes with labels)
        categorical = not pd.api.types.is_numeric_dtype(y) or any(
            d.id == outcome and d.type == "categorical" for d in getattr(instrument, "demographics", None) or [])
    if categorical and instrument is not None and any(d.id == outcome for d in instrument.demographics):
        y = pd.Series(_labelled(data, instrument, outcome), index=data.index)
    if not categorical:
        y = pd.to_numeric(y, errors="coerce")
    cell = privacy.group_cells(data, g, min_n, answered=y.notna() & g.notna())
    frame = pd.DataFrame({"y": y, "g": cell}).dropna()
    asked = [str(k) for k in pd.Series(g[y.notna()]).dropna().unique()]
    shown = set(frame["g"].drop_duplicates().astype(str))  # the levels left, as text (once, not per level)
    small = [k for k in asked if k not in shown]
    notes = [f"left out ({privacy.TOO_FEW}): {', '.join(sorted(small, key=str))}"] if small else []
    present = frame["g"].cat.categories if hasattr(frame["g"], "cat") else sorted(frame["g"].unique(), key=str)
    levels = [k for k in present if (frame["g"] == k).any()]
    if len(levels) < 2:
        raise InputError(f"fewer than two groups of '{group}' have enough answers to be shown", column=group,
                         hint="pick another grouping or lower the filters")
    if categorical:
        frame = frame.assign(y=frame["y"].astype(str), g=frame["g"].astype(str))
        observed = pd.crosstab(frame["g"], frame["y"])
        chi2_, p_, dof_, expected = stats.chi2_contingency(observed.to_numpy(), correction=False)
        row = {"chi2": chi2_, "dof": float(dof_), "pval": p_}
        expected = pd.DataFrame(expected)
        n = len(frame)
        k = min(observed.shape) - 1
        chi2 = float(row["chi2"])
        lam_lo, lam_hi = _ncp_interval(chi2, _chi2_cdf(row["dof"]))
        g_order = [str(v) for v in levels]
        y_order = [str(v) for v in (y.cat.categories if hasattr(y, "cat") else sorted(observed.columns, key=str))
                   if str(v) in observed.columns]
        table = observed.reindex(index=g_order, columns=y_order).reset_index().rename(columns={"g": group})
        table.columns.name = None
        return GroupComparison(outcome, group, "Pearson chi-square", chi2, float(row["dof"]), float(row["pval"]),
                               "Cramer's V", float(np.sqrt(chi2 / (n * k))), float(np.sqrt(lam_lo / (n * k))),
                               float(min(1.0, np.sqrt(lam_hi / (n * k)))), table,
                               {"min_expected": float(expected.to_numpy().min())}, notes, frame.index, g_order)
    table = (frame.groupby("g", observed=True)["y"].agg(n="size", mean="mean", sd="std", median="median")
             .reset_index().rename(columns={"g": group}))
    table["suppressed"] = False
    if small:  # the left-out levels are listed without values or counts
        gone = pd.DataFrame({group: small, "n": [None] * len(small), "suppressed": [True] * len(small)})
        table = pd.concat([table.astype({group: object}), gone], ignore_index=True)
    if len(levels) == 2:
        res = _two_sample(frame.loc[frame["g"] == levels[0], "y"], frame.loc[frame["g"] == levels[1], "y"], parametric)
        return GroupComparison(outcome, group, res["test"], res["statistic"], res["df"], res["p"], res["effect"],
                               res["effect_size"], res["ci_low"], res["ci_high"], table,
                               {"direction": f"positive: {levels[0]} higher than {levels[1]}"}, notes, frame.index,
                               [str(v) for v in levels])
    n, k = len(frame), len(levels)
    if parametric:
        w = _welch_anova([frame.loc[frame["g"] == lv, "y"].to_numpy(float) for lv in levels])
        grand = frame["y"].mean()
        ss_b = float(frame.groupby("g", observed=True)["y"].apply(lambda v: len(v) * (v.mean() - grand) ** 2).sum())
        ss_t = float(((frame["y"] - grand) ** 2).sum())
        ms_w = (ss_t - ss_b) / (n - k)
        eta2 = ss_b / ss_t
        omega2 = (ss_b - (k - 1) * ms_w) / (ss_t + ms_w)
        f_classic = (ss_b / (k - 1)) / ms_w
        lam_lo, lam_hi = _ncp_interval(f_classic, _f_cdf(k - 1, n - k))
        return GroupComparison(outcome, group, "Welch ANOVA", w["F"], [w["ddof1"], w["ddof2"]], w["p"], "eta squared",
                               eta2, lam_lo / (lam_lo + n), lam_hi / (lam_hi + n), table,
                               {"omega_squared": float(omega2)}, notes, frame.index, [str(v) for v in levels])
    h, p = stats.kruskal(*[frame.loc[frame["g"] == lv, "y"] for lv in levels])
    eps = h * (n + 1) / (n * n - 1)
    lam_lo, lam_hi = _ncp_interval(float(h), _chi2_cdf(k - 1))

    def to_eps(lam):
        return min(1.0, (lam + k - 1) * (n + 1) / (n * n - 1)) if lam > 0 else 0.0

    return GroupComparison(outcome, group, "Kruskal-Wallis", float(h), float(k - 1), float(p), "epsilon squared",
                           float(eps), to_eps(lam_lo), to_eps(lam_hi), table, {}, notes, frame.index,
                           [str(v) for v in levels])


def _welch_anova(groups: list[np.ndarray]) -> dict:
    """Welch's (1951) heteroscedastic one-way ANOVA: weights w = n / s^2, F = A / B with
    A = sum w (m - m_w)^2 / (k - 1), B = 1 + 2 (k - 2) / (k^2 - 1) * sum (1 - w / W)^2 / (n - 1),
    df2 = (k^2 - 1) / (3 sum (1 - w / W)^2 / (n - 1)). R: ``oneway.test(var.equal = FALSE)``."""
    k = len(groups)
    n = np.array([len(g) for g in groups], float)
    m = np.array([g.mean() for g in groups])
    w = n / np.array([g.var(ddof=1) for g in groups])
    big_w = w.sum()
    mw = (w * m).sum() / big_w
    tmp = (((1 - w / big_w) ** 2) / (n - 1)).sum()
    f = ((w * (m - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) / (k * k - 1) * tmp)
    df2 = (k * k - 1) / (3 * tmp)
    return {"F": float(f), "ddof1": float(k - 1), "ddof2": float(df2), "p": float(stats.f.sf(f, k - 1, df2))}
