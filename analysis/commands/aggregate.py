"""``python -m analysis aggregate DATA --group G --items I1 [I2 ...] --options A --json``."""
from __future__ import annotations

from analysis.aggregation import aggregate
from analysis.commands import load_data
from analysis.scoring import apply_reverse, numeric_items

HELP = "within-group agreement (rwg / rwg(j), uniform null) and ICC(1)/ICC(2) for aggregating to groups"


def add_arguments(parser) -> None:
    parser.add_argument("--group", required=True, help="grouping column (organisation, team, municipality)")
    parser.add_argument("--items", nargs="+", required=True, metavar="ITEM",
                        help="one item (rwg) or the items of a scale (rwg(j))")
    parser.add_argument("--options", type=int, required=True, metavar="A",
                        help="number of response options A (uniform null variance (A^2 - 1) / 12)")
    parser.add_argument("--reverse", nargs="+", default=[], metavar="ITEM",
                        help="reverse-keyed items, recoded as min + max - x before agreement is computed")
    parser.add_argument("--scale-min", type=float, default=None, help="lowest response code (default: observed)")
    parser.add_argument("--scale-max", type=float, default=None, help="highest response code (default: observed)")
    parser.add_argument("--min-group-size", type=int, default=2,
                        help="groups smaller than this get no rwg (default 2)")


def run(args):
    data = load_data(args)
    if args.reverse:
        keyed = apply_reverse(numeric_items(data, args.items), args.reverse, args.scale_min, args.scale_max)
        data = data.assign(**{c: keyed[c] for c in args.reverse})
    return aggregate(data, args.group, args.items, args.options, min_group_size=args.min_group_size)
