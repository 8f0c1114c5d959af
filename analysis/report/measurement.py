"""Data summary and measurement tables of one survey: reliability per scale and agreement
within the survey's first declared group.

Privacy (``analysis.privacy``): a survey answered by fewer people than the threshold shows
nothing; a scale's reliability is shown only when at least the threshold answered it; agreement
uses only whole blocks of the survey's disclosure partition inside one group (the ``aggregate``
command's rule), so no group smaller than the threshold enters an rwg(j) or ICC.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import formatting as fmt
from analysis import privacy
from analysis.instruments import TOPICS
from analysis.report.document import Figure, Section, Table

FAILURES = (ValueError, ArithmeticError, RuntimeError)  # InputError, LinAlgError, a failed fit


@dataclass
class SurveyData:
    """One survey of the study, prepared (``data`` None with ``error`` when it could not be)."""

    name: str
    title: str
    file: str
    data: pd.DataFrame | None
    instrument: Any  # analysis.instruments.Instrument, or None when the survey could not be read
    problems: list
    error: str = ""
    command: str = ""  # ``STUDY.yaml --survey NAME`` as the commands take it, when known


def first_group(instrument, data: pd.DataFrame) -> str | None:
    """The survey's first declared group column present in ``data`` (organisation first for the
    bundled public-servant instrument; a study's innermost group), or None."""
    for col in (getattr(instrument, "group_columns", None) or {}).values():
        if col in data.columns:
            return col
    return None


def topic_order(construct) -> tuple[int, int]:
    """Sort key: the research agenda's topics 1, 2, 3, then scales with no topic."""
    topic = int(getattr(construct, "topic", 0) or 0)
    return (topic if topic in TOPICS else len(TOPICS) + 1, 0)


def scales_of(survey: SurveyData) -> list:
    """The survey's scales present in its data, in the research agenda's order."""
    if survey.instrument is None or survey.data is None:
        return []
    present = [c for c in survey.instrument.constructs
               if sum(it.id in survey.data.columns for it in c.items) >= 2]
    return sorted(present, key=topic_order)  # stable: the instrument's order within a topic


def too_few(survey: SurveyData, min_n: int) -> bool:
    """True when fewer than ``min_n`` respondents are in the survey (nothing may be shown)."""
    return survey.data is None or len(survey.data) < min_n


def data_summary(survey: SurveyData, min_n: int) -> Section:
    """Respondents, scales, items and groups of one survey, with the data checks' findings."""
    section = Section(f"{survey.title}", level=3)
    if survey.data is None:
        section.missing.append(f"The data of this survey could not be read: {survey.error}")
        return section
    if too_few(survey, min_n):
        section.missing.append(f"Fewer than {min_n} respondents: nothing from this survey can be shown.")
        return section
    data, inst = survey.data, survey.instrument
    scales = scales_of(survey)
    items = sorted({it.id for c in scales for it in c.items if it.id in data.columns})
    rows = [["Data file", survey.file], ["Respondents", fmt.count(len(data))],
            ["Scales", fmt.count(len(scales))], ["Items in the scales", fmt.count(len(items))]]
    for role, col in (getattr(inst, "group_columns", None) or {}).items():
        if col not in data.columns:
            continue
        sizes = data[col].dropna().value_counts()
        shown = int((sizes >= min_n).sum())
        label = f"Groups: {role} ({col})" if role != col else f"Groups: {col}"
        rows.append([label, f"{fmt.count(len(sizes))}, of which {fmt.count(shown)} with at least {min_n} respondents"])
    counts: dict[str, int] = {}
    for p in survey.problems:
        counts[p.code] = counts.get(p.code, 0) + 1
    rows.append(["Data checks", "no problem found" if not counts else
                 "; ".join(f"{code.replace('_', ' ').lower()} ({fmt.count(k)})" for code, k in sorted(counts.items()))])
    section.tables.append(Table("Data summary", ["", "Value"], rows, numeric=[False, False],
                                note="Data checks as on the Data page (in brackets: the columns or rules each finding "
                                     "concerns), with the default choices: declared missing codes and answers out of "
                                     "range set to missing, respondents kept."))
    if not scales:
        section.missing.append("This survey has no scales (no construct with two or more items in the data): "
                               "there is no reliability, agreement or readiness to report. Add scales to the study "
                               "file, or map the items on the Data page.")
    return section


