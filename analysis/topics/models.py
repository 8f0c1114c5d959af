"""The topic screens' multilevel models, on the Models page's table and in its names
(``analysis.model_data``: ``c_x`` grand-mean centred, ``cwc_x`` centred within cluster,
``c_gm_x`` the centred group mean; Enders & Tofighi 2007).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis import privacy
from analysis.errors import InputError
from analysis.readiness import resolve_group
from analysis.readiness_index import INDEX, readiness_dimensions, respondent_index
from analysis.topics.participation import participation


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
    # a background the view holds one value of (a filter on it) says nothing and breaks R's contrasts
    terms += [v for v in ("gender", "education", "area") if v in table.columns and table[v].nunique() > 1]
    terms += [f"c_{c.key}" for c in instrument.constructs if c.family == "skills" and c.key in table.columns]
    return terms


def _spec_frame(table: pd.DataFrame, formula: str) -> pd.DataFrame:
    """The formula's columns of the model table (centred predictors added by
    ``analysis.model_data.with_derived``, as on the Models page), rows with a missing value dropped;
    the rows keep the survey's index, so a script can leave out the same respondents."""
    from analysis.mixed.formula import parse_formula
    from analysis.model_data import with_derived

    frame, _ = with_derived(table, formula)
    used = set(parse_formula(formula).variables)
    return frame[[n for n in frame.columns if n in used]].dropna()


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
