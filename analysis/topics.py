"""Analyses behind the three research-topic screens, each returning tidy tables with a plain reading.

Topic 1 (knowledge, skills, attitudes): ``describe_constructs``, ``compare_surveys``,
``compare_groups``, ``correlations``. Topic 2 (strategic resources): ``analysis.readiness``
and ``engagement_model``.
Topic 3 (antecedents, drivers, challenges, outcomes): ``digital_divide``,
``broaden_deepen``, ``digital_participation_model``, ``barriers_enablers``,
``benefits_challenges``, ``outcomes``. Linking the surveys:
``link_readiness_to_municipalities``. Every screen filters with ``apply_filters``, which
enforces ``analysis.privacy`` (min-n, difference attacks, protected small groups).

Every function takes the pipeline's scored frame (``analysis.pipeline.prepare``: missing
codes cleared, one reverse-keyed scale score per construct) and never cleans or scores
again; constructs are found through the instrument (``family``, ``channel``, ``kind``,
``element``, ``shared_key``), never by item id. The readiness index is
``analysis.readiness_index``'s; the models name their derived predictors as the Models page
does (``c_x`` grand-mean centred, ``cwc_x`` centred within cluster, ``c_gm_x`` centred group
mean: ``analysis.model_data.with_derived``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from analysis import privacy
from analysis.derived import AGE_BREAKS, age_bands
from analysis.errors import InputError
from analysis.formatting import p_text
from analysis.readiness import resolve_group
from analysis.readiness_index import INDEX, group_means, readiness_dimensions, respondent_index, to_0_100

__all__ = ["AGE_BREAKS", "age_bands"]  # re-exported: their home is analysis.derived
PATTERNS = ["none", "offline only", "digital only", "both"]


# --------------------------------------------------------------------------- preparation
def _labelled(data: pd.DataFrame, instrument, column: str) -> pd.Series:
    """A demographic column with its level labels (as an ordered categorical); 'age' -> age bands."""
    if column == "age_band" and "age" in data.columns:
        return age_bands(data["age"])
    if column not in data.columns:
        raise InputError("unknown column", column=column,
                         hint=f"available columns include {', '.join(map(str, list(data.columns)[:15]))}")
    levels = None
    for d in getattr(instrument, "demographics", []) or []:
        if d.id == column and d.levels:
            levels = d.levels
    if levels:
        s = pd.to_numeric(data[column], errors="coerce")
        s = s.mask(s.isin(getattr(instrument, "missing_codes", []) or []))
        return pd.Categorical(s.map(lambda v: levels.get(int(v), str(v)) if pd.notna(v) else None),
                              categories=list(levels.values()), ordered=True)
    s = data[column]
    if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
        return s.astype("Int64")  # whole-number codes read as floats because of missing cells
    return s


def apply_filters(data: pd.DataFrame, filters: dict | None, min_n: int = privacy.DEFAULT_MIN_N, *,
                  instrument=None, group: str | None = None) -> pd.DataFrame:
    """The rows a filtered view may use (``privacy.check_filter``): whole blocks of the
    survey's disclosure partition inside ``filters`` ({column: [values]}), each row carrying
    its block so groups inside the view use the same blocks. Without an ``instrument`` the
    partition is over the filtered columns and ``group``."""
    columns = None
    if instrument is None:
        columns = list(dict.fromkeys(([group] if group else []) + list((filters or {}).keys())))
    return privacy.check_filter(data, filters, min_n, instrument=instrument, columns=columns).data


def published(view: pd.DataFrame, answered, min_n: int = privacy.DEFAULT_MIN_N) -> pd.Series:
    """Rows of ``view`` a whole-view statistic of an answer may use (``privacy.usable``)."""
    return privacy.usable(view, min_n, answered)


def _constructs(instrument, keys=None, *, families=None, present_in=None):
    out = []
    for c in instrument.constructs:
        if keys is not None and c.key not in keys:
            continue
        if families is not None and (c.family or "") not in families:
            continue
        if present_in is not None and c.key not in present_in.columns:
            continue
        out.append(c)
    return out


def _fmt_p(p: float) -> str:
    return p_text(p)


# --------------------------------------------------------------------------- topic 1
def describe_constructs(scored: pd.DataFrame, instrument, keys=None, *,
                        min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Distribution of each construct score: n, mean, sd, quartiles, mean on 0-100.

    Computed from the respondents ``published`` allows (whole blocks with at least ``min_n``
    answers); a construct with none is listed with ``n`` 0 and no values. No minimum or
    maximum is given: each is one person's score.
    """
    rows = []
    for c in _constructs(instrument, keys, present_in=scored):
        x = scored.loc[published(scored, scored[c.key].notna(), min_n), c.key]
        if x.empty:
            rows.append({"construct": c.key, "label": c.label, "topic": c.topic, "family": c.family, "n": 0,
                         "scale_min": c.scale.min, "scale_max": c.scale.max,
                         "reading": f"{c.label}: {privacy.TOO_FEW} in this view."})
            continue
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        mean100 = float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0])
        rows.append({"construct": c.key, "label": c.label, "topic": c.topic, "family": c.family, "n": int(len(x)),
                     "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
                     "q1": q1, "median": med, "q3": q3,
                     "scale_min": c.scale.min, "scale_max": c.scale.max, "mean_0_100": mean100,
                     "reading": f"{c.label}: mean {x.mean():.2f} on {c.scale.min}-{c.scale.max} "
                                f"(half of the {len(x)} respondents between {q1:.2f} and {q3:.2f})."})
    return pd.DataFrame(rows)


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
                                f"95% CI {res['ci_low']:.2f} to {res['ci_high']:.2f}, {_fmt_p(res['p'])})."})
    if not rows:
        raise InputError("the two instruments share no construct present in both data sets",
                         hint="shared constructs carry the same shared_key in both instruments")
    return pd.DataFrame(rows)


