"""Organisational readiness for digital co-production: index, benchmark and where to start.

Definitions (stated once, used by the page, the command and the tests):

* **Dimension score** of a respondent: the construct's scale score (mean of its answered,
  reverse-keyed items, ``analysis.scoring``), rescaled from the response range to 0-100:
  ``(score - scale min) / (scale max - scale min) * 100``.
* **Group dimension score**: the mean of its respondents' dimension scores, with a t-based
  95% CI ``mean +/- t(.975, n - 1) * sd / sqrt(n)`` (R: ``t.test(x)$conf.int``).
* **Readiness index** (0-100): ``analysis.readiness_index``, its one definition. A
  respondent's index is the mean of their 0-100 dimension scores, missing unless every
  dimension is scored (R ``rowMeans(..., na.rm = FALSE)``); a group's index is the mean of
  its respondents' indices with a t-based 95% CI (People Survey-style). With complete
  answers it is the average of the bars shown for the dimensions.
* **Agreement**: rwg(j) over all readiness items of the group with the uniform null over
  the A response options (James, Demaree & Wolf 1984; R: ``multilevel::rwg.j``); below
  .70 the group is flagged: its members do not share a view, so its mean speaks for no one
  in particular. ICC(1)/ICC(2) per dimension over the groups shown (Bliese 2000; R:
  ``multilevel::ICC1(aov(score ~ factor(group)))``).
* **Benchmark**: median and quartiles (R ``quantile(type = 7)``) of the group scores over
  the groups that are shown, and each group's percentile rank
  ``100 * (below + equal / 2) / groups`` (mid-rank percentile, Crocker & Algina 1986).
* **Privacy**: ``analysis.privacy``: a group's numbers use only the whole blocks of the
  survey's disclosure partition inside the filters and the group (per dimension: blocks with
  at least ``min_n`` answers to it); a group with none (fewer than ``min_n`` respondents, or
  pooled with such a group) shows nothing, not even its count: no index, score, CI, rwg or
  percentile, and is left out of the benchmark and the ICCs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis import privacy
from analysis.aggregation import check_icc_design, icc_from_sums
from analysis.errors import InputError
from analysis.readiness_index import _code_stats_of, _t_interval, require_scored, score_arrays

EVIDENCE_FILE = Path(__file__).with_name("evidence.yaml")
LOW_AGREEMENT = 0.70
_INDEX = "_readiness_index"  # the respondents' index while a group's is computed (a file may hold its own)


# --------------------------------------------------------------------------- preparation
def dimensions_in(data: pd.DataFrame, instrument) -> list:
    """The instrument's readiness dimensions with at least one item in ``data``; ``InputError``
    when there is none (the survey has no readiness items, or they were not mapped) or when
    ``data`` are not the pipeline's scored frame (``readiness_index.require_scored``)."""
    dims = [c for c in instrument.readiness_dimensions if any(it.id in data.columns for it in c.items)]
    require_scored(data, dims)
    if not dims:
        raise InputError(f"none of the readiness items of instrument '{instrument.id}' are in the data",
                         hint="map the readiness items on the Data page, or pick the public-servant instrument")
    return dims


def resolve_group(data: pd.DataFrame, instrument, group: str) -> str:
    """Accept a column name or a key of the instrument's ``group_columns`` (e.g. 'organisation')."""
    if group in data.columns:
        return group
    mapped = (getattr(instrument, "group_columns", {}) or {}).get(group)
    if mapped and mapped in data.columns:
        return mapped
    raise InputError("unknown group column", column=str(group),
                     hint="name the column that identifies the organisation, e.g. "
                          + ", ".join(v for v in (getattr(instrument, "group_columns", {}) or {}).values()))


