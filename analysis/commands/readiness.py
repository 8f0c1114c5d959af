"""``python -m analysis readiness DATA --instrument public_servant --group ORG [--where COL=V] [--min-n 5] --json``."""
from __future__ import annotations

from analysis.commands import check_size
from analysis.instruments import load_instrument
from analysis.pipeline import prepare
from analysis.privacy import DEFAULT_MIN_N, FLOOR_VARIABLE, effective_min_n
from analysis.readiness import readiness

HELP = ("readiness index (0-100) and dimension scores per organisation with agreement and benchmark; "
        "groups below the minimum size (and their complementary partners) show no scores")


def add_arguments(parser) -> None:
    parser.add_argument("--instrument", default="public_servant",
                        help="instrument id or YAML path (default public_servant)")
    parser.add_argument("--group", default="org_id", help="column identifying the organisation (default org_id)")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help=f"smallest group whose scores are shown (default {DEFAULT_MIN_N}; "
                             f"never below the floor set by {FLOOR_VARIABLE})")
    parser.add_argument("--where", action="append", default=[], metavar="COLUMN=V1[,V2...]",
                        help="keep respondents with one of these values (code or label); repeat for more columns")
    parser.add_argument("--min-share", type=float, default=0.5, dest="min_share",
                        help="share of a scale's items a respondent must answer to get a score (default 0.5)")


def run(args):
    instrument = load_instrument(args.instrument)
    check_size(args.data)
    data = prepare(args.data, instrument, sheet=args.sheet, min_share=args.min_share).data
    from analysis.topics import parse_where
    filters = parse_where(data, instrument, args.where) or None
    return readiness(data, instrument, args.group, min_n=effective_min_n(args.min_n), min_share=args.min_share,
                     filters=filters)