def _ncp_interval(stat: float, cdf, level: float = 0.95) -> tuple[float, float]:
    """Bounds of the noncentrality parameter whose distribution puts ``stat`` at the upper /
    lower (1 - level)/2 tail (Steiger 2004, Psychological Methods 9(2))."""
    alpha = (1 - level) / 2

    def solve(target):
        f = lambda lam: cdf(stat, lam) - target
        if f(0.0) < 0:  # even lambda = 0 puts stat below the target quantile
            return 0.0
        hi = max(10.0, stat * 4)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi)

    return solve(1 - alpha), solve(alpha)


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

    @property
    def reading(self) -> str:
        return (f"{self.test}: {_fmt_p(self.p)}; {self.effect} = {self.effect_size:.2f} "
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
    if categorical is None:
        categorical = not pd.api.types.is_numeric_dtype(y)
    if categorical and instrument is not None and any(d.id == outcome for d in instrument.demographics):
        y = pd.Series(_labelled(data, instrument, outcome), index=data.index)
    if not categorical:
        y = pd.to_numeric(y, errors="coerce")
    cell = privacy.group_cells(data, g, min_n, answered=y.notna() & g.notna())
    frame = pd.DataFrame({"y": y, "g": cell}).dropna()
    asked = [str(k) for k in pd.Series(g[y.notna()]).dropna().unique()]
    small = [k for k in asked if k not in set(frame["g"].astype(str))]
    notes = [f"left out ({privacy.TOO_FEW}): {', '.join(sorted(small, key=str))}"] if small else []
    levels = [k for k in (frame["g"].cat.categories if hasattr(frame["g"], "cat") else sorted(frame["g"].unique(), key=str))
              if (frame["g"] == k).any()]
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
        lam_lo, lam_hi = _ncp_interval(chi2, lambda s, lam: stats.ncx2.cdf(s, row["dof"], lam) if lam > 0 else stats.chi2.cdf(s, row["dof"]))
        g_order = [str(v) for v in levels]
        y_order = [str(v) for v in (y.cat.categories if hasattr(y, "cat") else sorted(observed.columns, key=str))
                   if str(v) in observed.columns]
        table = observed.reindex(index=g_order, columns=y_order).reset_index().rename(columns={"g": group})
        table.columns.name = None
        return GroupComparison(outcome, group, "Pearson chi-square", chi2, float(row["dof"]), float(row["pval"]),
                               "Cramer's V", float(np.sqrt(chi2 / (n * k))), float(np.sqrt(lam_lo / (n * k))),
                               float(min(1.0, np.sqrt(lam_hi / (n * k)))), table,
                               {"min_expected": float(expected.to_numpy().min())}, notes)
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
                               {"direction": f"positive: {levels[0]} higher than {levels[1]}"}, notes)
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
        lam_lo, lam_hi = _ncp_interval(f_classic, lambda s, lam: stats.ncf.cdf(s, k - 1, n - k, lam) if lam > 0 else stats.f.cdf(s, k - 1, n - k))
        return GroupComparison(outcome, group, "Welch ANOVA", w["F"], [w["ddof1"], w["ddof2"]], w["p"], "eta squared", eta2, lam_lo / (lam_lo + n), lam_hi / (lam_hi + n),
                               table, {"omega_squared": float(omega2)}, notes)
    h, p = stats.kruskal(*[frame.loc[frame["g"] == lv, "y"] for lv in levels])
    eps = h * (n + 1) / (n * n - 1)
    lam_lo, lam_hi = _ncp_interval(float(h), lambda s, lam: stats.ncx2.cdf(s, k - 1, lam) if lam > 0 else stats.chi2.cdf(s, k - 1))
    to_eps = lambda lam: min(1.0, (lam + k - 1) * (n + 1) / (n * n - 1)) if lam > 0 else 0.0
    return GroupComparison(outcome, group, "Kruskal-Wallis", float(h), float(k - 1), float(p), "epsilon squared",
                           float(eps), to_eps(lam_lo), to_eps(lam_hi), table, {}, notes)


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