def percentile_rank(value: float, values) -> float:
    """Mid-rank percentile of ``value`` among ``values``: 100 (below + equal/2) / n."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if value is None or not np.isfinite(value) or len(v) == 0:
        return float("nan")
    return float(100.0 * ((v < value).sum() + 0.5 * (v == value).sum()) / len(v))


def percentile_ranks(scores, values) -> np.ndarray:
    """``percentile_rank`` of every score in ``scores`` at once (NaN stays NaN): one sort and
    two binary searches, O((n + m) log m) instead of O(n m)."""
    v = np.asarray(values, dtype=float)
    v = np.sort(v[np.isfinite(v)])
    x = np.asarray(scores, dtype=float)
    out = np.full(x.shape, np.nan)
    if len(v) == 0:
        return out
    ok = np.isfinite(x)
    below = np.searchsorted(v, x[ok], side="left")
    equal = np.searchsorted(v, x[ok], side="right") - below
    out[ok] = 100.0 * (below + 0.5 * equal) / len(v)
    return out


# --------------------------------------------------------------------------- evidence
@lru_cache(maxsize=1)
def _evidence() -> list[dict]:
    return yaml.safe_load(EVIDENCE_FILE.read_text(encoding="utf-8"))["themes"]


def evidence_for(construct) -> dict:
    """The evidence theme of a readiness dimension, matched on words in its key and label."""
    text = f"{construct.key} {construct.label}".lower().replace("_", " ")
    themes = _evidence()
    for theme in themes:
        if any(word.lower() in text for word in theme["match"]):
            return theme
    return next(t for t in themes if t["id"] == "general")


# --------------------------------------------------------------------------- results
@dataclass
class WhereToStart:
    """Dimensions of one group furthest below the benchmark median, with the literature's enablers."""
    group: object
    suppressed: bool
    message: str
    table: pd.DataFrame  # dimension, label, score, median, gap, percentile, theme, enablers

    def to_dict(self) -> dict:
        return {"group": self.group, "suppressed": self.suppressed, "message": self.message,
                "dimensions": self.table}


@dataclass
class ReadinessResult:
    """Readiness per group. ``groups``: one row per group with ``group, n, suppressed,
    suppression, index``, per dimension ``<key>`` (0-100), ``<key>_ci_low``, ``<key>_ci_high``,
    ``<key>_n``, and ``rwg``, ``low_agreement``. ``benchmark``: one row per measure (index and
    dimensions) with ``n_groups, q1, median, q3``. ``percentiles``: group x measure."""
    min_n: int
    group_column: str
    dimensions: list[str]
    labels: dict
    groups: pd.DataFrame
    benchmark: pd.DataFrame
    percentiles: pd.DataFrame
    icc: pd.DataFrame
    filters: dict = field(default_factory=dict)
    _constructs: dict = field(default_factory=dict, repr=False)
    rows: pd.Index | None = field(default=None, repr=False)  # the respondents the groups' numbers use

    def _row(self, group_id):
        match = self.groups[self.groups["group"].astype(str) == str(group_id)]
        if match.empty:
            raise InputError(f"no group '{group_id}' in the data", column=self.group_column,
                             hint="pick one of the groups listed in the readiness table")
        return match.iloc[0]

    def where_to_start(self, group_id, top: int = 3) -> WhereToStart:
        """The (up to ``top``) dimensions where ``group_id`` lies furthest below the
        benchmark median, each with the enablers the literature names (analysis/evidence.yaml)."""
        row = self._row(group_id)
        columns = ["dimension", "label", "score", "median", "gap", "percentile", "theme", "enablers"]
        if bool(row["suppressed"]):
            return WhereToStart(row["group"], True,
                                f"Fewer than {self.min_n} respondents (or needed to protect such a group): "
                                "no scores are shown for this group.", pd.DataFrame(columns=columns))
        bench = self.benchmark.set_index("measure")
        pct = self.percentiles[self.percentiles["group"].astype(str) == str(group_id)].set_index("measure")
        rows = []
        for key in self.dimensions:
            score = row[key]
            median = bench.loc[key, "median"]
            if pd.isna(score) or pd.isna(median) or score >= median:
                continue
            theme = evidence_for(self._constructs[key])
            rows.append({"dimension": key, "label": self.labels[key], "score": float(score),
                         "median": float(median), "gap": float(score - median),
                         "percentile": float(pct.loc[key, "percentile"]) if key in pct.index else None,
                         "theme": theme["id"], "enablers": theme["enablers"]})
        table = pd.DataFrame(rows, columns=columns).sort_values("gap", kind="stable").head(top).reset_index(drop=True)
        if table.empty:
            message = "This group is at or above the median of the compared groups on every dimension."
        else:
            parts = [f"{r.label} ({r.score:.0f} vs median {r.median:.0f})" for r in table.itertuples()]
            message = "Furthest below the benchmark: " + "; ".join(parts) + "."
        return WhereToStart(row["group"], False, message, table)

    def reading(self, group_id) -> str:
        """One plain-language paragraph on a group's readiness."""
        row = self._row(group_id)
        if bool(row["suppressed"]):
            return (f"Group {row['group']}: no scores are shown because fewer than {self.min_n} people "
                    "answered, or because showing them would let a smaller group be worked out.")
        bench = self.benchmark.set_index("measure")
        text = (f"Group {row['group']} ({int(row['n'])} respondents) has a readiness index of "
                f"{row['index']:.0f} out of 100" if pd.notna(row["index"]) else
                f"Group {row['group']} ({int(row['n'])} respondents) has no index because too few of them "
                "have every dimension scored")
        if pd.notna(row["index"]) and pd.notna(bench.loc["index", "median"]):
            text += f"; the median of {int(bench.loc['index', 'n_groups'])} compared groups is {bench.loc['index', 'median']:.0f}"
        text += "."
        if pd.notna(row["rwg"]):
            text += (f" Agreement rwg(j) = {row['rwg']:.2f}"
                     + (": too low to speak of a shared view (below .70)." if row["rwg"] < LOW_AGREEMENT
                        else ": enough to speak of a shared view."))
        return text

    def to_dict(self) -> dict:
        groups = []
        for _, r in self.groups.iterrows():
            groups.append({"group": r["group"], "n": None if pd.isna(r["n"]) else int(r["n"]),
                           "suppressed": bool(r["suppressed"]),
                           "index": None if pd.isna(r["index"]) else float(r["index"]),
                           "dimensions": {k: (None if pd.isna(r[k]) else float(r[k])) for k in self.dimensions},
                           "rwg": None if pd.isna(r["rwg"]) else float(r["rwg"])})
        measures = {}
        for _, b in self.benchmark.iterrows():
            measures[b["measure"]] = {"n_groups": int(b["n_groups"]), "q1": b["q1"], "median": b["median"], "q3": b["q3"]}
        pct = {}
        for g, sub in self.percentiles.groupby("group", sort=False):
            pct[str(g)] = {m: (None if pd.isna(p) else float(p)) for m, p in zip(sub["measure"], sub["percentile"])}
        return {"min_n": self.min_n, "dimensions": list(self.dimensions), "groups": groups,
                "benchmark": {"measures": measures, "percentiles": pct},
                "labels": dict(self.labels), "icc": self.icc}


