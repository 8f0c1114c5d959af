"""``python -m analysis factor DATA|STUDY.yaml [--items ...] [--scale A B C | --model "F1=a,b;F2=c,d"] [--group G]``.

KMO and Bartlett (psych), parallel analysis (seeded), a CFA (lavaan ML; one factor over
``--items`` unless ``--model`` is given), optionally an EFA (``--efa-factors``) and a
configural/metric/scalar invariance sequence across ``--group``.
"""
from __future__ import annotations

import re

from analysis.errors import InputError
from analysis.factor import bartlett, cfa, correlation_matrix, fa, invariance, kaiser_label, kmo, parallel_analysis
from analysis.scoring import apply_reverse, numeric_items

HELP = ("factor structure: KMO, Bartlett, parallel analysis, CFA fit (lavaan ML), optional EFA "
        "(psych fa) and measurement invariance across a group")


def add_arguments(parser) -> None:
    parser.add_argument("--items", nargs="+", default=None, metavar="ITEM",
                        help="items to screen (KMO, Bartlett, parallel analysis, EFA); default: the model's items")
    parser.add_argument("--reverse", nargs="+", default=[], metavar="ITEM",
                        help="reverse-keyed items (recoded as min + max - x)")
    parser.add_argument("--scale-min", type=float, default=None, help="lowest response code (e.g. 1)")
    parser.add_argument("--scale-max", type=float, default=None, help="highest response code (e.g. 6)")
    parser.add_argument("--scale", nargs="+", default=None, metavar="NAME",
                        help="scales of the study file (or constructs of --instrument): one CFA factor per scale, "
                             "with its reverse items recoded on its own range")
    parser.add_argument("--model", default=None,
                        help='CFA model "F1=a,b,c;F2=d,e,f" (default: one factor over --items)')
    parser.add_argument("--group", default=None, help="grouping column for measurement invariance")
    parser.add_argument("--efa-factors", type=int, default=None, metavar="N",
                        help="also run an exploratory factor analysis with N factors")
    parser.add_argument("--fm", choices=["minres", "ml"], default="minres", help="EFA factoring method")
    parser.add_argument("--rotate", choices=["oblimin", "varimax", "none"], default="oblimin",
                        help="EFA rotation (default oblimin)")
    parser.add_argument("--missing", choices=["pairwise", "listwise"], default="pairwise",
                        help="missing answers for KMO, Bartlett, EFA and parallel analysis (CFA is listwise)")
    parser.add_argument("--n-iter", type=int, default=20, help="simulated data sets for parallel analysis")
    parser.add_argument("--seed", type=int, default=42, help="random seed for parallel analysis (default 42)")
    parser.add_argument("--sheet", default=None, help="sheet name for .xlsx files")


def parse_model(text: str) -> dict[str, list[str]]:
    """``"F1=a,b,c;F2=d,e,f"`` (also ``=~`` and ``+`` as in lavaan) -> ``{"F1": [...], "F2": [...]}``."""
    model: dict[str, list[str]] = {}
    for part in re.split(r"[;\n]", text):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise InputError(f"cannot read the model part '{part}'",
                             hint='write factors as "F1=a,b,c;F2=d,e,f"')
        name, rhs = part.split("=", 1)
        name = name.strip()
        items = [it.strip() for it in re.split(r"[,+\s]+", rhs.lstrip("~")) if it.strip()]
        if not name or not items:
            raise InputError(f"the model part '{part}' needs a factor name and items",
                             hint='write factors as "F1=a,b,c;F2=d,e,f"')
        if name in model:
            raise InputError(f"factor '{name}' is defined twice in the model")
        model[name] = items
    if not model:
        raise InputError("the model is empty", hint='write factors as "F1=a,b,c;F2=d,e,f"')
    return model


def scale_model(instrument, names: list[str]) -> tuple[dict[str, list[str]], dict[str, tuple[float, float]]]:
    """``{scale: items}`` for the CFA and ``{reverse item: (min, max)}`` from scale names."""
    if instrument is None:
        raise InputError("--scale needs a study file or --instrument to know the scales' items",
                         hint="give DATA as a study file (.yaml), or write the model with --model")
    model: dict[str, list[str]] = {}
    reverse: dict[str, tuple[float, float]] = {}
    for name in names:
        construct = next((c for c in instrument.constructs if c.key == name), None)
        if construct is None:
            raise InputError(f"no scale called '{name}'",
                             hint="scales: " + ", ".join(c.key for c in instrument.constructs))
        model[name] = construct.item_ids
        reverse.update({it.id: (float(construct.scale.min), float(construct.scale.max))
                        for it in construct.items if it.reverse})
    return model, reverse


def run(args):
    from analysis.commands import load_prepared

    data, instrument = load_prepared(args)
    model = parse_model(args.model) if args.model else None
    keyed: dict[str, tuple[float, float]] = {}
    if args.scale:
        if model is not None:
            raise InputError("give either --scale or --model, not both")
        model, keyed = scale_model(instrument, args.scale)
    if args.items is None and model is None:
        raise InputError("give the items (--items) or a model (--model)")
    items = list(args.items) if args.items else list(dict.fromkeys(i for its in model.values() for i in its))
    if model is None:
        model = {"F": items}
    model_items = list(dict.fromkeys(i for its in model.values() for i in its))
    all_items = list(dict.fromkeys(items + model_items))
    x = apply_reverse(numeric_items(data, all_items), args.reverse, args.scale_min, args.scale_max)
    for item, (lo, hi) in keyed.items():  # each scale's reverse items on that scale's range
        if item not in args.reverse:
            x[item] = apply_reverse(x[[item]], [item], lo, hi)[item]

    screen = x[items]
    r, n, _ = correlation_matrix(screen, missing=args.missing)  # once for KMO, Bartlett and parallel analysis
    overall, per_item = kmo(r)
    sphericity = bartlett(r, n_obs=n)
    parallel = parallel_analysis(r, n_obs=n, n_iter=args.n_iter, seed=args.seed)
    fitted = cfa(x[model_items], model)
    out = {
        "n": sphericity["n"],
        "kmo": overall,
        "kmo_label": kaiser_label(overall),
        "kmo_items": per_item.to_dict(),
        "bartlett": {"chi2": sphericity["chi2"], "df": sphericity["df"], "p": sphericity["p"]},
        "n_factors_parallel": parallel.n_factors,
        "parallel": parallel.to_dict(),
        "cfa": fitted.to_dict(),
    }
    if args.efa_factors is not None:
        result = fa(screen, n_factors=args.efa_factors, fm=args.fm, rotate=args.rotate, missing=args.missing)
        out["efa"] = result.to_dict()
    if args.group is not None:
        if args.group not in data.columns:
            raise InputError("unknown grouping column", column=str(args.group))
        grouped = x[model_items].copy()
        grouped[args.group] = data[args.group]
        out["invariance"] = invariance(grouped, model, args.group).to_dict()
    return out
