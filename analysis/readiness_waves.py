"""Survey waves: readiness per wave and the change since the previous wave, per organisation.

A survey holds several waves in one file with a ``wave`` column (e.g. 2024, 2025). Each wave is
analysed as a survey of its own (``analysis.readiness``, ``analysis.readiness_questions``): its
own disclosure partition, its own threshold checks, so a wave or an organisation-wave with too
few respondents shows nothing, and neither does its change.

**Change** of a wave against the previous one, per organisation:

* dimension scores (0-100) and the readiness index: difference of the published means, with
  Welch's unequal-variance t-test on the respondents' scores (Welch 1947, *Biometrika* 34;
  R ``t.test(x2, x1, var.equal = FALSE)``), using in each wave exactly the respondents the
  published mean is computed from (whole blocks with enough answers, ``analysis.privacy``).
  For the index the respondent's value is their readiness index (``analysis.readiness_index``:
  the mean of their 0-100 dimension scores, with every dimension scored), the published index
  being the mean of those;
* share favourable of each item (percentage points): the two-proportion z-test with the pooled
  proportion, ``z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2))`` (Agresti 2013, *Categorical
  Data Analysis*, 3rd ed., sec. 2.1; R ``prop.test(c(x2, x1), c(n2, n1), correct = FALSE)``,
  whose X-squared is ``z^2``).

Two waves of independent samples are assumed (different respondents, as in the People Survey
and FEVS); ``significant`` is ``p < .05`` without correction for the number of comparisons.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError

WAVE = "wave"
ALPHA = 0.05
_INDEX = "_readiness_index"


def wave_values(data: pd.DataFrame, column: str = WAVE) -> list:
    """The waves of ``data[column]`` in order (numbers numerically, text alphabetically)."""
    if column not in data.columns:
        raise InputError("the data have no wave column", column=column,
                         hint="add a column saying which survey wave each respondent answered, e.g. 2024")
    values = data[column].dropna().drop_duplicates().tolist()
    return sorted(values, key=(float if pd.api.types.is_numeric_dtype(data[column]) else str))


def check_waves(data: pd.DataFrame, instrument, column: str = WAVE) -> list:
    """The waves, after checking that every wave answered the same readiness items."""
    waves = wave_values(data, column)
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    for w in waves:
        sub = data.loc[data[column] == w, items]
        empty = [i for i in items if sub[i].isna().all()]
        if empty and len(empty) < len(items):
            raise InputError(f"wave {w} has no answers to {', '.join(empty[:3])}, which other waves asked",
                             column=empty[0], hint="compare waves only on the questions they share: "
                                                   "remove those items from the other waves' files")
    return waves


def _contributors(sub: pd.DataFrame, instrument, group: str, keys: list, min_n: int) -> dict:
    """Per measure, the group of each respondent whose score enters the published mean (else
    missing), and the respondents' 0-100 scores (as ``analysis.readiness`` computes them)."""
    from analysis.readiness_index import on_0_100

    scored = on_0_100(sub, [c for c in instrument.readiness_dimensions if c.key in keys], _INDEX)
    counted = scored[keys].notna().any(axis=1) & scored[group].notna()
    view = privacy.check_filter(scored, None, min_n, instrument=instrument).data
    cell = privacy.group_cells(view, group, min_n, answered=counted.reindex(view.index))
    return {("index" if k == _INDEX else k):
            (privacy.group_cells(view, group, min_n, answered=view[k].notna() & cell.notna()), view[k])
            for k in [*keys, _INDEX]}


