"""The practitioners' view in one call: readiness, per-question results, names and types,
the chosen benchmark and an optional breakdown, as the page shows them and the command prints.

``benchmark='type'`` compares each organisation with the organisations of its own type
(``analysis.organisations``) instead of all, ``benchmark='parent'`` with those under the same
parent (the units of one department): the median and quartiles of the dimension scores
(R ``quantile(type = 7)``) and the mid-rank percentiles (Crocker & Algina 1986) are taken over
the shown organisations of that type, as ``analysis.readiness`` does over all of them; the
per-question benchmark is the median share of the same organisations (People Survey
convention, ``analysis.readiness_questions``). Only already-published group values enter, so
the benchmark adds nothing the threshold forbids.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError
from analysis.organisations import Organisations, organisations
from analysis.readiness import ReadinessResult, _group_table, _readiness, _Shared, percentile_ranks
from analysis.readiness_breakdown import Breakdown, _breakdown
from analysis.readiness_questions import ALL, QuestionResults, _question_results
from analysis.readiness_waves import WAVE, WaveChanges, wave_changes

BENCHMARKS = ("all", "type", "parent")


def type_benchmark(result: ReadinessResult, comparators: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Benchmark rows (``comparator, measure, n_groups, q1, median, q3``) and percentiles
    (``group, comparator, measure, score, percentile``) within each comparator set.

    Parameters
    ----------
    result : the readiness of every group.
    comparators : group -> comparator set (a type, or ``ALL``).
    """
    shown = result.groups[~result.groups["suppressed"]]
    bench, pct = [], []
    sets: dict = {}  # comparator -> its groups, in one pass (not a pass over every group per set)
    for g, v in comparators.items():
        sets.setdefault(v, []).append(g)
    for name, members in sets.items():
        mine = shown[shown["group"].isin(members)]
        every = result.groups[result.groups["group"].isin(members)]
        for measure in ["index", *result.dimensions]:
            vals = mine[measure].dropna().to_numpy(dtype=float)
            q1, med, q3 = np.percentile(vals, [25, 50, 75]) if len(vals) else (np.nan,) * 3
            bench.append({"comparator": name, "measure": measure, "n_groups": int(len(vals)),
                          "q1": float(q1), "median": float(med), "q3": float(q3)})
            scores = every[measure].to_numpy(dtype=float)
            pct.append(pd.DataFrame({"group": every["group"].to_numpy(), "comparator": name, "measure": measure,
                                     "score": scores, "percentile": percentile_ranks(scores, vals)}))
    return pd.DataFrame(bench), pd.concat(pct, ignore_index=True) if pct else pd.DataFrame()


@dataclass
class PractitionersView:
    """Everything the readiness page shows. ``readiness`` keeps its own all-organisations
    benchmark; ``benchmark``/``percentiles`` are those of the chosen comparison."""
    readiness: ReadinessResult
    questions: QuestionResults
    organisations: Organisations
    comparison: str
    benchmark: pd.DataFrame
    percentiles: pd.DataFrame
    breakdown: Breakdown | None = None
    waves: WaveChanges | None = None

    def comparator(self, group_id):
        return self.questions.comparators.get(self._group(group_id), ALL)

    def _group(self, group_id):
        for g in self.readiness.groups["group"]:
            if str(g) == str(group_id):
                return g
        raise InputError(f"no group '{group_id}' in the data", column=self.readiness.group_column)

    def benchmark_for(self, group_id) -> pd.DataFrame:
        """The benchmark rows (one per measure) the group is compared with."""
        name = self.comparator(group_id)
        return self.benchmark[self.benchmark["comparator"].astype(str) == str(name)].reset_index(drop=True)

    def percentiles_for(self, group_id) -> pd.DataFrame:
        g = self._group(group_id)
        return self.percentiles[self.percentiles["group"] == g].reset_index(drop=True)

    def to_dict(self) -> dict:
        out = self.readiness.to_dict()
        out.update({"comparison": self.comparison, "comparison_benchmark": self.benchmark,
                    "comparison_percentiles": self.percentiles, "organisations": self.organisations.to_dict(),
                    "questions": self.questions.to_dict(),
                    "breakdown": None if self.breakdown is None else self.breakdown.to_dict(),
                    "waves": None if self.waves is None else self.waves.to_dict()})
        return out