def _reliability_row(data: pd.DataFrame, construct):
    """``analysis.reliability.reliability`` of one scale, its reverse items and range from the instrument."""
    from analysis.reliability import reliability

    items = [it.id for it in construct.items if it.id in data.columns]
    rev = [it.id for it in construct.items if it.reverse and it.id in items]
    return reliability(data, items, reverse=rev, scale_min=construct.scale.min, scale_max=construct.scale.max)


def reliability_section(survey: SurveyData, min_n: int) -> Section:
    """Reliability of every scale (Cronbach's alpha with the Feldt interval, omega total),
    with the scale's mean and SD, in the research agenda's order."""
    section = Section(f"Reliability: {survey.title}", level=3)
    scales = scales_of(survey)
    if too_few(survey, min_n) or not scales:
        section.missing.append("No scale to report for this survey." if survey.data is not None
                               and not too_few(survey, min_n) else
                               f"Not shown: the survey could not be read or has fewer than {min_n} respondents.")
        return section
    assert survey.data is not None
    rows, plotted, low = [], [], []
    for c in scales:
        topic = str(int(c.topic)) if int(c.topic or 0) in TOPICS else ""
        try:
            r = _reliability_row(survey.data, c)
        except FAILURES as exc:
            rows.append([c.label, topic, fmt.count(len(c.items)), "", "", "", "", "", ""])
            section.missing.append(f"{c.label}: reliability could not be computed ({exc}).")
            continue
        if r.n < min_n:
            rows.append([c.label, topic, fmt.count(r.k), "", "", "", "", "", ""])
            section.missing.append(f"{c.label}: fewer than {min_n} respondents answered it; not shown.")
            continue
        rows.append([c.label, topic, fmt.count(r.k), fmt.count(r.n), fmt.cell(r.scale_mean), fmt.cell(r.scale_sd),
                     fmt.cell(r.alpha, bounded=True), fmt.ci_text(*r.alpha_ci, bounded=True),
                     fmt.cell(r.omega_total, bounded=True)])
        plotted.append((c.label, r.alpha, r.alpha_ci))
        finite = [v for v in (r.alpha, r.omega_total) if np.isfinite(v)]
        if finite and min(finite) < 0.70:
            low.append(c.label)
    if not plotted:
        return section  # every scale failed or was too small: the messages say why
    section.tables.append(Table(
        "Reliability of the scales", ["Scale", "Topic", "Items", "n", "M", "SD", "α", "95% CI", "ω total"],
        rows, numeric=[False, True, True, True, True, True, True, True, True],
        note="Topics of the research agenda: " + "; ".join(f"{k} {v.lower()}" for k, v in TOPICS.items())
             + ". α: Cronbach's alpha with the Feldt (1965) interval; ω total: McDonald's omega (psych::omega). "
             "M and SD of the respondents' mean item scores on the response scale; n: respondents with at least one "
             "answer (pairwise covariances)."))
    text = (f"{len(plotted) - len(low)} of {len(plotted)} scales reach the usual .70 for research scales (Nunnally "
            "1978) on both α and ω total")
    section.paragraphs.append(text + ("." if not low else f"; below it: {', '.join(low)}."))
    from analysis.report.charts import reliability_figure

    section.figures.append(Figure(f"reliability-{_slug(survey.name)}", reliability_figure(plotted),
                                  "Cronbach's alpha with its 95% interval; the line marks .70."))
    if survey.command:
        section.reproduce.append(f"python -m analysis reliability {survey.command} --scale NAME")
    return section


