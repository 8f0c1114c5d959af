"""The topic screens' tables for the study report (``analysis.topics``, whose privacy rule
applies: only whole blocks with at least the threshold's answers enter a number): the
distributions of topic 1 (knowledge, skills and attitudes), and for topic 3 the rankings of
barriers, enablers and challenges, of perceived outcomes, and benefits and challenges by the
four elements (data, interaction, tailoring, simplification)."""
from __future__ import annotations

import pandas as pd

from analysis import formatting as fmt
from analysis.report.document import Section, Table
from analysis.report.measurement import FAILURES, SurveyData, _min_n_option, too_few


def has_topic(survey: SurveyData, topic: int) -> bool:
    """Whether the survey has a scale of research topic ``topic`` (1: knowledge, skills and
    attitudes; 3: barriers, enablers, challenges, benefits and outcomes) in its data."""
    if survey.instrument is None or survey.data is None:
        return False
    words = ("barrier", "enabler", "challenge", "resist", "outcome", "benefit")
    for c in survey.instrument.constructs:
        if c.key not in survey.data.columns:
            continue
        if topic == 1 and str(c.topic) == "1":
            return True
        if topic == 3 and (c.element or any(w in (c.family or "").lower() or w in c.key for w in words)):
            return True
    return False


def _unavailable(section: Section, survey: SurveyData, min_n: int) -> bool:
    if too_few(survey, min_n) or survey.instrument is None:
        section.missing.append(f"Not shown: the survey could not be read or has fewer than {min_n} respondents.")
        return True
    return False


def topic_one_section(survey: SurveyData, min_n: int) -> Section:
    """Distribution of each topic-1 scale: n, mean, SD, median, quartiles, mean on 0-100."""
    from analysis import topics

    section = Section(f"Knowledge, skills and attitudes: {survey.title}", level=3)
    if _unavailable(section, survey, min_n):
        return section
    try:
        table = topics.distributions(survey.data, survey.instrument, None, min_n=min_n)
    except FAILURES as exc:
        section.missing.append(f"Not computed: {exc}")
        return section
    if table.empty:
        section.missing.append("The survey has no scale of research topic 1 (knowledge, skills and attitudes).")
        return section
    rows = []
    for r in table.to_dict("records"):
        if not r.get("n"):
            rows.append([r["label"], "", "", "", "", "", "", "too few respondents"])
            continue
        rows.append([r["label"], fmt.count(r["n"]), f"{fmt.cell(r['scale_min'], 0)}-{fmt.cell(r['scale_max'], 0)}",
                     fmt.cell(r["mean"]), fmt.cell(r["sd"]), fmt.cell(r["median"]),
                     fmt.ci_text(r["q1"], r["q3"]), fmt.cell(r["mean_0_100"], 0)])
    section.tables.append(Table(
        "Distribution of the scale scores", ["Scale", "n", "Range", "M", "SD", "Median", "Quartiles", "M (0-100)"],
        rows, note="Scale score: the mean of a respondent's answered items (reverse-worded ones turned round). "
                   "No minimum or maximum is given: each is one person's score."))
    top = table.dropna(subset=["mean_0_100"]).sort_values("mean_0_100", ascending=False)
    if len(top) >= 2:
        high, low = top.iloc[0], top.iloc[-1]
        section.paragraphs.append(f"Highest on average: {high['label']} ({fmt.cell(high['mean_0_100'], 0)} of 100); "
                                  f"lowest: {low['label']} ({fmt.cell(low['mean_0_100'], 0)} of 100).")
    if survey.command:
        section.reproduce.append(f"python -m analysis topics {survey.command} --section distributions"
                                 + _min_n_option(min_n))
    return section


def _ranked(table: pd.DataFrame, caption: str) -> Table:
    return Table(caption, ["Rank", "Scale", "n", "M", "95% CI", "M (0-100)", "Leaning to agree"],
                 [[fmt.count(r["rank"]), r["label"], fmt.count(r["n"]), fmt.cell(r["mean"]),
                   fmt.ci_text(r["ci_low"], r["ci_high"]), fmt.cell(r["mean_0_100"], 0), fmt.percent(r["agree_share"])]
                  for r in table.to_dict("records")],
                 numeric=[True, False, True, True, True, True, True],
                 note="Ranked by the mean on 0-100; 95% CI t-based; leaning to agree: share of respondents above the "
                      "middle of the response scale.")


def topic_three_section(survey: SurveyData, min_n: int) -> Section:
    """Barriers, enablers and challenges and perceived outcomes ranked; benefits and challenges by element."""
    from analysis import topics

    section = Section(f"Drivers, challenges and outcomes: {survey.title}", level=3)
    if _unavailable(section, survey, min_n):
        return section
    for build, what in ((topics.barriers_enablers, "Barriers, enablers and challenges"),
                        (topics.outcomes, "Perceived outcomes")):
        caption = f"{what}, ranked"
        try:
            table = build(survey.data, survey.instrument, min_n=min_n)
        except FAILURES as exc:
            section.missing.append(f"{caption}: not computed ({exc}).")
            continue
        if not table.empty:
            section.tables.append(_ranked(table, caption))
            first = table.iloc[0]
            section.paragraphs.append(f"{what}: most agreed with is {first['label']} "
                                      f"({fmt.percent(first['agree_share'])} leaning to agree).")
    try:
        elements = topics.benefits_challenges(survey.data, survey.instrument, min_n=min_n)
    except FAILURES:
        elements = pd.DataFrame()
    if not elements.empty:
        section.tables.append(Table(
            "Benefits and challenges by element", ["Element", "Kind", "Measure", "n", "M", "95% CI", "M (0-100)"],
            [[r["element"], r["kind"], r["label"], fmt.count(r["n"]), fmt.cell(r["mean"]),
              fmt.ci_text(r["ci_low"], r["ci_high"]), fmt.cell(r["mean_0_100"], 0)]
             for r in elements.to_dict("records")],
            numeric=[False, False, False, True, True, True, True],
            note="The four elements of digital co-production's benefits and challenges for public administrations "
                 "(data, interaction, tailoring, simplification); 95% CI t-based."))
    if not section.tables and not section.missing:
        section.missing.append("The survey has no barriers, enablers, challenges, outcomes or benefits scales.")
    return section