def _welch(before: pd.DataFrame, after: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t, df and two-sided p of ``after``'s mean minus ``before``'s, for many groups at
    once: ``before`` and ``after`` hold each group's ``n``, ``mean`` and sample variance ``var``
    (``_moments``), in the same order. Welch (1947); the statistic and p as R's
    ``t.test(b, a)`` and scipy's ``ttest_ind(b, a, equal_var=False)`` give them, from the groups'
    summaries (``scipy.stats.ttest_ind_from_stats``); missing where a wave has fewer than two
    answers. df is missing where both waves' answers are all the same (t is then undefined, or
    infinite when the means differ)."""
    from scipy import stats  # here, not at import: the readiness screen needs it only for waves

    na, ma, va = (before[c].to_numpy(dtype=float) for c in ("n", "mean", "var"))
    nb, mb, vb = (after[c].to_numpy(dtype=float) for c in ("n", "mean", "var"))
    ok = (na >= 2) & (nb >= 2)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind_from_stats(np.where(ok, mb, 0.0), np.sqrt(np.where(ok, vb, 1.0)), np.where(ok, nb, 2),
                                         np.where(ok, ma, 0.0), np.sqrt(np.where(ok, va, 1.0)), np.where(ok, na, 2),
                                         equal_var=False)
        ea, eb = va / na, vb / nb
        df = (ea + eb) ** 2 / (ea ** 2 / (na - 1) + eb ** 2 / (nb - 1))
    df = np.where(ea + eb > 0, df, np.nan)
    nan = np.full(len(ok), np.nan)
    return (np.where(ok, res.statistic, nan), np.where(ok, df, nan), np.where(ok, res.pvalue, nan))


def two_proportion_test(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """Pooled two-proportion z and two-sided p of ``x2/n2 - x1/n1`` (Agresti 2013)."""
    from scipy import stats

    p = (x1 + x2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if not se > 0:
        return float("nan"), float("nan")
    z = (x2 / n2 - x1 / n1) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))


@dataclass
class WaveChanges:
    """``trend``: one row per group, wave and measure (``index``, dimensions) with ``n`` and
    ``value``. ``changes``: one row per group and measure of ``current`` against ``previous``
    with ``kind`` ('score' or 'favourable'), ``before, after, change, statistic, df, p,
    significant, test`` (missing when either wave is suppressed)."""
    column: str
    waves: list
    current: object
    previous: object
    trend: pd.DataFrame
    changes: pd.DataFrame

    def for_group(self, group_id) -> pd.DataFrame:
        return self.changes[self.changes["group"].astype(str) == str(group_id)].reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"column": self.column, "waves": self.waves, "current": self.current, "previous": self.previous,
                "trend": self.trend, "changes": self.changes}


def wave_changes(data: pd.DataFrame, instrument, group: str = "org_id", *, column: str = WAVE, current=None,
                 min_n: int = privacy.DEFAULT_MIN_N) -> WaveChanges:
    """Readiness of every wave and the change of ``current`` (default the last wave) since the
    wave before it, per group (see the module docstring).

    Parameters
    ----------
    data : every wave's respondents, with the wave in ``column``.
    instrument : the instrument with the readiness dimensions.
    group : the organisation column.
    column : the wave column.
    current : the wave to compare with its previous one (default the last).
    min_n : as for ``analysis.readiness.readiness``.
    """
    from analysis.readiness import readiness
    from analysis.readiness_questions import question_results

    waves = check_waves(data, instrument, column)
    if current is None:
        current = waves[-1]
    match = [w for w in waves if str(w) == str(current)]
    if not match:
        raise InputError(f"no wave '{current}' in the data", column=column,
                         hint="waves: " + ", ".join(map(str, waves)))
    current = match[0]
    at = waves.index(current)
    previous = waves[at - 1] if at > 0 else None
    trend_rows, results, questions, members = [], {}, {}, {}
    for w in waves:
        sub = data[data[column] == w]
        try:
            res = readiness(sub, instrument, group, min_n=min_n)
        except InputError:
            continue  # a wave too small to show anything shows nothing
        results[w] = res
        for r in res.groups.itertuples():
            for m in ["index", *res.dimensions]:
                trend_rows.append({"group": r.group, "wave": w, "measure": m, "n": r.n,
                                   "value": getattr(r, m) if not r.suppressed else float("nan")})
        if w in (current, previous):
            questions[w] = question_results(sub, instrument, group, min_n=res.min_n)
            members[w] = _contributors(sub, instrument, res.group_column, res.dimensions, res.min_n)
    changes = pd.DataFrame()
    if previous is not None and previous in results and current in results:
        changes = _changes(results[previous], results[current], questions[previous], questions[current],
                           members[previous], members[current])
    return WaveChanges(column=column, waves=waves, current=current, previous=previous,
                       trend=pd.DataFrame(trend_rows), changes=changes)


def _moments(cells: pd.Series, values: pd.Series) -> pd.DataFrame:
    """Per group level: ``n``, ``mean`` and sample variance ``var`` (n - 1; two-pass, as
    ``aggregation.column_variances``) of the answered values of its rows, indexed by level."""
    from analysis.aggregation import column_variances

    keep = cells.notna().to_numpy() & values.notna().to_numpy()
    codes, levels = pd.factorize(cells[keep])
    n = np.bincount(codes, minlength=len(levels)).astype(float)
    mean, var = column_variances(values.to_numpy(dtype=float)[keep], np.asarray(codes), n)
    return pd.DataFrame({"n": n, "mean": mean, "var": np.where(n >= 2, var, np.nan)}, index=levels)


def _two_proportion_tests(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray):
    """``two_proportion_test`` of many pairs at once (the same operations, element by element)."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        p = (x1 + x2) / (n1 + n2)
        se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
        z = (x2 / n2 - x1 / n1) / se
        ok = se > 0
        return np.where(ok, z, np.nan), np.where(ok, 2 * stats.norm.sf(np.abs(np.where(ok, z, 0.0))), np.nan)


