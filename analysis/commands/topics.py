"""``python -m analysis topics DATA --instrument ID | STUDY.yaml [--survey NAME] --section SECTION [--where COL=V1,V2 ...] --json``.

The research-topic screens' tables for a filtered view, with the screens' privacy rule
(``analysis.privacy``): ``distributions`` (skills screen), ``compare`` (a score or answer
by a group), ``correlations``, ``divide`` (digital participation by background),
``broaden`` (offline x digital participation), the ranked ``barriers``, ``outcomes`` and
``elements`` (benefits and challenges) of the drivers screen, and the screens' multilevel
models: ``engagement`` (servants' engagement on readiness within and between organisations)
and ``participation`` (citizens' digital participation). Servants against citizens is the
``compare`` command.
"""
from __future__ import annotations

from analysis import privacy, topics
from analysis.commands import load_prepared
from analysis.errors import InputError

HELP = ("research-topic screen tables (distributions, compare, correlations, divide, broaden, barriers, outcomes, "
        "elements) and models (engagement, participation) for a filtered view")
SECTIONS = ("distributions", "compare", "correlations", "divide", "broaden", "barriers", "outcomes", "elements",
            "engagement", "participation")
RANKINGS = {"barriers": "barriers_enablers", "outcomes": "outcomes", "elements": "benefits_challenges"}


def add_arguments(parser) -> None:
    parser.add_argument("--instrument", default=None,
                        help="instrument id or YAML path (public_servant, citizen); not needed with a study file")
    parser.add_argument("--section", required=True, choices=SECTIONS, help="which table of the screens")
    parser.add_argument("--where", action="append", default=[], metavar="COLUMN=V1[,V2...]",
                        help="keep respondents with one of these values (code or label); repeat for more columns")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help=f"smallest group shown (default {privacy.DEFAULT_MIN_N}; never below {privacy.FLOOR_VARIABLE})")
    parser.add_argument("--outcome", default=None, help="compare: the score or answer compared")
    parser.add_argument("--by", default=None, help="compare: the grouping column (e.g. gender, age_band)")
    parser.add_argument("--nonparametric", action="store_true", help="compare: rank-based tests")
    parser.add_argument("--columns", nargs="+", default=None, help="correlations: the scores (default topic 1)")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson",
                        help="correlations: Pearson (default) or Spearman (ranks)")
    parser.add_argument("--group", default=None,
                        help="engagement, participation: the grouping column (default: the survey's organisation "
                             "or municipality column)")


def run(args):
    min_n = privacy.effective_min_n(args.min_n)
    from analysis.study import is_study_file

    if not is_study_file(args.data) and not args.instrument:
        raise InputError("say which instrument DATA follows (--instrument public_servant) or give a study file")
    data, instrument = load_prepared(args)
    filters = topics.parse_where(data, instrument, args.where)
    if args.section == "distributions":
        table = topics.distributions(data, instrument, filters, min_n=min_n)
        return {"section": "distributions", "min_n": min_n, "filters": filters, "table": table}
    view = topics.apply_filters(data, filters, min_n, instrument=instrument)
    if args.section == "compare":
        if not args.outcome or not args.by:
            raise InputError("compare needs --outcome and --by", hint="e.g. --outcome digital_skills --by gender")
        res = topics.compare_groups(view, args.outcome, args.by, parametric=not args.nonparametric,
                                    instrument=instrument, min_n=min_n)
        return {"section": "compare", "min_n": min_n, "filters": filters, **res.to_dict()}
    if args.section == "correlations":
        columns = args.columns or [k for k in topics.topic_one_keys(instrument) if k in view.columns]
        return {"section": "correlations", "min_n": min_n, "filters": filters, "method": args.method,
                "table": topics.correlations(view, columns, method=args.method, min_n=min_n)}
    if args.section in RANKINGS:
        table = getattr(topics, RANKINGS[args.section])(view, instrument, min_n=min_n)
        return {"section": args.section, "min_n": min_n, "filters": filters, "table": table}
    if args.section in ("engagement", "participation"):
        return _model_section(args.section, view, instrument, filters, min_n, args.group)
    if args.section == "divide":
        return {"section": "divide", "min_n": min_n, "filters": filters,
                "table": topics.digital_divide(view, instrument, min_n=min_n)}
    res = topics.broaden_deepen(view, instrument, min_n=min_n)
    return {"section": "broaden", "min_n": min_n, "filters": filters, **res.to_dict()}


def _model_section(section: str, view, instrument, filters: dict, min_n: int, group: str | None) -> dict:
    """A topic screen's multilevel model (``analysis.topics`` builds the formula and its data,
    ``analysis.mixed.fit`` fits it as the screen does)."""
    from analysis.mixed import fit

    if section == "engagement":
        spec = topics.engagement_model(view, instrument, group=group or "org_id", min_n=min_n)
    else:
        spec = topics.digital_participation_model(view, instrument, group=group or "municipality_id")
    result = fit(spec.formula, spec.data, family=spec.family)
    return {"section": section, "min_n": min_n, "filters": filters, "spec": spec.to_dict(),
            "model": result.to_dict()}