# --------------------------------------------------------------------------- the index
def _rwg_items(items: pd.DataFrame, dims) -> float:
    """rwg(j) over all readiness items; with differing response ranges, the mean of the
    per-dimension rwg(j)."""
    from analysis.aggregation import rwg_j
    options = {c.scale.max - c.scale.min + 1 for c in dims}
    if len(options) == 1:
        cols = [it.id for c in dims for it in c.items if it.id in items.columns]
        return rwg_j(items[cols], options.pop())
    values = [rwg_j(items[[it.id for it in c.items if it.id in items.columns]], c.scale.max - c.scale.min + 1)
              for c in dims]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _rwg_items_by_group(items: pd.DataFrame, dims, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``_rwg_items`` of every group at once (``aggregation.group_variances``): rwg(j) over
    all readiness items, or the mean of the finite per-dimension rwg(j) when the response
    ranges differ; respondents missing an item of the set are left out, as ``rwg_j`` does."""
    ids = [it.id for c in dims for it in c.items if it.id in items.columns]
    return _rwg_by_group(items[ids].to_numpy(dtype=float), ids, dims, codes, n_groups)


def _rwg_by_group(answers: np.ndarray, ids: list, dims, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``_rwg_items_by_group`` on the items already as an array (columns named by ``ids``)."""
    from analysis.aggregation import group_variances, rwg_j_from_variances

    def one(cols, options):
        x = answers if cols == ids else answers[:, [ids.index(i) for i in cols]]
        finite = np.ones(len(x), dtype=bool)
        for j in range(x.shape[1]):  # column by column (contiguous in a column-major array)
            finite &= np.isfinite(x[:, j])
        complete = np.where(finite, codes, -1)
        _, _, var = group_variances(x, complete, n_groups)
        return rwg_j_from_variances(var, options)[0]

    options = {c.scale.max - c.scale.min + 1 for c in dims}
    if len(options) == 1:
        return one([it.id for c in dims for it in c.items if it.id in ids], options.pop())
    values = np.stack([one([it.id for it in c.items if it.id in ids], c.scale.max - c.scale.min + 1)
                       for c in dims], axis=1)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite.any(axis=1), np.where(finite, values, 0).sum(axis=1) / finite.sum(axis=1), np.nan)