def agreement_section(survey: SurveyData, min_n: int) -> Section:
    """rwg(j) and ICC(1)/ICC(2) of every scale within the survey's first declared group,
    from whole blocks of at least ``min_n`` respondents inside one group."""
    from analysis.aggregation import aggregate
    from analysis.scoring import apply_reverse, numeric_items

    section = Section(f"Agreement within groups: {survey.title}", level=3)
    scales = scales_of(survey)
    if too_few(survey, min_n) or not scales:
        section.missing.append("No scale to report for this survey.")
        return section
    assert survey.data is not None
    group = first_group(survey.instrument, survey.data)
    if group is None:
        section.missing.append("The survey declares no group column (organisation, team, municipality): agreement "
                               "within groups needs one. Add groups: [COLUMN] to the survey in the study file.")
        return section
    section.title = f"Agreement within groups ({group}): {survey.title}"
    try:
        view = privacy.check_filter(survey.data, None, min_n, instrument=survey.instrument).data
    except FAILURES as exc:
        section.missing.append(f"No group can be shown: {exc}")
        return section
    rows = []
    for c in scales:
        items = [it.id for it in c.items if it.id in view.columns]
        options = int(c.scale.max - c.scale.min + 1)
        answered = numeric_items(view, items).notna().all(axis=1)
        keep = privacy.grouped_rows(view, group, min_n, instrument=survey.instrument, answered=answered)
        used = view.loc[keep, [group, *items]]
        if used.empty:
            rows.append([c.label, "", "", "", "", "", "", ""])
            section.missing.append(f"{c.label}: no group of {group} has {min_n} or more respondents answering every "
                                   "item; agreement not shown.")
            continue
        rev = [it.id for it in c.items if it.reverse and it.id in items]
        if rev:
            keyed = apply_reverse(numeric_items(used, items), rev, c.scale.min, c.scale.max)
            used = used.assign(**{col: keyed[col] for col in rev})
        try:
            res = aggregate(used, group, items, options)
        except FAILURES as exc:
            rows.append([c.label, "", "", "", "", "", "", ""])
            section.missing.append(f"{c.label}: agreement could not be computed ({exc}).")
            continue
        rwg = res.groups["rwg"]
        share = float((rwg >= 0.70).sum()) / max(int(rwg.notna().sum()), 1) if rwg.notna().any() else None
        rows.append([c.label, fmt.count(res.n_groups), fmt.count(res.n_obs), fmt.cell(res.rwg_mean, bounded=True),
                     fmt.cell(res.rwg_median, bounded=True), fmt.percent(share), fmt.cell(res.icc1, 3, bounded=True),
                     fmt.cell(res.icc2, bounded=True)])
    if not any(row[1] for row in rows):  # every group suppressed on every scale: one message, no empty table
        section.missing[:] = [f"No group of {group} has {min_n} or more respondents answering every item of a scale "
                              "(or each is pooled with such a group): agreement within groups cannot be shown."]
        return section
    section.tables.append(Table(
        f"Agreement within {group}", ["Scale", "Groups", "n", "Mean rwg(j)", "Median rwg(j)", "rwg(j) ≥ .70",
                                      "ICC(1)", "ICC(2)"], rows,
        note=f"rwg(j) with the uniform null (James, Demaree & Wolf 1984; multilevel::rwg.j); ICC(1) and ICC(2) of the "
             f"scale mean (Bliese 2000). Only groups with at least {min_n} respondents answering every item of the "
             f"scale (whole blocks of the survey's privacy partition) enter; n counts their respondents."))
    section.paragraphs.append(
        "Agreement of .70 or more within most groups and an ICC(2) of .70 or more support speaking of a group's "
        "mean as a shared view (aggregating to the group); an ICC(1) of .05 to .10 or more says the group matters.")
    if survey.command:
        section.reproduce.append(f"python -m analysis aggregate {survey.command} --group {group} --scale NAME"
                                 + _min_n_option(min_n))
    return section


def _min_n_option(min_n: int) -> str:
    """`` --min-n N`` when the report's threshold is not the commands' default."""
    return "" if min_n == privacy.DEFAULT_MIN_N else f" --min-n {min_n}"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text)).strip("-").lower() or "survey"
