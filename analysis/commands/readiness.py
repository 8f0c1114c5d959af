"""``python -m analysis readiness DATA|STUDY.yaml [--instrument ID] [--group ORG] [--where COL=V] [--min-n 5]``."""
from __future__ import annotations

from analysis.commands import load_prepared
from analysis.privacy import DEFAULT_MIN_N, FLOOR_VARIABLE, effective_min_n
from analysis.readiness import readiness

HELP = ("readiness index (0-100) and dimension scores per organisation with agreement and benchmark; "
        "groups below the minimum size (and their complementary partners) show no scores")


def add_arguments(parser) -> None:
    parser.add_argument("--instrument", default=None,
                        help="instrument id or YAML path (default public_servant; not with a study file)")
    parser.add_argument("--group", default=None,
                        help="column identifying the organisation (default: org_id, or a study's innermost group)")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help=f"smallest group whose scores are shown (default {DEFAULT_MIN_N}; "
                             f"never below the floor set by {FLOOR_VARIABLE})")
    parser.add_argument("--where", action="append", default=[], metavar="COLUMN=V1[,V2...]",
                        help="keep respondents with one of these values (code or label); repeat for more columns")
    parser.add_argument("--min-share", type=float, default=0.5, dest="min_share",
                        help="share of a scale's items a respondent must answer to get a score (default 0.5)")


def run(args):
    from analysis.study import is_study_file

    if not is_study_file(args.data) and not args.instrument:
        args.instrument = "public_servant"
    data, instrument = load_prepared(args)
    if args.group is None:
        groups = instrument.group_columns
        args.group = groups.get("organisation") or next(iter(groups.values()), "org_id")
    from analysis.topics import parse_where
    filters = parse_where(data, instrument, args.where) or None
    return readiness(data, instrument, args.group, min_n=effective_min_n(args.min_n), min_share=args.min_share,
                     filters=filters)
