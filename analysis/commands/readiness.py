"""``python -m analysis readiness DATA|STUDY.yaml [--instrument ID] [--group ORG] [--where COL=V] [--min-n 5]
[--by COLUMN] [--benchmark all|type|parent] [--lookup FILE] [--wave WAVE]``.

Prints the readiness of every organisation (index, dimensions, agreement, benchmark), and
with it the per-question shares favourable/neutral/unfavourable with their benchmark, the
organisations' names, types and parents, the chosen comparison (``--benchmark type``:
organisations of the same type; ``parent``: under the same parent) and, with ``--by``, the
breakdown of every organisation by a demographic. Data with a ``wave`` column: the last wave
(or ``--wave``) with the change since the wave before (Welch t-test for scores, two-proportion
z-test for shares favourable). A study's survey may name a lookup of names, types and parents
(``lookup: {file: ..., column: ...}``).
"""
from __future__ import annotations

from pathlib import Path

from analysis.commands import load_prepared
from analysis.privacy import DEFAULT_MIN_N, FLOOR_VARIABLE, effective_min_n
from analysis.readiness_view import BENCHMARKS, practitioners_view

HELP = ("readiness index (0-100) and dimension scores per organisation with agreement and benchmark, "
        "per-question shares favourable, breakdowns; groups below the minimum size (and their "
        "complementary partners) show no scores")


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
    parser.add_argument("--by", default=None, metavar="COLUMN",
                        help="break every organisation down by this demographic (e.g. gender, role, age_band)")
    parser.add_argument("--benchmark", default="all", choices=BENCHMARKS,
                        help="compare with all organisations (default), those of the same type, or those under "
                             "the same parent")
    parser.add_argument("--wave", default=None, metavar="WAVE",
                        help="with a 'wave' column: the wave to show (default the last), with the change "
                             "since the one before")
    parser.add_argument("--lookup", default=None, metavar="FILE",
                        help="names, types and parents of the organisations (columns id, name, type, parent); "
                             "a study file's survey may name one instead")


def run(args):
    from analysis.organisations import read_lookup
    from analysis.study import is_study_file, lookup_spec

    if not is_study_file(args.data) and not args.instrument:
        args.instrument = "public_servant"
    data, instrument = load_prepared(args)
    lookup_path, lookup_column = args.lookup, None
    study = getattr(args, "study", None)
    if study is not None and lookup_path is None:
        spec = lookup_spec(study, study.survey(getattr(args, "survey", None)))
        if spec is not None:
            lookup_path, lookup_column = spec
    if args.group is None:
        groups = instrument.group_columns
        args.group = lookup_column or groups.get("organisation") or next(iter(groups.values()), "org_id")
    from analysis.topics import parse_where
    filters = parse_where(data, instrument, args.where) or None
    lookup = None if lookup_path is None else read_lookup(lookup_path)
    return practitioners_view(data, instrument, args.group, min_n=effective_min_n(args.min_n),
                              filters=filters, comparison=args.benchmark, by=args.by,
                              lookup=lookup, wave=args.wave,
                              lookup_file=Path(str(lookup_path)).name if lookup_path else "lookup file")
