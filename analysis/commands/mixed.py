"""``python -m analysis mixed DATA --formula "y ~ x + (1 + x | g)" [--ml] [--family binomial|poisson] [--weights COL]``.

With ``--instrument`` or a study file (``STUDY.yaml --survey NAME``) DATA goes through the Data
page's pipeline and becomes the Models page's table (``analysis.model_data``), so the
page's formula runs on the raw survey file.
"""
from __future__ import annotations

from analysis.errors import InputError

HELP = "multilevel (mixed) model in lme4 syntax: fixed effects with Satterthwaite df, variances, ICC, R2"


def add_arguments(parser) -> None:
    parser.add_argument("--formula", required=True,
                        help='lme4 formula, e.g. "y ~ x * z + (1 + x | group)"')
    parser.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    parser.add_argument("--family", default="gaussian",
                        help="gaussian (linear, default), binomial (0/1, cbind(successes, failures) or a "
                             "proportion with --weights; logit, Laplace) or poisson (counts; log, Laplace)")
    parser.add_argument("--weights", default=None, metavar="COLUMN",
                        help="binomial with a proportion outcome: the column of trials (glmer's weights)")
    parser.add_argument("--reference", action="append", default=[], metavar="COLUMN=LEVEL",
                        help="reference level of a categorical predictor (repeatable)")
    parser.add_argument("--sheet", default=None, help="sheet name for .xlsx files")
    parser.add_argument("--servants", default=None, metavar="FILE",
                        help="with --instrument citizen: the public-servant survey, whose readiness per "
                             "municipality becomes the column readiness_muni")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help="with --servants: smallest organisation/municipality whose readiness is used "
                             "(default 5; never below the floor set by COPROD_MIN_N_FLOOR)")


def _reference_levels(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--reference expects COLUMN=LEVEL, got '{item}'")
        column, level = item.split("=", 1)
        out[column.strip()] = level.strip()
    return out


def run(args):
    from analysis.commands import load_prepared
    from analysis.mixed import fit
    from analysis.privacy import effective_min_n

    data, instrument = load_prepared(args)
    if instrument is not None:
        # The Models page's table: labelled demographics, construct scores, derived variables
        # and the centred predictors the formula names (c_x, cwc_x, gm_x, c_gm_x).
        from analysis.instruments import load_instrument
        from analysis.model_data import model_data, with_derived

        servants = servant_instrument = None
        if args.servants:
            from analysis.pipeline import prepare

            servant_instrument = load_instrument("public_servant")
            servants = prepare(args.servants, servant_instrument, min_share=args.min_share).data
        table = model_data(data, instrument, servants=servants,
                           servant_instrument=servant_instrument, min_n=effective_min_n(args.min_n))
        data, _ = with_derived(table, args.formula)
    return fit(args.formula, data, reml=not args.ml, family=args.family,
               reference_levels=_reference_levels(args.reference), weights=args.weights)