def _changes(r1, r2, q1, q2, m1, m2) -> pd.DataFrame:
    rows = []
    g1 = r1.groups.set_index("group").to_dict("index")  # one look-up per group, not .loc per cell
    g2 = r2.groups.set_index("group")
    after_by = g2.to_dict("index")
    measures = ["index", *r2.dimensions]
    tests = {}  # measure -> (t, df, p) of every group of the current wave, in g2's order
    for m in measures:
        before_m, after_m = (_moments(*wave[m]).reindex(g2.index).fillna({"n": 0.0}) for wave in (m1, m2))
        tests[m] = _welch(before_m, after_m)
    for k, g in enumerate(g2.index):
        before, after = g1.get(g), after_by[g]
        both = before is not None and not before["suppressed"] and not after["suppressed"]
        for m in measures:
            row = {"group": g, "kind": "score", "measure": m, "test": "Welch t"}
            if both and pd.notna(before[m]) and pd.notna(after[m]):
                t, df, p = (float(v[k]) for v in tests[m])
                row.update(before=float(before[m]), after=float(after[m]),
                           change=float(after[m] - before[m]), statistic=t, df=df, p=p)
            rows.append(row)
    a_items = q1.groups.set_index(["group", "item"]).to_dict("index")
    b_keys = list(zip(q2.groups["group"], q2.groups["item"]))
    b_items = q2.groups.to_dict("records")
    pairs = [(a_items.get(key), b) for key, b in zip(b_keys, b_items)]
    tested = [i for i, (a, b) in enumerate(pairs) if a is not None and not b["suppressed"] and not a["suppressed"]]
    x1 = np.array([round(pairs[i][0]["favourable"] * pairs[i][0]["n"] / 100) for i in tested], dtype=float)
    x2 = np.array([round(pairs[i][1]["favourable"] * pairs[i][1]["n"] / 100) for i in tested], dtype=float)
    n1 = np.array([pairs[i][0]["n"] for i in tested], dtype=float)
    n2 = np.array([pairs[i][1]["n"] for i in tested], dtype=float)
    z, p = _two_proportion_tests(x1, n1, x2, n2)
    result = dict(zip(tested, zip(z.tolist(), p.tolist())))
    for i, ((g, item), (a, b)) in enumerate(zip(b_keys, pairs)):
        row = {"group": g, "kind": "favourable", "measure": item, "test": "two-proportion z"}
        if i in result:
            row.update(before=float(a["favourable"]), after=float(b["favourable"]),
                       change=float(b["favourable"] - a["favourable"]), statistic=result[i][0], df=float("nan"),
                       p=result[i][1])
        rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=["group", "kind", "measure", "before", "after", "change", "test",
                                              "statistic", "df", "p"])
    out["significant"] = [None if pd.isna(p) else bool(p < ALPHA) for p in out["p"]]
    return out
