"""The readiness results of a survey with readiness dimensions, for the study report:
benchmark over the organisations shown, each organisation's index with its CI and agreement,
and the ICCs of the dimensions (``analysis.readiness``, whose privacy rule applies: an
organisation with no whole block of at least the threshold shows no number at all)."""
from __future__ import annotations

import pandas as pd

from analysis import formatting as fmt
from analysis.report.document import Figure, Section, Table
from analysis.report.measurement import FAILURES, SurveyData, _min_n_option, _slug, too_few


def readiness_group(instrument, data: pd.DataFrame) -> str | None:
    """The organisation column: the instrument's ``organisation`` group, else its first group."""
    groups = getattr(instrument, "group_columns", None) or {}
    for col in [groups.get("organisation"), *groups.values()]:
        if col and col in data.columns:
            return col
    return None


def has_readiness(survey: SurveyData) -> bool:
    """True when the survey's instrument declares readiness dimensions whose items are in the data."""
    if survey.instrument is None or survey.data is None:
        return False
    cols = set(survey.data.columns)
    return any(any(it.id in cols for it in c.items) for c in survey.instrument.readiness_dimensions)


def compute(survey: SurveyData, min_n: int, group: str | None = None):
    """``analysis.readiness.readiness`` on the survey by ``group`` (default ``readiness_group``)."""
    from analysis.errors import InputError
    from analysis.readiness import readiness

    assert survey.data is not None
    group = group or readiness_group(survey.instrument, survey.data)
    if group is None:
        raise InputError("the survey declares no organisation column", hint="add groups: [COLUMN] to the survey")
    return readiness(survey.data, survey.instrument, group, min_n=min_n, min_share=0.5)


def readiness_section(survey: SurveyData, min_n: int) -> Section:
    """Readiness index and dimensions by organisation, with the benchmark and ICCs."""
    section = Section(f"Organisational readiness: {survey.title}", level=3)
    if too_few(survey, min_n):
        section.missing.append(f"Not shown: fewer than {min_n} respondents.")
        return section
    try:
        result = compute(survey, min_n)
    except FAILURES as exc:
        section.missing.append(f"Readiness could not be computed: {exc}")
        return section
    groups = result.groups
    shown = groups[~groups["suppressed"].astype(bool)]
    col = result.group_column
    section.title = f"Organisational readiness by {col}: {survey.title}"
    if shown.empty:
        section.missing.append(f"Every group of {col} has fewer than {min_n} respondents (or is pooled with such a "
                               "group): no readiness score can be shown.")
        return section
    bench = result.benchmark.set_index("measure")
    med = bench.loc["index", "median"]
    section.paragraphs.append(
        f"{len(shown)} of {len(groups)} groups of {col} can be shown (at least {min_n} respondents in whole blocks of "
        f"the privacy partition). Their median readiness index is {fmt.cell(med, 0)} out of 100 "
        f"(quartiles {fmt.cell(bench.loc['index', 'q1'], 0)} and {fmt.cell(bench.loc['index', 'q3'], 0)}); "
        f"{int(shown['low_agreement'].fillna(False).astype(bool).sum())} of them have rwg(j) below .70, "
        "so their staff do not share one view and their mean speaks for no one in particular.")
    section.tables.append(Table(
        "Benchmark over the groups shown", ["Measure", "Groups", "Q1", "Median", "Q3"],
        [[r.label, fmt.count(r.n_groups), fmt.cell(r.q1, 1), fmt.cell(r.median, 1), fmt.cell(r.q3, 1)]
         for r in result.benchmark.itertuples()],
        note="Scores on 0-100 ((score - scale minimum) / (scale maximum - scale minimum) x 100); quartiles as R's "
             "quantile(type = 7)."))
    rows = []
    for r in groups.itertuples():
        if bool(r.suppressed):
            rows.append([str(r.group), "", "not shown", "", "", ""])
            continue
        rows.append([str(r.group), fmt.count(r.n), fmt.cell(r.index, 1),
                     fmt.ci_text(r.index_ci_low, r.index_ci_high, 1),
                     fmt.cell(r.rwg, bounded=True), "" if r.low_agreement is None else
                     ("below .70" if r.low_agreement else "shared view")])
    section.tables.append(Table(
        f"Readiness index by {col}", [col, "n", "Index", "95% CI", "rwg(j)", "Agreement"], rows,
        note=f"'not shown': fewer than {min_n} respondents, or pooled with such a group so that it could be worked "
             "out; such groups have no number anywhere in this report. CI: t-based over the respondents."))
    section.tables.append(Table(
        "Dimensions: between-group variance", ["Dimension", "ICC(1)", "ICC(2)", "Groups", "n"],
        [[r.label, fmt.cell(r.icc1, 3, bounded=True), fmt.cell(r.icc2, bounded=True), fmt.count(r.n_groups),
          fmt.count(r.n_obs)] for r in result.icc.itertuples()],
        note="ICC(1) and ICC(2) over the groups shown (Bliese 2000; multilevel::ICC1, ICC2)."))
    from analysis.report.charts import readiness_figure

    section.figures.append(Figure(f"readiness-{_slug(survey.name)}", readiness_figure(result),
                                  "Readiness index of each group shown, with its 95% CI; the line marks the median."))
    if survey.command:
        section.reproduce.append(f"python -m analysis readiness {survey.command} --group {col}" + _min_n_option(min_n))
    return section
