"""Aggregating individual answers to groups: within-group agreement and ICC(1)/ICC(2).

* rwg for one item and rwg(j) for a scale of J parallel items compare the observed
  within-group variance with the variance expected if answers were uniformly random over
  the A response options, sigma2_EU = (A^2 - 1) / 12 (James, Demaree & Wolf 1984).
  As ``multilevel::rwg`` / ``multilevel::rwg.j`` (Bliese, multilevel 2.7) do, an observed
  variance above the null is set to the null, so rwg is 0 rather than negative, and a
  group with one respondent has no rwg.
* ICC(1) and ICC(2) come from the one-way ANOVA of the (scale) score on the group
  (Bliese 2000): ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) with k = N / J the mean group
  size, ICC(2) = (MSB - MSW) / MSB; R: ``multilevel::ICC1(aov(y ~ factor(g)))``,
  ``multilevel::ICC2(...)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.scoring import numeric_items

# LeBreton & Senter (2008), Table 3: bands for rwg / rwg(j).
AGREEMENT_BANDS = [(0.30, "lack of agreement"), (0.50, "weak agreement"), (0.70, "moderate agreement"),
                   (0.90, "strong agreement"), (1.00, "very strong agreement")]

CUTOFF_NOTES = [
    "rwg and rwg(j) of .70 or more are conventionally read as enough agreement to aggregate "
    "(James, Demaree & Wolf 1984); LeBreton & Senter (2008) read .00-.30 as lack of agreement, "
    ".31-.50 weak, .51-.70 moderate, .71-.90 strong and .91-1.00 very strong agreement.",
    "ICC(1) is the share of individual variance due to the group; values of .05 to .10 or more "
    "suggest the group matters (Bliese 2000).",
    "ICC(2) is the reliability of the group means; .70 or more is usually wanted before group "
    "means are compared (Bliese 2000).",
]


def null_variance(options: int) -> float:
    """Variance of the uniform ('rectangular') null over A options: (A^2 - 1) / 12
    (James, Demaree & Wolf 1984); the ``ranvar`` argument of multilevel::rwg."""
    return (options ** 2 - 1) / 12.0


def _check_options(options) -> int:
    try:
        a = float(options)
    except (TypeError, ValueError):
        raise InputError(f"the number of response options must be a whole number, got {options!r}",
                         hint="e.g. 5 for a 1..5 scale") from None
    if not np.isfinite(a) or a != int(a) or a < 2:
        raise InputError(f"the number of response options must be a whole number of 2 or more, got {options!r}",
                         hint="e.g. 5 for a 1..5 scale")
    return int(a)


def rwg(values, options: int) -> float:
    """rwg of one item in one group: 1 - s2 / sigma2_EU, s2 the sample variance (n - 1),
    capped at sigma2_EU so the value lies in [0, 1]; NaN for fewer than two answers.

    James, Demaree & Wolf (1984); R: ``multilevel::rwg(x, grpid, ranvar = (A^2 - 1) / 12)``.
    """
    sigma2 = null_variance(_check_options(options))
    v = np.asarray(pd.to_numeric(pd.Series(np.ravel(values)), errors="coerce").dropna(), dtype=float)
    if len(v) < 2:
        return float("nan")
    s2 = min(float(np.var(v, ddof=1)), sigma2)
    return 1 - s2 / sigma2


def rwg_j(items_df: pd.DataFrame, options: int) -> float:
    """rwg(j) of J parallel items in one group (James, Demaree & Wolf 1984):

    rwg(j) = J (1 - s2/sigma2_EU) / (J (1 - s2/sigma2_EU) + s2/sigma2_EU), s2 the mean of
    the items' sample variances; respondents with a missing item are dropped and s2 is capped
    at sigma2_EU (so rwg(j) = 0), NaN for fewer than two respondents.
    R: ``multilevel::rwg.j(x, grpid, ranvar = (A^2 - 1) / 12)``.
    """
    sigma2 = null_variance(_check_options(options))
    x = pd.DataFrame(items_df)
    if not all(pd.api.types.is_float_dtype(t) for t in x.dtypes):  # floats are numbers already
        x = x.apply(pd.to_numeric, errors="coerce")
    x = x.dropna()
    if len(x) < 2:
        return float("nan")
    j = x.shape[1]
    s2 = min(float(x.var(ddof=1).mean()), sigma2)
    ratio = s2 / sigma2
    return j * (1 - ratio) / (j * (1 - ratio) + ratio)


@dataclass
class IccResult:
    """ICC(1), ICC(2) and the one-way ANOVA behind them."""

    icc1: float
    icc2: float
    msb: float
    msw: float
    df_between: int
    df_within: int
    n_obs: int
    n_groups: int
    mean_group_size: float

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("icc1", "icc2", "msb", "msw", "df_between", "df_within",
                                              "n_obs", "n_groups", "mean_group_size")}


def _label_codes(g: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes per row into the distinct group labels of ``_group_labels`` (in order of
    first appearance), -1 for a missing group: the labels without writing 600,000 strings.
    Ids whose text is the same (``1`` and ``"1"`` in a column of mixed types) share a code,
    as they share a label."""
    codes, uniques = pd.factorize(g, use_na_sentinel=True)
    whole = pd.api.types.is_float_dtype(g) and np.all(np.equal(np.mod(g.dropna(), 1), 0))
    text = [str(int(v)) if whole else str(v) for v in np.asarray(uniques, dtype=object)]
    text_codes, labels = pd.factorize(np.array(text, dtype=object))
    table = np.append(np.asarray(text_codes, dtype=np.int64), -1)  # code -1 (missing) stays -1
    return table[codes], [str(v) for v in labels]


