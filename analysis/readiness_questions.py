"""Per-question results of the readiness items: share favourable, neutral and unfavourable.

Definitions (used by the page, the command and the tests):

* **Favourable / neutral / unfavourable** (UK Civil Service People Survey convention, Cabinet
  Office 2023, *People Survey technical guide*; FEVS "percent positive", OPM 2023): on an item
  answered from ``min`` to ``max``, the top two boxes (``>= max - 1``) are favourable, the
  bottom two (``<= min + 1``) unfavourable and the rest neutral. A reverse-keyed item
  ("procedures are too rigid") is turned round first (``min + max - answer``), so favourable
  always means favourable to readiness. Shares are percentages of the group's respondents
  who answered the item (missing answers left out), so the three add up to 100.
* **Benchmark** (People Survey convention): the median over the comparator organisations of
  their shares (R ``median``), each organisation counting once whatever its size; comparators
  are all organisations whose share can be shown, or those of the same type
  (``benchmark_by``). The **difference** is the organisation's favourable share minus the
  benchmark's, in percentage points.
* **Privacy** (``analysis.privacy``): a group's share of an item uses only the whole blocks of
  the survey's disclosure partition inside the filters and the group, each with at least
  ``min_n`` answers to the item (as the readiness dimensions do); a group with none shows
  nothing for the item, not even its count, and is left out of the benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError

SHARES = ("favourable", "neutral", "unfavourable")
ALL = "all organisations"


def classify(answers: pd.Series, scale_min: float, scale_max: float, reverse: bool = False) -> pd.Series:
    """Each answer as 'favourable', 'neutral' or 'unfavourable' (missing stays missing).

    Parameters
    ----------
    answers : numeric answers on ``scale_min..scale_max``.
    scale_min, scale_max : the item's response range.
    reverse : whether the item is negatively worded (turned round before classifying).

    Returns
    -------
    pandas.Series of str (object), aligned with ``answers``: top two boxes favourable, bottom
    two unfavourable, the middle neutral (People Survey convention).
    """
    x = pd.to_numeric(answers, errors="coerce")
    if reverse:
        x = scale_min + scale_max - x
    out = pd.Series(np.where(x >= scale_max - 1, "favourable",
                             np.where(x <= scale_min + 1, "unfavourable", "neutral")), index=x.index, dtype=object)
    return out.where(x.notna())


@dataclass
class QuestionResults:
    """Per-item shares per group and the benchmarks.

    ``groups``: one row per group and item with ``group, dimension, item, n, favourable,
    neutral, unfavourable, suppressed`` (shares in %, missing when suppressed).
    ``benchmarks``: one row per comparator set and item with ``comparator, item, n_groups``
    and the median shares. ``comparators``: group -> its comparator set (``ALL`` or a type).
    ``items``: one row per item with ``dimension, label, item, text, reverse, scale_min,
    scale_max``.
    """
    min_n: int
    group_column: str
    items: pd.DataFrame
    groups: pd.DataFrame
    benchmarks: pd.DataFrame
    comparators: dict = field(default_factory=dict)
    definition: str = ""

    def for_group(self, group_id) -> pd.DataFrame:
        """The group's row per item beside its benchmark: ``dimension, label, item, text, n,
        favourable, neutral, unfavourable, comparator, n_groups, benchmark_favourable,
        benchmark_neutral, benchmark_unfavourable, difference`` (percentage points)."""
        mine = self.groups[self.groups["group"].astype(str) == str(group_id)]
        if mine.empty:
            raise InputError(f"no group '{group_id}' in the data", column=self.group_column,
                             hint="pick one of the groups listed in the readiness table")
        comparator = self.comparators.get(mine["group"].iloc[0], ALL)
        bench = self.benchmarks[self.benchmarks["comparator"].astype(str) == str(comparator)]
        bench = bench.set_index("item")[["n_groups", *SHARES]].add_prefix("benchmark_").rename(
            columns={"benchmark_n_groups": "n_groups"})
        out = self.items[["dimension", "label", "item", "text"]].merge(
            mine[["item", "n", *SHARES]], on="item", how="left").join(bench, on="item")
        out.insert(out.columns.get_loc("n_groups"), "comparator", comparator)
        out["difference"] = out["favourable"] - out["benchmark_favourable"]
        return out.reset_index(drop=True)

    def to_dict(self) -> dict:
        return {"min_n": self.min_n, "group_column": self.group_column, "definition": self.definition,
                "items": self.items, "groups": self.groups, "benchmarks": self.benchmarks,
                "comparators": {str(k): v for k, v in self.comparators.items()}}


DEFINITION = ("Favourable = one of the top two answers of the question's scale (e.g. 4 or 5 on 1-5), "
              "unfavourable = one of the bottom two, neutral = the middle; negatively worded questions are "
              "turned round first (UK Civil Service People Survey convention). Shares are of the people who "
              "answered the question. The benchmark is the median share of the comparator organisations "
              "(People Survey convention); the difference is in percentage points.")


def _kinds(answers: pd.Series, scale_min: float, scale_max: float, reverse: bool = False) -> np.ndarray:
    """``classify`` as codes: 0 favourable, 1 neutral, 2 unfavourable (the order of
    ``SHARES``), -1 missing (small integers, set by masks: no nested ``np.where``)."""
    if isinstance(answers, pd.Series) and answers.dtype == np.float64:
        x = answers.to_numpy()
    else:
        x = pd.to_numeric(answers, errors="coerce").to_numpy(dtype=float)
    if reverse:
        x = scale_min + scale_max - x
    with np.errstate(invalid="ignore"):
        favourable, unfavourable = x >= scale_max - 1, x <= scale_min + 1
    if scale_max - 1 <= scale_min + 1:  # a short scale: an answer can be both; favourable first
        unfavourable &= ~favourable
    # 1 (neutral), plus one when unfavourable, less one when favourable; -1 when missing
    kind = 1 + unfavourable.view(np.int8) - favourable.view(np.int8)
    missing = np.isnan(x)
    if missing.any():
        kind[missing] = -1
    return kind


def _medians(shown: pd.DataFrame, by: list, name) -> dict:
    """``name(group key) -> (number of rows, median of each share)`` of ``shown`` grouped by
    ``by`` (R ``median``: the middle value, or the mean of the two middle ones)."""
    grouped = shown.groupby(by, sort=False)
    medians = grouped[list(SHARES)].median()
    sizes = grouped.size()
    return {name(key): (int(sizes[key]), medians.loc[key]) for key in medians.index}


def question_results(data: pd.DataFrame, instrument, group: str = "org_id", *, min_n: int = privacy.DEFAULT_MIN_N,
                     filters: Mapping | None = None, benchmark_by: Mapping | None = None,
                     partition: privacy.Partition | None = None) -> QuestionResults:
    """Share favourable, neutral and unfavourable of every readiness item per group, with the
    benchmark (see the module docstring for every definition).

    Parameters
    ----------
    data : the survey with item columns named by the instrument's item ids (the whole survey:
        the disclosure partition is built on it).
    instrument : the ``Instrument`` whose readiness dimensions give the items.
    group : the group column (e.g. ``org_id``) or a key of ``instrument.group_columns``.
    min_n : the privacy threshold (``analysis.privacy.effective_min_n`` applied by the caller).
    filters : column -> values kept, checked by ``analysis.privacy.check_filter``.
    benchmark_by : group -> comparator set (e.g. the organisation's type); ``None`` compares
        every group with all groups.
    partition : the survey's disclosure partition (``analysis.readiness.survey_partition``)
        when the caller made it already; made here otherwise.

    Returns
    -------
    QuestionResults
    """
    return _question_results(data, instrument, group, min_n=min_n, filters=filters, benchmark_by=benchmark_by,
                             partition=partition)


def _question_results(data: pd.DataFrame, instrument, group: str, *, min_n: int, filters: Mapping | None,
                      benchmark_by: Mapping | None, partition: privacy.Partition | None,
                      shared=None) -> QuestionResults:
    """``question_results``; ``shared``: the arrays the views of ``data`` computed together
    share (``analysis.readiness._Shared``)."""
    from analysis.readiness import _contributors, _Shared, _view_rows, dimensions_in, resolve_group

    shared = shared if shared is not None else _Shared(data)
    min_n = privacy.check_min_n(min_n)
    group = resolve_group(data, instrument, group)
    dims = dimensions_in(data, instrument)
    cleaned = data  # the pipeline's frame: missing codes and answers off the scale already cleared
    item_rows = []
    for c in dims:
        for it in c.items:
            if it.id in cleaned.columns:
                scale = it.scale or c.scale
                item_rows.append({"dimension": c.key, "label": c.label, "item": it.id, "text": it.text,
                                  "reverse": bool(it.reverse), "scale_min": scale.min, "scale_max": scale.max})
    items = pd.DataFrame(item_rows)
    ids = items["item"].tolist()
    grouping = shared.grouping(group)
    all_groups, codes = grouping.labels, grouping.codes
    answered = {i: ~np.isnan(cleaned[i].to_numpy()) if cleaned[i].dtype == np.float64
                else cleaned[i].notna().to_numpy() for i in ids}
    counted = np.zeros(len(cleaned), dtype=bool)
    for i in ids:
        counted |= answered[i]
    counted &= codes >= 0
    # privacy.check_filter's rows, and privacy.group_cells' blocks found once
    in_view, part, _ = _view_rows(cleaned, instrument, [group, *ids], filters, min_n, partition)
    contributors = _contributors(part.block, shared.usable(group, in_view, part, min_n), min_n)
    cell = contributors(counted)
    n_groups = len(all_groups)
    index = pd.Index(all_groups, name="group")
    # one count per group and kind of answer for every item: the row's key is 3 * group + kind,
    # rows not used go to one key past the others
    slot = np.where(codes >= 0, 3 * codes, 3 * n_groups)
    counts = np.empty((len(items), n_groups, 3), dtype=np.int64)
    for j, spec in enumerate(items.itertuples()):
        use = contributors(answered[spec.item] & cell)
        kind = _kinds(cleaned[spec.item], spec.scale_min, spec.scale_max, spec.reverse)
        if cleaned[spec.item].dtype != np.float64:  # an answer that is no number: no kind (-1)
            use &= kind >= 0
        key = np.where(use, slot + kind, 3 * n_groups)
        counts[j] = np.bincount(key, minlength=3 * n_groups + 1)[:3 * n_groups].reshape(-1, 3)
    n = counts.sum(axis=2).reshape(-1)
    shown = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):  # no answers: missing, as a crosstab reindexed
        shares = {share: np.where(shown, counts[:, :, j].reshape(-1) / n * 100.0, np.nan)
                  for j, share in enumerate(SHARES)}
    # the per-item tables one under the other: group, dimension, item, n, the shares, suppressed
    groups = pd.DataFrame({"group": index.take(np.tile(np.arange(n_groups), len(items))),
                           "dimension": pd.Series(np.repeat(items["dimension"].to_numpy(), n_groups), dtype=str),
                           "item": pd.Series(np.repeat(items["item"].to_numpy(), n_groups), dtype=str),
                           "n": np.where(shown, n, np.nan), **shares})
    groups["suppressed"] = ~shown
    # the counts as a column made from whole numbers and None would be: whole numbers when
    # nothing is suppressed, None when everything is, else floats (missing when suppressed)
    if not shown.any():
        groups["n"] = np.full(len(n), None, dtype=object)
    elif shown.all():
        groups["n"] = n
    groups.columns.name = None

    comparators = {g: (ALL if benchmark_by is None or pd.isna(benchmark_by.get(g, np.nan)) else benchmark_by.get(g))
                   for g in all_groups}
    shown = groups[shown]
    typed = [k for k in dict.fromkeys(comparators.values()) if k != ALL]
    # every comparator set's medians per item from one group-by (a type's set: the groups of
    # that type; all organisations: every group), not a filter per set and item
    found = _medians(shown, [shown["item"]], lambda key: (ALL, key))
    if typed:
        member_of = shown["group"].map(comparators)
        part = shown[(member_of != ALL).to_numpy()]
        found.update(_medians(part, [member_of[part.index], part["item"]], lambda key: key))
    bench_rows = []
    for name in [ALL, *typed]:
        for item in ids:
            n_groups, medians = found.get((name, item), (0, None))
            bench_rows.append({"comparator": name, "item": item, "n_groups": n_groups,
                               **{s: float(medians[s]) if n_groups else float("nan") for s in SHARES}})
    return QuestionResults(min_n=min_n, group_column=group, items=items, groups=groups,
                           benchmarks=pd.DataFrame(bench_rows), comparators=comparators, definition=DEFINITION)
