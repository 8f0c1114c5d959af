"""``python -m analysis aggregate DATA --group G --items I1 [I2 ...] --options A --json``."""
from __future__ import annotations

from analysis.aggregation import aggregate
from analysis.commands import load_data

HELP = "within-group agreement (rwg / rwg(j), uniform null) and ICC(1)/ICC(2) for aggregating to groups"


def add_arguments(parser) -> None:
    parser.add_argument("--group", required=True, help="grouping column (organisation, team, municipality)")
    parser.add_argument("--items", nargs="+", required=True, metavar="ITEM",
                        help="one item (rwg) or the items of a scale (rwg(j))")
    parser.add_argument("--options", type=int, required=True, metavar="A",
                        help="number of response options A (uniform null variance (A^2 - 1) / 12)")
    parser.add_argument("--min-group-size", type=int, default=2,
                        help="groups smaller than this get no rwg (default 2)")


def run(args):
    data = load_data(args)
    return aggregate(data, args.group, args.items, args.options, min_group_size=args.min_group_size)