def _group_labels(g: pd.Series) -> pd.Series:
    """Group ids as text; whole-number floats (a numeric id column with gaps) lose their '.0'.
    Each distinct id is turned into text once (2,000 organisations, not 600,000 cells)."""
    codes, labels = _label_codes(g)
    table = np.array(labels + [np.nan], dtype=object)
    return pd.Series(table[codes], index=g.index, dtype="str")


def group_codes(g: pd.Series, keep: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Integer codes 0..G-1 per row into the group labels ordered as R's factor levels
    (``_group_order``), -1 for a missing group or a row not in ``keep``: the one factorisation
    every group-by statistic here is computed from."""
    codes, uniques = _label_codes(g)
    if keep is not None:
        codes = np.where(keep, codes, -1)
    present = np.unique(codes[codes >= 0])
    names = [uniques[i] for i in present]
    if pd.api.types.is_numeric_dtype(g) and not pd.api.types.is_bool_dtype(g):
        ranked = sorted(range(len(names)), key=lambda i: float(names[i]))
    else:
        ranked = sorted(range(len(names)), key=lambda i: names[i])
    rank = np.full(len(uniques) + 1, -1, dtype=np.int64)
    rank[present[ranked]] = np.arange(len(ranked))
    return rank[codes], [str(names[i]) for i in ranked]


def group_variances(x: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: counts, means and sample variances (n - 1) of each column of ``x`` (rows
    with code -1 left out), from one pass of sufficient statistics (counts, sums, then sums
    of squared deviations from the group mean: the two-pass formula, so no cancellation).
    Returns (n [G], mean [G, J], var [G, J]; NaN for groups of fewer than two)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    use = codes >= 0
    every = bool(use.all())
    c = codes if every else codes[use]
    n = np.bincount(c, minlength=n_groups).astype(float)
    mean = np.empty((n_groups, x.shape[1]))
    var = np.empty((n_groups, x.shape[1]))
    for j in range(x.shape[1]):  # one column at a time (contiguous when x is column-major)
        mean[:, j], var[:, j] = column_variances(x[:, j] if every else x[use, j], c, n)
    var[n < 2] = np.nan
    return n, mean, var


def column_variances(values: np.ndarray, codes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group means and sample variances (n - 1) of one column (``group_variances``' two-pass
    formula), ``codes`` 0..G-1 for every value and ``n`` the G group sizes (as floats); a group
    of fewer than two gets an undefined variance the caller sets to NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=values, minlength=len(n)) / n
        dev = values - mean[codes]
        return mean, np.bincount(codes, weights=dev * dev, minlength=len(n)) / (n - 1)


def rwg_j_from_variances(var: np.ndarray, options: int) -> tuple[np.ndarray, np.ndarray]:
    """rwg(j) of each group from its items' sample variances (rows: groups, columns: items),
    the formula of ``rwg_j`` (and of ``rwg`` for one column); also returns the uncapped mean
    variance (to count the groups capped at the null)."""
    sigma2 = null_variance(_check_options(options))
    var = np.atleast_2d(var)
    j = var.shape[1]
    mean_var = var[:, 0].copy()
    for col in range(1, j):
        mean_var = mean_var + var[:, col]
    mean_var = mean_var / j if j > 1 else mean_var
    ratio = np.minimum(mean_var, sigma2) / sigma2
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1 - ratio if j == 1 else j * (1 - ratio) / (j * (1 - ratio) + ratio)
    return value, mean_var


def _group_order(g: pd.Series) -> list[str]:
    """Sorted as R's factor levels would be: numerically for numeric ids, else as text."""
    uniq = _label_codes(g)[1]  # the distinct labels of the rows with a group
    if pd.api.types.is_numeric_dtype(g) and not pd.api.types.is_bool_dtype(g):
        return sorted(uniq, key=float)
    return sorted(uniq)


def icc1_icc2(data: pd.DataFrame, value: str, group: str) -> IccResult:
    """ICC(1) and ICC(2) of ``value`` within ``group`` from a one-way ANOVA (Bliese 2000).

    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW), k = N / J (the simple mean group size, as
    multilevel::ICC1 uses for unbalanced groups); ICC(2) = (MSB - MSW) / MSB. Rows with a
    missing value or group are dropped, as ``aov`` does.
    R: ``multilevel::ICC1(aov(y ~ factor(g), data))``, ``multilevel::ICC2(...)``.
    """
    for col in (value, group):
        if col not in data.columns:
            raise InputError("unknown column", column=str(col),
                             hint=f"available columns include {', '.join(map(str, list(data.columns)[:12]))}")
    y = numeric_items(data, [value])[value]
    codes, labels = _label_codes(data[group])
    keep = y.notna().to_numpy() & (codes >= 0)
    return _icc_one_way(y[keep], codes[keep], labels, value=str(value), group=str(group))


def _icc_one_way(y: pd.Series, codes: np.ndarray, labels: Sequence[str], *, value: str, group: str) -> IccResult:
    """``icc1_icc2`` of the answered values ``y`` in the groups ``codes`` (one integer per
    row into ``labels``, none missing): the group means by one group-by on integer codes
    ranked as the text labels sort, so pandas takes the groups in the order, and with the
    summation, it takes when grouping by the labels themselves."""
    rank = np.empty(len(labels), dtype=np.int64)
    rank[sorted(range(len(labels)), key=lambda i: labels[i])] = np.arange(len(labels))
    codes = rank[codes]
    n_obs = int(len(y))
    n_groups = int(len(np.unique(codes)))
    check_icc_design(n_obs, n_groups, group)
    grand = y.mean()
    means = y.groupby(codes).transform("mean")
    ss_between = float(((means - grand) ** 2).sum())
    ss_within = float(((y - means) ** 2).sum())
    return icc_from_sums(ss_between, ss_within, n_obs, n_groups, value=value)


def check_icc_design(n_obs: int, n_groups: int, group: str) -> None:
    """``InputError`` unless a one-way ANOVA of ``n_obs`` values in ``n_groups`` groups has
    between- and within-group degrees of freedom (at least two groups, one group of two)."""
    if n_groups < 2:
        raise InputError(f"the grouping column has {n_groups} group(s) with answers; ICC needs at least two",
                         column=group, hint="pick a column that separates respondents into groups")
    if n_obs - n_groups < 1:
        raise InputError("every group has a single respondent, so there is no within-group variance",
                         column=group, hint="pick a coarser grouping column")


def icc_from_sums(ss_between: float, ss_within: float, n_obs: int, n_groups: int, *, value: str) -> IccResult:
    """ICC(1) and ICC(2) from a one-way ANOVA's sums of squares (Bliese 2000), the one home of
    the formulas every ICC here uses: MSB = SSB / (J - 1), MSW = SSW / (N - J),
    ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) with k = N / J, ICC(2) = (MSB - MSW) / MSB.
    ``check_icc_design`` first. R: ``multilevel::ICC1(aov(y ~ factor(g)))``, ``ICC2``."""
    df_between, df_within = n_groups - 1, n_obs - n_groups
    msb, msw = ss_between / df_between, ss_within / df_within
    if msb <= 0 and msw <= 0:
        raise InputError("every respondent has the same value, so ICCs are undefined", column=value)
    k = n_obs / n_groups
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - msw) / msb if msb > 0 else float("nan")
    return IccResult(icc1=float(icc1), icc2=float(icc2), msb=msb, msw=msw, df_between=df_between,
                     df_within=df_within, n_obs=n_obs, n_groups=n_groups, mean_group_size=k)


