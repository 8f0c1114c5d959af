"""``python -m analysis aggregate DATA --group G --items I1 [I2 ...] --options A [--min-n 5 | --all-groups] --json``."""
from __future__ import annotations

from analysis.aggregation import aggregate
from analysis.commands import load_prepared, scale_items
from analysis.scoring import apply_reverse, numeric_items

HELP = "within-group agreement (rwg / rwg(j), uniform null) and ICC(1)/ICC(2) for aggregating to groups"


def add_arguments(parser) -> None:
    parser.add_argument("--group", default=None,
                        help="grouping column (organisation, team, municipality; default: a study's innermost group)")
    parser.add_argument("--scale", default=None, metavar="NAME",
                        help="a scale of the study file (or a construct of --instrument): its items, reverse items "
                             "and number of options")
    parser.add_argument("--items", nargs="+", default=None, metavar="ITEM",
                        help="one item (rwg) or the items of a scale (rwg(j))")
    parser.add_argument("--options", type=int, default=None, metavar="A",
                        help="number of response options A (uniform null variance (A^2 - 1) / 12); "
                             "default with --scale: max - min + 1")
    parser.add_argument("--reverse", nargs="+", default=[], metavar="ITEM",
                        help="reverse-keyed items, recoded as min + max - x before agreement is computed")
    parser.add_argument("--scale-min", type=float, default=None, help="lowest response code (default: observed)")
    parser.add_argument("--scale-max", type=float, default=None, help="highest response code (default: observed)")
    parser.add_argument("--min-group-size", type=int, default=2,
                        help="groups smaller than this get no rwg (default 2)")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help="privacy threshold: groups under it (and the block they are pooled with) are left "
                             "out of every number (default 5; never below COPROD_MIN_N_FLOOR)")
    parser.add_argument("--all-groups", action="store_true", dest="all_groups",
                        help="the data owner's respondent-level view: every group, however small (not for sharing)")


def group_and_options(args, instrument) -> None:
    """Fill ``args.group`` with the innermost group when not given; refuse a missing ``--options``."""
    from analysis.errors import InputError

    if args.group is None:
        groups = list((getattr(instrument, "group_columns", None) or {}).values())
        if not groups:
            raise InputError("say which column holds the groups: --group COLUMN")
        args.group = groups[0]
    if args.options is None:
        raise InputError("say how many response options the items have: --options A (e.g. 5)",
                         hint="or use --scale NAME, which knows its range")


def run(args):
    from analysis.errors import InputError

    data, instrument = load_prepared(args)
    scale_items(args, instrument)
    group_and_options(args, instrument)
    if not args.all_groups:
        # the screens' privacy rule: whole blocks of the survey's partition inside one group
        from analysis import privacy
        missing = [c for c in [args.group, *args.items] if c not in data.columns]
        if missing:
            raise InputError("unknown column", column=missing[0], hint="check the column names of the file")
        answered = numeric_items(data, args.items).notna().all(axis=1)  # the rows rwg(j) uses
        min_n = privacy.effective_min_n(args.min_n)
        rows = privacy.grouped_rows(data, args.group, min_n, instrument=instrument, answered=answered)
        # only the columns agreement uses are carried on (not every column of every kept row)
        data = data.loc[rows, list(dict.fromkeys([args.group, *args.items]))]
        if data.empty:
            raise InputError(f"no group of '{args.group}' can be shown: each has fewer than {min_n} respondents or "
                             "is pooled with such a group", column=args.group,
                             hint="the data owner may add --all-groups for every group (not for sharing)")
    if args.reverse:
        keyed = apply_reverse(numeric_items(data, args.items), args.reverse, args.scale_min, args.scale_max)
        data = data.assign(**{c: keyed[c] for c in args.reverse})
    return aggregate(data, args.group, args.items, args.options, min_group_size=args.min_group_size)