def _rwg_of_view(view: pd.DataFrame, dims, rows: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``_rwg_by_group`` of the reverse-keyed items of ``rows`` of ``view`` (``codes``: the
    group of every row of ``view``, at least those of ``rows``), one item column at a time
    instead of a respondents x items array (100 MB at 600,000 respondents): the same values,
    in the same order, through the same sums (``aggregation.column_variances``)."""
    from analysis.aggregation import column_variances, rwg_j_from_variances

    def one(members, options):
        kept = rows.copy()
        for item, _, _ in members:  # respondents missing an item of the set are left out
            kept &= np.isfinite(view[item].to_numpy(dtype=float))
        at = np.flatnonzero(kept)  # the rows kept, as positions: one gather per item
        c = codes[at]
        n = np.bincount(c, minlength=n_groups).astype(float)
        var = np.empty((n_groups, len(members)))
        for j, (item, reverse, construct) in enumerate(members):
            values = view[item].to_numpy(dtype=float)[at]
            if reverse:  # turned round: scale min + scale max - answer (scoring.reverse_key)
                values = (construct.scale.min + construct.scale.max) - values
            var[:, j] = column_variances(values, c, n)[1]
        var[n < 2] = np.nan
        return rwg_j_from_variances(var, options)[0]

    options = {c.scale.max - c.scale.min + 1 for c in dims}
    if len(options) == 1:
        return one([(it.id, it.reverse, c) for c in dims for it in c.items if it.id in view.columns], options.pop())
    values = np.stack([one([(it.id, it.reverse, c) for it in c.items if it.id in view.columns],
                           c.scale.max - c.scale.min + 1) for c in dims], axis=1)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite.any(axis=1), np.where(finite, values, 0).sum(axis=1) / finite.sum(axis=1), np.nan)


def _privacy_input(scored: pd.DataFrame, instrument, used: list, filters) -> pd.DataFrame:
    """The columns ``privacy.check_filter`` needs (those its partition may split by: the
    instrument's groups and demographics, ``age``/``age_band``; the filtered ones) and the
    ``used`` ones, so the filtered view copies these and not every column of the survey. The
    partition is the same: ``privacy.disclosure_columns`` picks only among the first."""
    if any(c not in scored.columns for c in (filters or {})):
        return scored  # check_filter refuses the unknown column, its hint listing the survey's columns
    wanted = [*used, *(getattr(instrument, "group_columns", {}) or {}).values(),
              *(d.id for d in (getattr(instrument, "demographics", []) or [])), "age", "age_band", *(filters or {})]
    return scored[[c for c in dict.fromkeys(wanted) if c in scored.columns]]


def survey_partition(data: pd.DataFrame, instrument, min_n: int = privacy.DEFAULT_MIN_N) -> privacy.Partition:
    """The disclosure partition ``privacy.check_filter(data, ..., instrument=instrument)``
    builds for ``data`` (``privacy.partition_for`` over the survey's disclosure columns, the age
    band derived), made once when several views of the same survey (readiness, per-question
    results, a breakdown) are computed together. The age band is coded from the ages by
    ``partition_for`` itself (the same blocks as from its text labels)."""
    return privacy.partition_for(data, instrument, privacy.check_min_n(min_n))


def _contributors(block: np.ndarray, whole: np.ndarray, min_n: int):
    """``answered -> rows``: the ``whole`` rows (of blocks each wholly usable) that answered,
    in a block with at least ``min_n`` of them (``Partition.contributors``). The answered rows
    of each block are counted as its whole rows less its unanswered ones (few: a missing
    answer), and a block is only looked up row by row when one falls short."""
    n_blocks = int(block.max()) + 1 if len(block) else 0
    in_whole = np.where(whole, block, 0)
    base = np.bincount(block[whole], minlength=n_blocks)

    def rows(answered: np.ndarray) -> np.ndarray:
        kept = whole & answered
        missing = np.bincount(block[whole & ~answered], minlength=n_blocks)
        counts = base - missing
        short = (counts > 0) & (counts < min_n)
        if short.any():
            kept &= ~short[in_whole]
        return kept

    return rows


@dataclass
class _Grouping:
    """The groups of a column, listed as the readiness tables list them (numeric ids in
    numeric order, others in text order), and each row's position among them (-1: none)."""
    labels: list
    codes: np.ndarray


def _grouping(column: pd.Series) -> _Grouping:
    """``_Grouping`` of ``column``: its distinct values (``drop_duplicates``), sorted by
    ``float`` for a numeric column and by ``str`` otherwise, and ``Index.get_indexer``; integer
    ids spanning a small range are ranked by counting instead of hashing (the same groups)."""
    values = column.to_numpy() if isinstance(column.dtype, np.dtype) else None  # text: not written out
    if values is not None and len(values) and values.dtype.kind in "iu":
        low, high = int(values.min()), int(values.max())
        if high - low < (1 << 24) and -(1 << 53) < low and high < (1 << 53):  # exact as floats
            offset = values.astype(np.int64)  # a new array of numpy's own int64 (fast np.*.at)
            offset -= low
            present = np.bincount(offset) > 0
            rank = np.cumsum(present) - 1
            return _Grouping((np.flatnonzero(present) + low).tolist(), rank[offset])
    groups = column[column.notna()].drop_duplicates()
    labels = sorted(groups.tolist(), key=(float if pd.api.types.is_numeric_dtype(column) else str))
    return _Grouping(labels, np.asarray(pd.Index(labels).get_indexer(column), dtype=np.int64))


def _usable_blocks(part: privacy.Partition, in_view: np.ndarray, codes: np.ndarray, min_n: int) -> np.ndarray:
    """Rows of the view (``in_view``: whole blocks of ``part``) whose block lies in one group
    (``codes``, -1: none) and has at least ``min_n`` rows: the blocks pure in one group,
    over the rows of the whole survey."""
    pure = in_view & part._pure(codes + 1, codes >= 0)
    if not pure.any():
        return pure
    counts = np.bincount(part.block[pure], minlength=int(part.block.max()) + 1)
    return pure & (counts[np.where(pure, part.block, 0)] >= min_n)


def _view_rows(data: pd.DataFrame, instrument, used: list, filters, min_n: int,
               partition: privacy.Partition | None) -> tuple[np.ndarray, privacy.Partition, dict]:
    """``privacy.check_filter(_privacy_input(data, instrument, used, filters), filters, ...)``
    as the rows of ``data`` it keeps (``privacy.filtered_rows``), its partition and filters;
    a filter on a column the survey lacks goes through ``check_filter``, for its message."""
    if any(c not in data.columns and not (c == "age_band" and "age" in data.columns) for c in (filters or {})):
        privacy.check_filter(_privacy_input(data, instrument, used, filters), filters, min_n,
                             instrument=instrument, partition=partition)
    rows, part, active, _ = privacy.filtered_rows(data, filters, min_n, instrument=instrument, partition=partition)
    return rows, part, active


class _Shared:
    """What the views of one survey computed together (``readiness_view.practitioners_view``:
    readiness, per-question results, a breakdown) share, each made on first use: the 0-100
    scores and index, the groups of a column, and the rows of a view usable by a grouping."""

    def __init__(self, data: pd.DataFrame):
        self.data = data
        self._scores: dict = {}
        self._groupings: dict = {}
        self._usable: dict = {}
        self._disclosure: tuple | None = None

    def scores(self, dims) -> dict:
        key = tuple(c.key for c in dims)
        if key not in self._scores:
            values, index = score_arrays(self.data, dims)
            self._scores[key] = {**values, _INDEX: index}
        return self._scores[key]

    def disclosure(self, instrument) -> tuple[list, dict]:
        """``privacy.disclosure_columns`` and the codes of the demographics among them."""
        if self._disclosure is None:
            self._disclosure = privacy._columns_and_codes(self.data, instrument)
        return self._disclosure

    def grouping(self, column: str) -> _Grouping:
        if column not in self._groupings:
            self._groupings[column] = _grouping(self.data[column])
        return self._groupings[column]

    def usable(self, column: str, in_view: np.ndarray, part: privacy.Partition, min_n: int) -> np.ndarray:
        """``_usable_blocks`` of the groups of ``column`` in the view ``in_view`` of ``part``."""
        made = self._usable.get(column)
        if made is not None and made[1] is part and made[2] == min_n and np.array_equal(made[0], in_view):
            return made[3]
        rows = _usable_blocks(part, in_view, self.grouping(column).codes, min_n)
        self._usable[column] = (in_view, part, min_n, rows)
        return rows


@dataclass
class _Groups:
    """What ``readiness`` computes per group before its summaries (``_group_table``), over
    the rows of ``data``: ``cell`` the rows its numbers use, ``codes`` each row's group."""
    group: str
    dims: list
    table: pd.DataFrame
    index: pd.Index
    scores: dict
    cell: np.ndarray
    codes: np.ndarray
    n_by: np.ndarray
    filters: dict
    stats: dict  # per score: the rows its means use, and per group n, mean, sum of squared deviations


def _group_table(data: pd.DataFrame, instrument, group: str, min_n: int, filters: dict | None,
                 partition: privacy.Partition | None = None, agreement: bool = True,
                 grouping: _Grouping | None = None, shared: _Shared | None = None) -> _Groups:
    """The readiness table of every group (``ReadinessResult.groups``) and the rows behind it;
    ``readiness`` adds the benchmark and the ICCs, ``readiness_breakdown`` uses the table alone
    (without ``agreement`` its rwg column is left missing: a breakdown shows no rwg).
    ``grouping``: the groups and each row's group when the caller made them (a breakdown's
    cells; ``group`` then only names them); the distinct values of ``group`` otherwise.
    ``shared``: the arrays the views of ``data`` computed together share (``_Shared``)."""
    group = group if grouping is not None else resolve_group(data, instrument, group)
    dims = dimensions_in(data, instrument)
    keys = [c.key for c in dims]
    shared = shared if shared is not None else _Shared(data)
    values = shared.scores(dims)  # dimension scores on 0-100 and the respondents' index
    found = grouping if grouping is not None else shared.grouping(group)
    all_groups, codes = found.labels, found.codes
    counted = np.zeros(len(data), dtype=bool)
    for k in keys:
        counted |= ~np.isnan(values[k])
    counted &= codes >= 0
    if not counted.any():
        raise InputError("the readiness items have no answers in this file (every respondent left them blank "
                         "or has no group)", column=group,
                         hint="check the column mapping on the Data page, or that the file holds the answers")
    item_ids = [it.id for c in dims for it in c.items if it.id in data.columns]
    in_view, part, active = _view_rows(data, instrument, [group, *keys, *item_ids], filters, min_n, partition)
    # Privacy (analysis.privacy): each group's numbers come only from whole blocks of the
    # survey's partition that lie inside the filters and inside the group, with at least
    # min_n answers per block (per dimension for the dimension scores, and respondents with
    # an index for the index).
    usable = (_usable_blocks(part, in_view, codes, min_n) if grouping is not None
              else shared.usable(group, in_view, part, min_n))
    contributors = _contributors(part.block, usable, min_n)
    cell = contributors(counted)
    n_groups = len(all_groups)
    n_by = np.bincount(codes[cell], minlength=n_groups)
    table = pd.DataFrame({"group": all_groups})
    table["n"] = [int(n) for n in n_by]
    stats = {}
    scored = [*keys, _INDEX]
    uses = [contributors(~np.isnan(values[k]) & cell) for k in scored]  # each from the whole blocks of
    found_stats = _code_stats_of([values[k] for k in scored], uses, codes, n_groups)  # the group with min_n answers
    for k, use, (n, mean, sd, ss) in zip(scored, uses, found_stats):
        low, high = _t_interval(n, mean, sd, 0.95)
        stats[k] = (use, n, mean, ss)
        name = "index" if k == _INDEX else k
        table[name] = mean
        table[f"{name}_ci_low"], table[f"{name}_ci_high"] = low, high
        if k != _INDEX:
            table[f"{k}_n"] = n
    if agreement:
        table["rwg"] = np.where(table["n"].to_numpy() > 0, _rwg_of_view(data, dims, cell, codes, n_groups), np.nan)
    else:
        table["rwg"] = np.nan
    # a group with no block to show is suppressed: "primary" when it has fewer than min_n
    # respondents, "complementary" when its respondents are pooled with a smaller group
    sizes = np.bincount(codes[counted], minlength=n_groups)
    table["suppressed"] = table["n"] == 0
    table["suppression"] = np.where(~table["suppressed"], "", np.where(sizes < min_n, "primary", "complementary"))
    value_cols = ["index", "index_ci_low", "index_ci_high", "rwg"] + [c for k in keys for c in (k, f"{k}_ci_low", f"{k}_ci_high")]
    table.loc[table["suppressed"], value_cols] = np.nan
    table["n"] = table["n"].astype(object).where(~table["suppressed"], None)
    for k in keys:
        table[f"{k}_n"] = table[f"{k}_n"].astype(object).where(~table["suppressed"], None)
    table["low_agreement"] = [None if pd.isna(r) else bool(r < LOW_AGREEMENT) for r in table["rwg"]]
    order = (["group", "n", "suppressed", "suppression", "index", "index_ci_low", "index_ci_high"]
             + [c for k in keys for c in (k, f"{k}_ci_low", f"{k}_ci_high", f"{k}_n")] + ["rwg", "low_agreement"])
    table = table[order]

    return _Groups(group, dims, table, data.index, values, cell, codes, n_by, active, stats)


def _icc_by_code(y: np.ndarray, codes: np.ndarray, *, value: str, group: str) -> tuple[float, float, int, int]:
    """ICC(1) and ICC(2) of the values ``y`` in the groups ``codes`` (none missing) from a
    one-way ANOVA (Bliese 2000), as ``aggregation.icc1_icc2``: ICC(1) = (MSB - MSW) / (MSB +
    (k - 1) MSW), k = N / J, ICC(2) = (MSB - MSW) / MSB; returns ``(icc1, icc2, n_groups,
    n_obs)``, ``InputError`` where that raises it. The group means by ``np.bincount``, the
    between-groups sum as sum_g n_g (mean_g - grand)^2: equal up to the order of
    floating-point summation. R: ``multilevel::ICC1(aov(y ~ factor(g)))``, ``ICC2``."""
    n_obs = int(len(y))
    size = np.bincount(codes)
    present = size > 0
    n_groups = int(present.sum())
    check_icc_design(n_obs, n_groups, group)
    grand = y.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(codes, weights=y) / size
    ss_between = float((size[present] * (means[present] - grand) ** 2).sum())
    ss_within = float(((y - means[codes]) ** 2).sum())
    icc = icc_from_sums(ss_between, ss_within, n_obs, n_groups, value=value)
    return icc.icc1, icc.icc2, n_groups, n_obs


def _icc_of_groups(y: np.ndarray, kept: np.ndarray, codes: np.ndarray, stats: tuple, *, value: str,
                   group: str) -> tuple[float, float, int, int]:
    """``_icc_by_code`` of the answered values of ``y`` at the ``kept`` rows in their groups
    (``codes``), from the per-group n, mean and sum of squared deviations the readiness table
    computed over its rows ``use`` (those of ``kept`` in blocks with ``min_n`` answers) and the
    few answered rows it left out, pooled by the parallel-axis theorem: SS = SS_use +
    n_use (mean_use - mean)^2 + sum over the rows left out of (y - mean)^2 (equal to the sums
    over the rows up to the order of floating-point summation). Bliese (2000); R:
    ``multilevel::ICC1(aov(y ~ factor(g)))``, ``ICC2``."""
    use, n_use, mean_use, ss_use = stats
    out = np.flatnonzero(kept & ~use & ~np.isnan(y))
    n_groups_all = len(n_use)
    c_out, y_out = codes[out], y[out]
    n = n_use + np.bincount(c_out, minlength=n_groups_all)
    sums = np.where(n_use > 0, n_use * mean_use, 0.0) + np.bincount(c_out, weights=y_out, minlength=n_groups_all)
    present = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / n
    ss = (np.where(n_use > 0, ss_use + n_use * (mean_use - mean) ** 2, 0.0)
          + np.bincount(c_out, weights=(y_out - mean[c_out]) ** 2, minlength=n_groups_all))
    n_obs, n_groups = int(n.sum()), int(present.sum())
    check_icc_design(n_obs, n_groups, group)
    grand = float(sums[present].sum()) / n_obs
    ss_between = float((n[present] * (mean[present] - grand) ** 2).sum())
    ss_within = float(ss[present].sum())
    icc = icc_from_sums(ss_between, ss_within, n_obs, n_groups, value=value)
    return icc.icc1, icc.icc2, n_groups, n_obs


def readiness(data: pd.DataFrame, instrument, group: str = "org_id", *, min_n: int = privacy.DEFAULT_MIN_N,
              filters: dict | None = None, min_share: float | None = None,
              partition: privacy.Partition | None = None) -> ReadinessResult:
    """Readiness index, dimension scores with CIs, agreement and benchmark per group.

    ``data`` is the pipeline's scored frame (``analysis.pipeline.prepare``: cleaned item
    columns named by the instrument's item ids and one score column per scale); ``filters``
    (column -> values kept) are checked by ``analysis.privacy.check_filter`` against small
    subsets and difference attacks. See the module docstring for every definition.
    ``min_share`` is ignored: the pipeline scored the data with its own (kept for callers
    written when this function scored again). ``partition``: the survey's disclosure
    partition (``survey_partition(data, instrument, min_n)``) when the caller made it already
    for another view of the same data; made here otherwise.
    """
    min_n = privacy.check_min_n(min_n)
    return _readiness(data, _group_table(data, instrument, group, min_n, filters, partition), min_n)


def _readiness(data: pd.DataFrame, found: _Groups, min_n: int) -> ReadinessResult:
    """``readiness`` from its table of groups: the benchmark, the percentiles and the ICCs."""
    group, dims, table, cell, codes, n_by = found.group, found.dims, found.table, found.cell, found.codes, found.n_by
    keys = [c.key for c in dims]
    shown = table[~table["suppressed"]]
    bench_rows, pct_rows = [], []
    labels = {c.key: c.label for c in dims}
    for measure in ["index"] + keys:
        vals = shown[measure].dropna().to_numpy(dtype=float)
        q1, med, q3 = (np.percentile(vals, [25, 50, 75]) if len(vals) else (np.nan,) * 3)
        bench_rows.append({"measure": measure, "label": "Readiness index" if measure == "index" else labels[measure],
                           "n_groups": int(len(vals)), "q1": float(q1), "median": float(med), "q3": float(q3)})
        scores = table[measure].to_numpy(dtype=float)
        pct_rows.append(pd.DataFrame({"group": table["group"].to_numpy(), "measure": measure, "score": scores,
                                      "percentile": percentile_ranks(scores, vals)}))
    benchmark = pd.DataFrame(bench_rows)
    percentiles = pd.concat(pct_rows, ignore_index=True)

    icc_rows = []
    kept = cell & (n_by > 0)[np.where(codes >= 0, codes, 0)]  # the rows of the groups shown
    # the groups as aggregation.icc1_icc2 tells them apart: by their text labels
    text = _text_groups(data[group], table["group"], codes[kept])
    by_value = (np.count_nonzero(np.bincount(text)) == np.count_nonzero(np.bincount(codes[kept]))) if kept.any() else True
    for c in dims:
        try:
            if by_value:  # from the groups' statistics the table computed, and the rows it left out
                icc1, icc2, n_groups, n_obs = _icc_of_groups(found.scores[c.key], kept, codes, found.stats[c.key],
                                                             value=c.key, group=group)
            else:
                y = found.scores[c.key][kept]
                answered = ~np.isnan(y)
                icc1, icc2, n_groups, n_obs = _icc_by_code(y[answered], text[answered], value=c.key, group=group)
            icc_rows.append({"dimension": c.key, "label": c.label, "icc1": icc1, "icc2": icc2,
                             "n_groups": n_groups, "n_obs": n_obs})
        except InputError:
            icc_rows.append({"dimension": c.key, "label": c.label, "icc1": np.nan, "icc2": np.nan,
                             "n_groups": int(np.count_nonzero(np.bincount(codes[kept]))) if kept.any() else 0,
                             "n_obs": int((kept & ~np.isnan(found.scores[c.key])).sum())})
    return ReadinessResult(min_n=min_n, group_column=group, dimensions=keys, labels=labels, groups=table,
                           benchmark=benchmark, percentiles=percentiles, icc=pd.DataFrame(icc_rows),
                           filters=found.filters, _constructs={c.key: c for c in dims}, rows=found.index[cell])


def _text_groups(column: pd.Series, groups: pd.Series, codes: np.ndarray) -> np.ndarray:
    """The groups ``codes`` (positions in ``groups``, the distinct values of ``column``) as
    ``aggregation._label_codes`` tells them apart, by their text (whole-number floats without
    '.0'): two ids with the same text (1 and "1") are one group there."""
    from analysis.aggregation import _label_codes
    present = np.flatnonzero(np.bincount(codes, minlength=len(groups)))
    values = pd.Series(groups.to_numpy()[present], dtype=column.dtype)
    text = np.zeros(len(groups), dtype=np.int64)
    text[present] = _label_codes(values)[0]
    return text[codes]