def agreement_band(value: float) -> str | None:
    """LeBreton & Senter (2008) label for an rwg value."""
    if value is None or not np.isfinite(value):
        return None
    for upper, label in AGREEMENT_BANDS:
        if value <= upper + 1e-12:
            return label
    return AGREEMENT_BANDS[-1][1]


@dataclass
class AggregationResult:
    """Agreement and ICCs for aggregating a score to groups."""

    n_groups: int
    icc1: float
    icc2: float
    rwg_mean: float
    rwg_median: float
    groups: pd.DataFrame          # group, n, mean, rwg (+ band: LeBreton & Senter 2008)
    items: list[str]
    options: int
    statistic: str                # "rwg" (one item) or "rwg(j)"
    n_obs: int                    # respondents used (all items and the group present)
    n_dropped: int                # rows left out for a missing item or group
    icc: IccResult | None = None
    notes: list[str] = field(default_factory=list)

    def reading(self) -> str:
        """Plain-language summary quoting the numbers and the conventions used."""
        if np.isfinite(self.rwg_mean):
            share = float((self.groups["rwg"] >= 0.70).sum()) / max(int(self.groups["rwg"].notna().sum()), 1)
            agree = (f"mean {self.statistic} = {_num(self.rwg_mean)} (median {_num(self.rwg_median)}), "
                     f"{share:.0%} of groups at .70 or more, the usual cut-off for aggregating "
                     f"(James, Demaree & Wolf 1984)")
        else:
            agree = f"{self.statistic} could not be computed (no group with two or more respondents)"
        icc = (f"ICC(1) = {_num(self.icc1, 3)} (values of .05 to .10 or more suggest the group matters) and "
               f"ICC(2) = {_num(self.icc2)} (.70 or more for reliable group means; Bliese 2000)")
        return f"Across {self.n_groups} groups and {self.n_obs} respondents: {agree}; {icc}."

    def to_dict(self) -> dict:
        return {
            "n_groups": self.n_groups,
            "icc1": self.icc1,
            "icc2": self.icc2,
            "rwg_mean": self.rwg_mean,
            "rwg_median": self.rwg_median,
            "groups": self.groups[["group", "n", "mean", "rwg"]].to_dict(orient="records"),
        }


