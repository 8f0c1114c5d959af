"""``python -m analysis reliability DATA|STUDY.yaml (--scale NAME | --items A1 A2 ...) --json``.

Alpha, lambdas, omega and the item table.
"""
from __future__ import annotations

from analysis.commands import load_prepared, scale_items
from analysis.reliability import reliability

HELP = "reliability of a scale: Cronbach's alpha (Feldt CI), lambda-2/6, omega total, item-rest statistics"


def add_arguments(parser) -> None:
    parser.add_argument("--scale", default=None, metavar="NAME",
                        help="a scale of the study file (or a construct of --instrument): its items, reverse "
                             "items and range")
    parser.add_argument("--items", nargs="+", default=None, metavar="ITEM", help="columns of the scale")
    parser.add_argument("--reverse", nargs="+", default=[], metavar="ITEM",
                        help="reverse-keyed items (recoded as min + max - x)")
    parser.add_argument("--scale-min", type=float, default=None, help="lowest response code (e.g. 1)")
    parser.add_argument("--scale-max", type=float, default=None, help="highest response code (e.g. 6)")
    parser.add_argument("--missing", choices=["pairwise", "listwise"], default="pairwise",
                        help="missing answers: pairwise covariances (psych's default) or listwise deletion")
    parser.add_argument("--ci", type=float, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                        help="add a percentile bootstrap interval from N resamples (default 0: Feldt only)")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the bootstrap")


def run(args):
    data, instrument = load_prepared(args)
    scale_items(args, instrument)
    return reliability(data, args.items, reverse=args.reverse, scale_min=args.scale_min,
                       scale_max=args.scale_max, missing=args.missing, ci=args.ci,
                       bootstrap=args.bootstrap, seed=args.seed)