def practitioners_view(data: pd.DataFrame, instrument, group: str = "org_id", *,
                       min_n: int = privacy.DEFAULT_MIN_N, filters: dict | None = None,
                       comparison: str = "all", by: str | None = None, lookup: pd.DataFrame | None = None,
                       lookup_file: str = "lookup file", wave=None, wave_column: str = WAVE) -> PractitionersView:
    """Readiness, per-question results, names/types, benchmark and breakdown of every group.

    Parameters
    ----------
    data, instrument, group, min_n, filters : as for ``analysis.readiness.readiness`` (``data``
        the pipeline's scored frame).
    comparison : ``'all'`` (every organisation), ``'type'`` (organisations of the same type) or
        ``'parent'`` (organisations under the same parent).
    by : a demographic to break every organisation down by (``analysis.readiness_breakdown``).
    lookup : a lookup of names and types (``analysis.organisations.read_lookup``).
    lookup_file : the lookup's file name, for messages.
    wave : with a ``wave_column`` in the data, the wave shown (default the last); everything
        above is of that wave's respondents, and ``waves`` holds the change since the wave
        before (``analysis.readiness_waves``).
    wave_column : the column saying which wave each respondent answered.
    """
    if comparison not in BENCHMARKS:
        raise InputError(f"unknown benchmark '{comparison}'", hint="use all, type or parent")
    if by is not None and filters:
        raise InputError("a breakdown is of whole organisations: it cannot be combined with filters",
                         hint="drop --where, or drop --by")
    changes = None
    if wave_column in data.columns:
        changes = wave_changes(data, instrument, group, column=wave_column, current=wave, min_n=min_n)
        data = data[data[wave_column] == changes.current]
    elif wave is not None:
        raise InputError("the data have no wave column", column=wave_column,
                         hint="add a column saying which survey wave each respondent answered")
    min_n = privacy.check_min_n(min_n)
    shared = _Shared(data)  # the scores, the groups, the usable blocks, the disclosure columns' codes
    partition = privacy._partition_for(data, *shared.disclosure(instrument), min_n)  # survey_partition, once
    result = _readiness(data, _group_table(data, instrument, group, min_n, filters, partition, shared=shared), min_n)
    group = result.group_column
    orgs = organisations(data, group, instrument=instrument, lookup=lookup, lookup_file=lookup_file)
    types = None
    if comparison == "type":
        if not orgs.has_types:
            raise InputError("the organisations have no type to compare with",
                             hint=f"add a {group.removesuffix('_id')}_type column or a lookup file with a type column")
        types = orgs.types()
    elif comparison == "parent":
        if not orgs.has_parents:
            raise InputError("the organisations have no parent to compare within",
                             hint="add a parent column to the lookup file (the id of the unit each belongs to)")
        types = orgs.parents()
    questions = _question_results(data, instrument, group, min_n=result.min_n, filters=filters, benchmark_by=types,
                                  partition=partition, shared=shared)
    comparators = questions.comparators  # group -> its type, or ALL (no type, or comparison 'all')
    bench, pct = type_benchmark(result, {g: ALL for g in comparators})
    if types is not None:
        by_type = {g: v for g, v in comparators.items() if v != ALL}
        type_b, type_p = type_benchmark(result, by_type)
        bench = pd.concat([type_b, bench], ignore_index=True)  # ALL kept for the groups without a type
        pct = pd.concat([type_p, pct[~pct["group"].isin(list(by_type))]], ignore_index=True)
    split = None if by is None else _breakdown(data, instrument, by, group, min_n=result.min_n, partition=partition,
                                               shared=shared)
    return PractitionersView(readiness=result, questions=questions, organisations=orgs, comparison=comparison,
                             benchmark=bench, percentiles=pct, breakdown=split, waves=changes)