def _num(value: float, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def aggregate(data: pd.DataFrame, group: str, items: str | Sequence[str], options: int, *,
              min_group_size: int = 2) -> AggregationResult:
    """Within-group agreement and ICCs for aggregating ``items`` to ``group``.

    One item: rwg per group; several items: rwg(j) per group (James, Demaree & Wolf 1984,
    uniform null over ``options`` answers). ICC(1)/ICC(2) (Bliese 2000) are computed on the
    respondents' scale mean (the item itself for one item). Respondents missing the group
    or any item are left out of everything, as ``multilevel::rwg.j`` does, so every number
    rests on the same people. Groups smaller than ``min_group_size`` (at least 2) get no rwg.
    R: ``multilevel::rwg.j`` / ``multilevel::rwg`` with ``ranvar = (A^2 - 1)/12``;
    ``multilevel::ICC1/ICC2(aov(rowMeans(x) ~ factor(g)))``.
    """
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise InputError("no items given", hint="pick one item or the items of a scale")
    options = _check_options(options)
    if group not in data.columns:
        raise InputError("unknown grouping column", column=str(group),
                         hint=f"available columns include {', '.join(map(str, list(data.columns)[:12]))}")
    if group in items:
        raise InputError("the grouping column is also listed as an item", column=str(group))
    if int(min_group_size) < 2:
        raise InputError("the minimum group size for rwg must be at least 2")
    x = numeric_items(data, items)
    for col in items:
        if x[col].notna().sum() == 0:
            raise InputError("this item has no answers", column=str(col), hint="check the column mapping")
    complete = x.notna().all(axis=1).to_numpy()
    codes, order = group_codes(data[group], complete)
    keep = codes >= 0
    n_dropped = int((~keep).sum())
    x, codes = x[keep], codes[keep]
    if len(order) < 2:
        raise InputError(f"the grouping column has {len(order)} group(s) with complete answers; "
                         "agreement and ICCs compare at least two groups",
                         column=str(group), hint="pick a column that separates respondents into groups")
    n_g = np.bincount(codes, minlength=len(order))
    if (n_g <= 1).all():
        raise InputError("every group has a single respondent, so within-group agreement is undefined",
                         column=str(group), hint="pick a coarser grouping column")

    out_of_range = ((x < 1) | (x > options)).to_numpy().any() and ((x < 0) | (x > options - 1)).to_numpy().any()
    score = x.mean(axis=1)
    statistic = "rwg" if len(items) == 1 else "rwg(j)"
    sigma2 = null_variance(options)
    # One group-by of sufficient statistics instead of a pass over the rows per group.
    _, _, var = group_variances(x.to_numpy(dtype=float), codes, len(order))
    _, score_mean, _ = group_variances(score.to_numpy(dtype=float), codes, len(order))
    value, mean_var = rwg_j_from_variances(var, options)
    small = n_g < int(min_group_size)
    value = np.where(small, np.nan, value)
    capped = int((~small & (mean_var > sigma2)).sum())
    table = pd.DataFrame({"group": order, "n": n_g.astype(int), "mean": score_mean[:, 0], "rwg": value},
                         columns=["group", "n", "mean", "rwg"])
    table["band"] = table["rwg"].map(agreement_band)
    icc = _icc_one_way(score, codes, order, value="score", group="group")  # every row has its score and group

    notes = list(CUTOFF_NOTES)
    small = table[table["n"] < int(min_group_size)]
    if len(small):
        notes.append(f"{len(small)} group(s) with fewer than {int(min_group_size)} respondents have no "
                     f"{statistic} (agreement needs at least two people): "
                     + ", ".join(map(str, small["group"].tolist()[:10])) + ("..." if len(small) > 10 else ""))
    if capped:
        notes.append(f"in {capped} group(s) answers varied more than uniformly random answers would; "
                     f"their {statistic} is set to 0, as multilevel::rwg{'.j' if len(items) > 1 else ''} does")
    if n_dropped:
        notes.append(f"{n_dropped} row(s) with a missing item or group were left out")
    if out_of_range:
        notes.append(f"some answers lie outside 1..{options}: check the number of response options "
                     "(the uniform null assumes exactly that many)")
    valid = table["rwg"].dropna()
    return AggregationResult(
        n_groups=len(order), icc1=icc.icc1, icc2=icc.icc2,
        rwg_mean=float(valid.mean()) if len(valid) else float("nan"),
        rwg_median=float(valid.median()) if len(valid) else float("nan"),
        groups=table, items=items, options=options, statistic=statistic, n_obs=int(len(x)),
        n_dropped=n_dropped, icc=icc, notes=notes)
