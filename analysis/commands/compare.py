"""``python -m analysis compare SERVANTS --instrument public_servant --citizens CITIZENS
--citizens-instrument citizen [--where ...] [--citizens-where ...] --json`` (or a study file
with ``--survey`` and ``--citizens-survey``).

Public servants against citizens on every construct the two instruments share (the skills
screen's second section): Welch t with Hedges g and its CI, or Mann-Whitney U with the
rank-biserial r (``--nonparametric``), each survey's view filtered as on the screen and
published under the screen's privacy rule (``analysis.topics.compare_surveys``).
"""
from __future__ import annotations

import argparse

from analysis import privacy, topics
from analysis.commands import load_prepared
from analysis.errors import InputError

HELP = "public servants against citizens on the constructs their instruments share (skills screen)"


def add_arguments(parser) -> None:
    parser.add_argument("--instrument", default=None,
                        help="the servants' instrument (public_servant or a YAML path); not with a study file")
    parser.add_argument("--citizens", default=None, metavar="FILE",
                        help="the citizens' data file (with a study file: not needed, see --citizens-survey)")
    parser.add_argument("--citizens-instrument", default=None, metavar="ID", dest="citizens_instrument",
                        help="the citizens' instrument (citizen or a YAML path)")
    parser.add_argument("--citizens-survey", default=None, metavar="NAME", dest="citizens_survey",
                        help="with a study file: its survey of citizens")
    parser.add_argument("--where", action="append", default=[], metavar="COLUMN=V1[,V2...]",
                        help="keep servants with one of these values; repeat for more columns")
    parser.add_argument("--citizens-where", action="append", default=[], metavar="COLUMN=V1[,V2...]",
                        dest="citizens_where", help="keep citizens with one of these values")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help=f"smallest group shown (default {privacy.DEFAULT_MIN_N}; never below "
                             f"{privacy.FLOOR_VARIABLE})")
    parser.add_argument("--nonparametric", action="store_true", help="Mann-Whitney U with rank-biserial r")


def _view(args, where: list[str], min_n: int):
    data, instrument = load_prepared(args)
    filters = topics.parse_where(data, instrument, where)
    return topics.apply_filters(data, filters, min_n, instrument=instrument), instrument, filters


def run(args):
    from analysis.study import is_study_file

    min_n = privacy.effective_min_n(args.min_n)
    study_file = is_study_file(args.data)
    if not study_file and not (args.instrument and args.citizens and args.citizens_instrument):
        raise InputError("compare needs both surveys: --instrument, --citizens FILE and --citizens-instrument, "
                         "or a study file with --survey and --citizens-survey",
                         hint="e.g. --instrument public_servant --citizens sample_data/citizens.csv "
                              "--citizens-instrument citizen")
    if study_file and not args.citizens_survey:
        raise InputError("say which survey of the study holds the citizens (--citizens-survey NAME)",
                         file=str(args.data))
    servants, ps_instrument, ps_filters = _view(args, args.where, min_n)
    other = argparse.Namespace(**vars(args))
    if study_file:
        other.survey = args.citizens_survey
    else:
        other.data, other.instrument = args.citizens, args.citizens_instrument
    citizens, ct_instrument, ct_filters = _view(other, args.citizens_where, min_n)
    table = topics.compare_surveys(servants, ps_instrument, citizens, ct_instrument,
                                   parametric=not args.nonparametric, min_n=min_n)
    return {"min_n": min_n, "filters": {"servants": ps_filters, "citizens": ct_filters}, "table": table}