def correlations(data: pd.DataFrame, columns: Sequence[str], *, method: str = "pearson",
                 min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Pairwise correlations: n, r, 95% CI (Fisher z, SE 1 / sqrt(n - 3); Fisher 1921), p (t test
    with n - 2 df, or ``scipy.stats.spearmanr``). R ``cor.test``. Each pair uses the rows
    ``published`` allows for both answers."""
    columns = [c for c in columns]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputError(f"unknown column(s): {', '.join(missing)}", hint="score the data first")
    if len(columns) < 2:
        raise InputError("a correlation matrix needs at least two scores")
    if method not in ("pearson", "spearman"):
        raise InputError(f"unknown correlation method '{method}'", hint="use pearson or spearman")
    values = data[columns].apply(pd.to_numeric, errors="coerce")
    rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            keep = published(data, values[a].notna() & values[b].notna(), min_n)
            x, y = values.loc[keep, a].to_numpy(float), values.loc[keep, b].to_numpy(float)
            n = len(x)
            if n < 4:
                rows.append({"x": a, "y": b, "n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
                continue
            if method == "spearman":
                r, p = stats.spearmanr(x, y)
            else:
                r, p = stats.pearsonr(x, y)
            z, half = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3)
            rows.append({"x": a, "y": b, "n": n, "r": float(r), "ci_low": float(np.tanh(z - half)),
                         "ci_high": float(np.tanh(z + half)), "p": float(p)})
    out = pd.DataFrame(rows, columns=["x", "y", "n", "r", "ci_low", "ci_high", "p"])
    out["reading"] = [f"{a} and {b}: r = {r:.2f} (n = {n}, {_fmt_p(pp)})" if np.isfinite(r)
                      else f"{a} and {b}: {privacy.TOO_FEW}" for a, b, r, n, pp in
                      zip(out["x"], out["y"], out["r"], out["n"], out["p"])]
    return out


# --------------------------------------------------------------------------- topic 3
def _channel_construct(instrument, channel: str):
    for c in instrument.constructs:
        if c.channel == channel and c.kind == "binary":
            return c
    raise InputError(f"instrument '{instrument.id}' has no yes/no construct of past co-production "
                     f"through the {channel} channel", hint="use the citizen instrument")


def participation(data: pd.DataFrame, instrument) -> pd.DataFrame:
    """``any_digital`` / ``any_offline`` (1 if any activity of that channel was done, 0 if
    none, missing when no activity was answered) and ``pattern`` (none, offline only,
    digital only, both)."""
    out = pd.DataFrame(index=data.index)
    for channel in ("digital", "offline"):
        c = _channel_construct(instrument, channel)
        present = [it.id for it in c.items if it.id in data.columns]
        if not present:
            raise InputError(f"none of the {channel} co-production items are in the data",
                             hint="map them on the Data page")
        x = data[present].apply(pd.to_numeric, errors="coerce")
        x = x.mask(x.isin(getattr(instrument, "missing_codes", []) or []))
        anyx = (x == c.scale.max).any(axis=1).astype(float)
        out[f"any_{channel}"] = anyx.where(x.notna().any(axis=1))
    both = out["any_digital"].notna() & out["any_offline"].notna()
    code = (out["any_digital"].fillna(0) * 2 + out["any_offline"].fillna(0)).astype(int)
    out["pattern"] = pd.Categorical(np.where(both, pd.Series(code).map(dict(enumerate(["none", "offline only", "digital only", "both"]))).to_numpy(), None),
                                    categories=PATTERNS)
    return out


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def digital_divide(citizens: pd.DataFrame, instrument, by: Sequence[str] = ("age_band", "gender", "education", "area"),
                   *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Share of citizens with any digital co-production per level of each ``by`` variable,
    with Wilson 95% CIs (Wilson 1927; R ``prop.test(correct = FALSE)$conf.int``) and a
    chi-square test per variable. Levels below ``min_n`` are suppressed with complementary
    suppression per variable (``privacy.suppress``)."""
    part = participation(citizens, instrument)
    tables = []
    for var in by:
        if var not in citizens.columns and not (var == "age_band" and "age" in citizens.columns):
            continue
        lev = pd.Series(_labelled(citizens, instrument, var), index=citizens.index)
        cell = privacy.group_cells(citizens, lev, min_n, answered=part["any_digital"].notna() & lev.notna())
        frame = pd.DataFrame({"level": cell, "y": part["any_digital"]}).dropna()
        counts = frame.groupby("level", observed=True)["y"].agg(n="size", participants="sum").reset_index()
        gone = [str(v) for v in lev[part["any_digital"].notna()].dropna().unique()
                if str(v) not in set(counts["level"].astype(str))]
        if gone:  # levels with too few respondents to show: listed, without counts
            counts = pd.concat([counts.astype({"level": object}),
                                pd.DataFrame({"level": gone, "n": [0] * len(gone), "participants": [np.nan] * len(gone)})],
                               ignore_index=True)
        counts["share"] = counts["participants"] / counts["n"]
        cis = [_wilson(int(k), int(n)) for k, n in zip(counts["participants"], counts["n"])]
        counts["ci_low"], counts["ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
        counts["participants"] = counts["participants"].astype(float)
        counts.insert(0, "variable", var)
        counts["suppressed"] = counts["n"] == 0
        counts["suppression"] = np.where(counts["suppressed"], "primary", "")
        counts["n"] = [None if hide else int(v) for v, hide in zip(counts["n"], counts["suppressed"])]
        shown = frame
        # chi-square of participation by level, over the levels shown (R: chisq.test(correct = FALSE))
        ct = pd.crosstab(shown["level"].astype(str), shown["y"])
        chi2 = p = np.nan
        if ct.shape[0] > 1 and ct.shape[1] == 2 and (ct.sum(axis=0) > 0).all():
            chi2, p = stats.chi2_contingency(ct, correction=False)[:2]
        counts["chi2"], counts["p"] = chi2, p
        counts["level"] = counts["level"].astype(str)
        tables.append(counts)
    if not tables:
        raise InputError("none of the background variables is in the data",
                         hint=f"expected some of: {', '.join(by)}")
    out = pd.concat(tables, ignore_index=True)
    out["reading"] = [None if s else f"{v} {lv}: {sh:.0%} co-produced digitally (95% CI {lo:.0%} to {hi:.0%}, n = {n})"
                      for v, lv, s, sh, lo, hi, n in zip(out["variable"], out["level"], out["suppressed"], out["share"],
                                                         out["ci_low"], out["ci_high"], out["n"])]
    return out


@dataclass
class BroadenDeepen:
    """Offline x digital participation and the profiles of the four participation patterns."""
    counts: pd.DataFrame       # rows any_offline (0/1), columns any_digital (0/1): pandas.crosstab
    row_percent: pd.DataFrame  # the same, as % of each row
    shares: pd.DataFrame       # broadening / deepening among digital participants, Wilson CIs
    profiles: pd.DataFrame     # pattern x variable: n, mean or share
    reading: str

    def to_dict(self) -> dict:
        return {"counts": {str(k): v for k, v in self.counts.to_dict(orient="index").items()},
                "row_percent": {str(k): v for k, v in self.row_percent.to_dict(orient="index").items()},
                "shares": self.shares, "profiles": self.profiles, "reading": self.reading}


def broaden_deepen(citizens: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N,
                   profile_scores: Sequence[str] | None = None) -> BroadenDeepen:
    """Do digital channels reach people who do not co-produce offline (broadening) or those
    who already do (deepening)? Cross-tabulation of any offline x any digital participation
    (R: ``table(offline, digital)``), the shares of digital participants without / with
    offline participation (Wilson CIs), and a profile (age, gender, education, area, skills)
    of the four patterns. Cells with 1..min_n-1 people are suppressed (``privacy.suppress``
    with the table margins)."""
    part = participation(citizens, instrument)
    known = part[published(citizens, part["any_digital"].notna() & part["any_offline"].notna(), min_n)]
    counts = pd.crosstab(known["any_offline"].astype(int), known["any_digital"].astype(int))
    counts = counts.reindex(index=[0, 1], columns=[0, 1], fill_value=0)
    counts.index.name, counts.columns.name = "any_offline", "any_digital"
    long = counts.stack().rename("n").reset_index()
    long["value"] = long["n"].astype(float)
    long = privacy.suppress(long, "n", min_n, value_cols=["value"], totals=["any_offline", "any_digital"])
    if long["suppressed"].any():
        counts = long.pivot(index="any_offline", columns="any_digital", values="value")
    row_pct = counts.div(counts.sum(axis=1), axis=0) * 100
    digital = int(known["any_digital"].sum())
    only = int(((known["any_digital"] == 1) & (known["any_offline"] == 0)).sum())
    shares = []
    for name, k in (("broadening: digital participants with no offline participation", only),
                    ("deepening: digital participants who also participate offline", digital - only)):
        lo, hi = _wilson(k, digital)
        shares.append({"share_of": name, "n": k, "of": digital, "share": k / digital if digital else np.nan,
                       "ci_low": lo, "ci_high": hi})
    shares = pd.DataFrame(shares)
    if long["suppressed"].any():
        shares[["n", "share", "ci_low", "ci_high"]] = np.nan
    profiles = _profiles(citizens, instrument, part["pattern"], min_n, profile_scores)
    if digital and not long["suppressed"].any():
        b = only / digital
        reading = (f"Of the {digital} citizens who co-produced digitally, {b:.0%} did not co-produce offline "
                   f"(broadening) and {1 - b:.0%} also did (deepening): digital channels mostly "
                   + ("reach new people." if b > 0.5 else "add to the participation of those already active."))
    else:
        reading = "Too few digital participants to say whether digital channels broaden or deepen participation."
    return BroadenDeepen(counts, row_pct, shares, profiles, reading)


def _profiles(citizens: pd.DataFrame, instrument, pattern: pd.Series, min_n: int, scores) -> pd.DataFrame:
    rows = []
    demographics = {d.id: d for d in getattr(instrument, "demographics", []) or []}
    if scores is None:
        scores = [c.key for c in instrument.constructs if c.family == "skills" and c.key in citizens.columns]
    for pat in PATTERNS:
        # a pattern is defined by answers: each block's part of it must pool min_n people
        sub = citizens[published(citizens, pattern == pat, min_n)]
        n = len(sub)
        for var, d in demographics.items():
            if var not in citizens.columns:
                continue
            if d.type == "numeric":
                x = pd.to_numeric(sub[var], errors="coerce").dropna()
                rows.append({"pattern": pat, "n": n, "variable": var, "level": "mean", "value": x.mean() if len(x) else np.nan})
            else:
                lev = pd.Series(_labelled(sub, instrument, var), index=sub.index).dropna()
                shares = lev.value_counts(normalize=True)
                for level in (d.levels or {}).values():
                    rows.append({"pattern": pat, "n": n, "variable": var, "level": level,
                                 "value": float(shares.get(level, 0.0)) if len(lev) else np.nan})
        for key in scores:
            x = (citizens.loc[published(citizens, (pattern == pat) & citizens[key].notna(), min_n), key]
                 if key in citizens.columns else pd.Series(dtype=float))
            rows.append({"pattern": pat, "n": n, "variable": key, "level": "mean", "value": x.mean() if len(x) else np.nan})
    out = pd.DataFrame(rows)
    sizes = out[["pattern", "n"]].drop_duplicates().reset_index(drop=True)
    hidden = privacy.suppress(sizes, "n", min_n, value_cols=[], totals=True)
    hide = out["pattern"].isin(hidden.loc[hidden["suppressed"], "pattern"])
    out["value"] = out["value"].astype(float).where(~hide)
    out["suppressed"] = hide
    return out


@dataclass
class ModelSpec:
    """An lme4 formula and its prepared data, for ``analysis.mixed.fit(formula, data, family=...)``."""
    formula: str
    data: pd.DataFrame
    family: str
    note: str

    def to_dict(self) -> dict:
        return {"formula": self.formula, "family": self.family, "note": self.note, "n": int(len(self.data))}


def _participation_terms(table: pd.DataFrame, instrument) -> list[str]:
    """The citizens' predictors of digital participation, in the Models page's names."""
    terms = ["any_offline"]
    if "age10" in table.columns:
        terms.append("c_age10")  # per decade, centred at the mean
    terms += [v for v in ("gender", "education", "area") if v in table.columns]
    terms += [f"c_{c.key}" for c in instrument.constructs if c.family == "skills" and c.key in table.columns]
    return terms


def _spec_frame(table: pd.DataFrame, formula: str) -> pd.DataFrame:
    """The formula's columns of the model table (centred predictors added by
    ``analysis.model_data.with_derived``, as on the Models page), rows with a missing value dropped."""
    from analysis.mixed.formula import parse_formula
    from analysis.model_data import with_derived

    frame, _ = with_derived(table, formula)
    used = set(parse_formula(formula).variables)
    return frame[[n for n in frame.columns if n in used]].dropna().reset_index(drop=True)


def digital_participation_model(citizens: pd.DataFrame, instrument, *, group: str = "municipality_id") -> ModelSpec:
    """Multilevel logistic model of any digital co-production with a random intercept per
    municipality: ``any_digital ~ any_offline + c_age10 + gender + education + area +
    c_<skills> + (1 | municipality)`` (R: ``lme4::glmer(..., family = binomial)``) on the
    Models page's table (``analysis.model_data``). A positive ``any_offline`` coefficient
    means digital participation adds to offline participation (deepening). Continuous
    predictors are grand-mean centred (``c_``); rows with a missing value are dropped."""
    from analysis.model_data import model_data

    group = resolve_group(citizens, instrument, group)
    table = model_data(citizens, instrument)
    if "any_digital" not in table.columns:
        participation(citizens, instrument)  # raises the reason
    table[group] = citizens[group].astype(str)
    formula = f"any_digital ~ {' + '.join(_participation_terms(table, instrument))} + (1 | {group})"
    return ModelSpec(formula, _spec_frame(table, formula), "binomial",
                     "Odds of any digital co-production; a positive any_offline effect points to deepening, "
                     "a negative one to broadening.")


def engagement_model(servants: pd.DataFrame, instrument, *, group: str = "org_id",
                     min_n: int = privacy.DEFAULT_MIN_N) -> ModelSpec:
    """Linear mixed model of public servants' own engagement in digital co-production on
    readiness (``analysis.readiness_index``, 0-100), split into its within-organisation part
    (``cwc_readiness_index``: the servant's index minus the organisation mean) and its
    between part (``c_gm_readiness_index``: the organisation mean minus the grand mean):
    ``engagement ~ cwc_readiness_index + c_gm_readiness_index + (1 | org)`` (Enders &
    Tofighi 2007 centring; R ``lmerTest::lmer``), the Models page's names and definitions.
    Organisations too small to show (and the block they are pooled with,
    ``privacy.grouped_rows``) are left out."""
    group = resolve_group(servants, instrument, group)
    outcome = next((c for c in instrument.constructs if c.family == "engagement"), None)
    dims = readiness_dimensions(servants, instrument) if outcome is not None else []
    if outcome is None or not instrument.readiness_dimensions:
        raise InputError(f"instrument '{instrument.id}' has no engagement construct or no readiness dimensions",
                         hint="use the public-servant instrument")
    if not dims or outcome.key not in servants.columns:
        raise InputError("the readiness or engagement items are not in the data", hint="map them on the Data page")
    index = respondent_index(servants, dims=dims)
    usable = privacy.grouped_rows(servants, group, min_n, instrument=instrument,
                                  answered=index.notna() & servants[outcome.key].notna())
    table = pd.DataFrame({outcome.key: servants[outcome.key], INDEX: index,
                          group: servants[group].astype(str)})[usable].dropna()
    formula = f"{outcome.key} ~ cwc_{INDEX} + c_gm_{INDEX} + (1 | {group})"
    return ModelSpec(formula, _spec_frame(table, formula), "gaussian",
                     f"c_gm_{INDEX}: do servants in more ready organisations co-produce more? "
                     f"cwc_{INDEX}: do servants who see their organisation as more ready than their "
                     "colleagues do co-produce more? Readiness on 0-100.")


def _family_is(c, words) -> bool:
    fam = (c.family or "").lower()
    return any(w in fam for w in words)


def rank_constructs(scored: pd.DataFrame, instrument, constructs, *,
                    min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Mean agreement per construct with a t-based 95% CI, on the scale and on 0-100, sorted high to low."""
    rows = []
    for c in constructs:
        if c.key not in scored.columns:
            continue
        x = scored.loc[published(scored, scored[c.key].notna(), min_n), c.key]
        if len(x) < 2:
            continue
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        rows.append({"construct": c.key, "label": c.label, "family": c.family, "element": c.element,
                     "n": int(len(x)), "mean": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                     "mean_0_100": float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0]),
                     "agree_share": float((x > (c.scale.min + c.scale.max) / 2).mean())})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values("mean_0_100", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["reading"] = [f"{r}. {lab}: {a:.0%} lean towards agreeing (mean {m:.2f})"
                      for r, lab, a, m in zip(out["rank"], out["label"], out["agree_share"], out["mean"])]
    return out


def barriers_enablers(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Barriers, enablers and challenges of the instrument (by ``family``), ranked by mean agreement."""
    chosen = [c for c in instrument.constructs if _family_is(c, ("barrier", "enabler", "challenge", "resist"))
              or "resist" in c.key]
    return rank_constructs(scored, instrument, chosen, min_n=min_n)


def outcomes(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Perceived outcomes (family 'outcomes'), ranked by mean agreement."""
    return rank_constructs(scored, instrument, [c for c in instrument.constructs if _family_is(c, ("outcome",))],
                           min_n=min_n)


def benefits_challenges(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Benefits and challenges along the four elements (data, interaction, tailoring,
    simplification; seeds/004): constructs with an ``element``, and single items with an
    ``element`` inside a construct without one. Mean with t-based 95% CI and on 0-100."""
    rows = []
    for c in instrument.constructs:
        kind = "challenge" if _family_is(c, ("challenge", "barrier")) else "benefit"
        if c.element and c.key in scored.columns:
            units = [(c.key, c.label, c.element, scored[c.key])]
        else:
            units = [(it.id, it.text, it.element, scored[it.id]) for it in c.items
                     if it.element and it.id in scored.columns]
            if units:
                rev = {it.id for it in c.items if it.reverse}
                units = [(i, t, e, (c.scale.min + c.scale.max - s) if i in rev else s) for i, t, e, s in units]
        for key, label, element, s in units:
            x = pd.to_numeric(s, errors="coerce")
            x = x[published(scored, x.notna(), min_n)]
            if len(x) < 2:
                continue
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            rows.append({"element": element, "kind": kind, "measure": key, "label": label, "n": int(len(x)),
                         "mean": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                         "mean_0_100": float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0])})
    out = pd.DataFrame(rows)
    if out.empty:
        raise InputError(f"instrument '{instrument.id}' has no benefits or challenges by element in the data")
    order = {"data": 0, "interaction": 1, "tailoring": 2, "simplification": 3}
    out = out.sort_values(["element", "kind"], key=lambda s: s.map(order).fillna(9) if s.name == "element" else s,
                          kind="stable").reset_index(drop=True)
    out["reading"] = [f"{e} ({k}): mean {m:.2f} (95% CI {lo:.2f} to {hi:.2f})"
                      for e, k, m, lo, hi in zip(out["element"], out["kind"], out["mean"], out["ci_low"], out["ci_high"])]
    return out


# --------------------------------------------------------------------------- linking the surveys
@dataclass
class LinkResult:
    """Municipality readiness (from public servants) joined to citizens, with the model to fit."""
    municipalities: pd.DataFrame  # municipality, n_servants, n_orgs, readiness, rwg, suppressed
    agreement: dict               # icc1, icc2 of the servants' index by municipality, mean rwg(j)
    data: pd.DataFrame            # one row per citizen: the model table + readiness_muni, c_readiness_muni
    formula: str
    family: str
    reading: str

    def to_dict(self) -> dict:
        return {"municipalities": self.municipalities, "agreement": self.agreement, "formula": self.formula,
                "family": self.family, "reading": self.reading, "n_citizens": int(len(self.data))}


def link_readiness_to_municipalities(servants: pd.DataFrame, citizens: pd.DataFrame, instrument_ps,
                                     citizen_instrument=None, *, min_n: int = privacy.DEFAULT_MIN_N,
                                     org: str = "org_id", municipality: str = "municipality_id") -> LinkResult:
    """Aggregate public servants' readiness to their municipality and attach it to citizens.

    Each servant's readiness index is ``analysis.readiness_index.respondent_index`` (0-100);
    a municipality's readiness is the mean over its servants, leaving out organisations too
    small to show (``privacy.grouped_rows``) and municipalities with fewer than ``min_n``
    servants (R ``tapply(readiness_index, municipality, mean)``). Whether aggregation is
    justified is reported as ICC(1)/ICC(2) of the index by municipality and the mean rwg(j)
    over the readiness items (Bliese 2000; R ``multilevel::ICC1``, ``multilevel::rwg.j``).
    The citizens' table is the Models page's (``analysis.model_data``) with
    ``readiness_muni`` and its grand-mean-centred ``c_readiness_muni`` (Enders & Tofighi
    2007); the suggested model is ``any_digital ~ c_readiness_muni + ... + (1 | municipality)``
    (R ``lme4::glmer``)."""
    from analysis.aggregation import icc1_icc2, rwg_j
    from analysis.model_data import model_data, with_derived

    org = resolve_group(servants, instrument_ps, org)
    muni_ps = resolve_group(servants, instrument_ps, municipality)
    if municipality not in citizens.columns:
        raise InputError("the citizen data have no municipality column", column=municipality,
                         hint="both surveys need the same municipality identifier")
    dims = readiness_dimensions(servants, instrument_ps)
    if not dims:
        raise InputError("none of the readiness items are in the public-servant data")
    index = respondent_index(servants, dims=dims)
    counted = index.notna()
    keep = counted & privacy.grouped_rows(servants, org, min_n, instrument=instrument_ps, answered=counted)
    items = [it.id for c in dims for it in c.items if it.id in servants.columns]
    used = pd.concat([servants.loc[keep, list(dict.fromkeys([org, muni_ps, *items]))], index[keep].rename(INDEX)],
                     axis=1)
    options = dims[0].scale.max - dims[0].scale.min + 1
    rev = {it.id: c for c in dims for it in c.items if it.reverse and it.id in used.columns}
    item_frame = used[items].copy()
    for i, c in rev.items():
        item_frame[i] = c.scale.min + c.scale.max - item_frame[i]
    means = group_means(used[INDEX], used[muni_ps])
    rows = []
    for m, sub in used.groupby(muni_ps):
        rows.append({"municipality": m, "n_servants": int(len(sub)), "n_orgs": int(sub[org].nunique()),
                     "readiness": float(means.loc[m, "mean"]), "rwg": rwg_j(item_frame.loc[sub.index], options)})
    table = pd.DataFrame(rows, columns=["municipality", "n_servants", "n_orgs", "readiness", "rwg"])
    table = privacy.suppress(table, "n_servants", min_n, value_cols=["readiness", "rwg"], totals=True)
    try:
        icc = icc1_icc2(used, INDEX, muni_ps)
        agreement = {"icc1": icc.icc1, "icc2": icc.icc2, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    except InputError:
        agreement = {"icc1": np.nan, "icc2": np.nan, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    shown = table[~table["suppressed"]]
    lookup = dict(zip(shown["municipality"].astype(str), shown["readiness"]))
    terms: list[str] = []
    if citizen_instrument is not None:
        data = model_data(citizens, citizen_instrument)
        if "any_digital" not in data.columns:
            participation(citizens, citizen_instrument)  # raises the reason
        terms = _participation_terms(data, citizen_instrument)
    else:
        data = citizens.copy()
    data[municipality] = citizens[municipality].astype(str)
    data["readiness_muni"] = data[municipality].map(lookup).astype(float)
    formula = f"any_digital ~ {' + '.join(['c_readiness_muni', *terms])} + (1 | {municipality})"
    data, _ = with_derived(data, formula)
    ok = agreement["icc2"] >= 0.70 if np.isfinite(agreement["icc2"]) else False
    reading = (f"Readiness of {agreement['n_municipalities']} municipalities (mean rwg(j) = {agreement['mean_rwg']:.2f}, "
               f"ICC(1) = {agreement['icc1']:.2f}, ICC(2) = {agreement['icc2']:.2f}): "
               + ("municipality means are reliable enough to use as a predictor." if ok
                  else "municipality means are not very reliable (ICC(2) below .70); read the model with care."))
    return LinkResult(table, agreement, data, formula, "binomial", reading)


# --------------------------------------------------------------------------- filters as text
def parse_where(data: pd.DataFrame, instrument, where: Sequence[str] | None) -> dict:
    """``["gender=Man", "org_id=103,104"]`` to ``{column: [values]}``: a value may be the code
    in the data or its label in the instrument (``Man`` for gender 2); ``age_band`` takes the
    band labels (``30-44``). ``InputError`` names the bad condition."""
    filters: dict = {}
    for cond in where or []:
        column, sep, values = str(cond).partition("=")
        column = column.strip()
        if not sep or not column or not values.strip():
            raise InputError(f"cannot read the filter '{cond}'", hint="write COLUMN=VALUE or COLUMN=V1,V2")
        if column not in data.columns and not (column == "age_band" and "age" in data.columns):
            raise InputError("unknown filter column", column=column,
                             hint=f"filter on one of: {', '.join(privacy.disclosure_columns(data, instrument))}")
        levels = next((d.levels for d in getattr(instrument, "demographics", []) or [] if d.id == column and d.levels), None)
        by_label = {str(v): k for k, v in (levels or {}).items()}
        chosen = []
        for v in (x.strip() for x in values.split(",")):
            if v in by_label:
                chosen.append(by_label[v])
            else:
                try:
                    number = float(v)
                    chosen.append(int(number) if number.is_integer() else number)
                except ValueError:
                    chosen.append(v)
        filters[column] = chosen
    return filters


def topic_one_keys(instrument) -> list[str]:
    """The constructs of research topic 1 (knowledge, skills, attitudes)."""
    return [c.key for c in instrument.constructs if str(c.topic) == "1"]


def distributions(data: pd.DataFrame, instrument, filters: dict | None = None, *,
                  min_n: int = privacy.DEFAULT_MIN_N, keys=None) -> pd.DataFrame:
    """The skills screen's distributions table for a filtered view: ``apply_filters`` on the
    whole survey, then ``describe_constructs`` on the topic-1 constructs (or ``keys``)."""
    view = apply_filters(data, filters, min_n, instrument=instrument)
    return describe_constructs(view, instrument, topic_one_keys(instrument) if keys is None else keys, min_n=min_n)
