"""Analyses behind the three research-topic screens, each returning tidy tables with a plain reading.

One family per module: ``views`` (the filtered views and filters as text), ``descriptives``
(score distributions), ``compare`` (group and survey comparisons with effect sizes),
``correlations``, ``participation`` (digital divide, broaden or deepen), ``rankings``
(barriers, outcomes, benefits), ``models`` (the topic screens' multilevel models) and
``linking`` (the two surveys linked), ``organisations`` (the resources screen's organisation
means and agreement). This package re-exports their public names, so
``from analysis import topics; topics.compare_groups(...)`` is the way to call them.

Topic 1 (knowledge, skills, attitudes): ``describe_constructs``, ``compare_surveys``,
``compare_groups``, ``correlations``. Topic 2 (strategic resources): ``analysis.readiness``
and ``engagement_model``.
Topic 3 (antecedents, drivers, challenges, outcomes): ``digital_divide``,
``broaden_deepen``, ``digital_participation_model``, ``barriers_enablers``,
``benefits_challenges``, ``outcomes``. Linking the surveys:
``link_readiness_to_municipalities``. Every screen filters with ``apply_filters``, which
enforces ``analysis.privacy`` (min-n, difference attacks, protected small groups).

Every function takes the pipeline's scored frame (``analysis.pipeline.prepare``: missing
codes cleared, one reverse-keyed scale score per construct) and never cleans or scores
again; constructs are found through the instrument (``family``, ``channel``, ``kind``,
``element``, ``shared_key``), never by item id. The readiness index is
``analysis.readiness_index``'s; the models name their derived predictors as the Models page
does (``c_x`` grand-mean centred, ``cwc_x`` centred within cluster, ``c_gm_x`` centred group
mean: ``analysis.model_data.with_derived``).
"""
from __future__ import annotations

from analysis.derived import AGE_BREAKS, age_bands
from analysis.topics.compare import GroupComparison, compare_groups, compare_surveys
from analysis.topics.correlations import correlation_masks, correlation_rows, correlations
from analysis.topics.descriptives import describe_constructs, distributions
from analysis.topics.linking import (LinkResult, MunicipalityReadiness, link_readiness_to_municipalities,
                                     municipality_readiness)
from analysis.topics.models import ModelSpec, digital_participation_model, engagement_model
from analysis.topics.organisations import dimension_agreement, organisation_means
from analysis.topics.participation import (
                                           PATTERNS,
                                           BroadenDeepen,
                                           _channel_construct,
                                           broaden_deepen,
                                           digital_divide,
                                           participation,
)
from analysis.topics.rankings import barriers_enablers, benefits_challenges, outcomes, rank_constructs
from analysis.topics.views import apply_filters, parse_where, published, topic_one_keys

__all__ = [
    "AGE_BREAKS", "age_bands",  # their home is analysis.derived
    "GroupComparison", "compare_groups", "compare_surveys", "correlations", "describe_constructs", "distributions",
    "LinkResult", "MunicipalityReadiness", "link_readiness_to_municipalities",
    "municipality_readiness", "ModelSpec", "digital_participation_model",
    "engagement_model", "PATTERNS", "BroadenDeepen", "_channel_construct", "broaden_deepen", "digital_divide",
    "participation", "barriers_enablers", "benefits_challenges", "outcomes", "rank_constructs", "apply_filters",
    "parse_where", "published", "topic_one_keys", "dimension_agreement", "organisation_means",
    "correlation_rows", "correlation_masks",
]
