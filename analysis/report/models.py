"""The research agenda's multilevel models, as the topic screens fit them (``analysis.topics``
builds the model and its data, ``analysis.mixed.fit`` fits it): the engagement model of the
public servants (topic 2: readiness within and between organisations) and the digital
participation model of the citizens (topic 3: broadening or deepening).

A model that cannot be fitted, or a survey it does not apply to, gives a section saying so.
Privacy: the engagement model leaves out small organisations (``privacy.grouped_rows``);
a coefficient of a category with fewer respondents than the threshold is not shown.
"""
from __future__ import annotations

import pandas as pd

from analysis import formatting as fmt
from analysis.report.document import Section, Table
from analysis.report.measurement import FAILURES, SurveyData, too_few


def applies(survey: SurveyData, kind: str) -> bool:
    """Whether the survey has what the model needs: readiness dimensions and an engagement scale
    (``engagement``), or the citizens' participation channels (``participation``)."""
    inst = survey.instrument
    if inst is None or survey.data is None:
        return False
    if kind == "engagement":
        return bool(inst.readiness_dimensions) and any(c.family == "engagement" for c in inst.constructs)
    return any(getattr(c, "channel", None) == "digital" for c in inst.constructs) and str(
        getattr(inst, "respondent", "")).lower() == "citizen"


def _small_terms(data: pd.DataFrame, min_n: int) -> dict[str, int]:
    """Fixed-effect term names of categories held by fewer than ``min_n`` rows (R's names:
    column then level, e.g. ``genderOther``)."""
    small = {}
    for col in data.columns:
        if pd.api.types.is_numeric_dtype(data[col]):
            continue
        for level, n in data[col].astype(str).value_counts().items():
            if n < min_n:
                small[f"{col}{level}"] = int(n)
    return small


def model_section(survey: SurveyData, kind: str, min_n: int) -> Section:
    """Fit the agenda's ``kind`` model ('engagement' or 'participation') on ``survey``."""
    from analysis import topics
    from analysis.mixed import fit

    name = "Engagement and readiness" if kind == "engagement" else "Digital and offline participation"
    section = Section(f"Model: {name.lower()} ({survey.title})", level=3)
    if too_few(survey, min_n):
        section.missing.append(f"Not fitted: fewer than {min_n} respondents.")
        return section
    try:
        if kind == "engagement":
            group = next(iter((survey.instrument.group_columns or {}).values()), "org_id")
            spec = topics.engagement_model(survey.data, survey.instrument, group=group, min_n=min_n)
        else:
            group = next(iter((survey.instrument.group_columns or {}).values()), "municipality_id")
            spec = topics.digital_participation_model(survey.data, survey.instrument, group=group)
        if len(spec.data) < min_n:
            raise ValueError(f"fewer than {min_n} respondents have every variable of the model")
        result = fit(spec.formula, spec.data, family=spec.family)
    except FAILURES as exc:
        section.missing.append(f"The model could not be fitted: {exc}")
        return section
    small = _small_terms(spec.data, min_n)
    logistic = spec.family == "binomial"
    rows, clear = [], []
    for r in result.fixed_table().itertuples():
        term = str(r.term)
        if term in small:
            rows.append([term, "", "", "", "", "", "not shown: fewer than the threshold in this category"])
            continue
        if logistic:
            rows.append([term, fmt.cell(r.estimate, 3), fmt.cell(r.se, 3), fmt.cell(getattr(r, "z", None), 2),
                         fmt.p_cell(r.p), fmt.cell(getattr(r, "odds_ratio", None), 2),
                         fmt.ci_text(getattr(r, "or_ci_low", None), getattr(r, "or_ci_high", None), 2)])
        else:
            rows.append([term, fmt.cell(r.estimate, 3), fmt.cell(r.se, 3), fmt.cell(getattr(r, "df", None), 1),
                         fmt.cell(getattr(r, "t", None), 2), fmt.p_cell(r.p), fmt.ci_text(r.ci_low, r.ci_high, 3)])
        if term != "(Intercept)" and not fmt.is_blank(r.ci_low) and (r.ci_low > 0 or r.ci_high < 0):
            clear.append(f"{term} ({'higher' if r.estimate > 0 else 'lower'} {'odds' if logistic else 'outcome'}, "
                         f"{fmt.p_text(r.p)})")
    n_groups = next(iter(result.groups.values()), 0)
    section.paragraphs.append(spec.note)
    section.paragraphs.append("Predictors whose 95% CI excludes zero: " + ("; ".join(clear) if clear else "none")
                              + ". Each estimate holds the model's other predictors constant.")
    columns = (["Term", "Estimate (log-odds)", "SE", "z", "p", "Odds ratio", "95% CI of the odds ratio"] if logistic
               else ["Term", "Estimate", "SE", "df", "t", "p", "95% CI"])
    section.tables.append(Table(
        f"Fixed effects: {spec.formula}", columns, rows,
        note=(f"n = {fmt.count(result.n_obs)} respondents in {fmt.count(n_groups)} groups. "
              + ("Multilevel logistic model (lme4::glmer, Laplace); Wald z tests. " if logistic else
                 "REML fit with Satterthwaite df (lmerTest::lmer). ")
              + (f"ICC = {fmt.cell(result.icc, 2, bounded=True)}. " if result.icc is not None else "")
              + ("The fit did not converge: read the estimates with care. " if not result.converged else "")
              + ("The random-effect variance is estimated at zero (singular fit). " if result.singular else ""))))
    return section
