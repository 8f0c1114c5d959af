"""The headless commands (one module each) and the one way they read DATA.

``load_data(args)`` is shared so every command starts from the same data the dashboard
analyses: with ``--instrument`` the file goes through the same pipeline as the Data page
(validate, default actions such as setting declared missing codes like -99 to missing,
columns renamed to item ids, one scale-score column per construct); without it the
file's columns are analysed as read.
"""
from __future__ import annotations

import pandas as pd


def add_data_options(parser) -> None:
    """Options every command gets from ``cli.py`` unless it defines them itself."""
    existing = {opt for action in parser._actions for opt in action.option_strings}
    if "--instrument" not in existing:
        parser.add_argument("--instrument", default=None, metavar="ID",
                            help="clean and score DATA with this instrument first (e.g. public_servant, "
                                 "citizen, or a YAML path), as the dashboard does")
    if "--sheet" not in existing:
        parser.add_argument("--sheet", default=None, help="Excel sheet (name or 1-based number)")
    if "--min-share" not in existing:
        parser.add_argument("--min-share", type=float, default=0.5,
                            help="with --instrument: share of a scale's items needed for a score (default 0.5)")


def load_data(args) -> pd.DataFrame:
    """Read ``args.data``; with ``args.instrument``, clean and score it as the Data page does."""
    if not getattr(args, "instrument", None):
        from analysis.io import read_data

        return read_data(args.data, sheet=getattr(args, "sheet", None)).data
    from analysis.pipeline import prepare

    return prepare(args.data, args.instrument, sheet=getattr(args, "sheet", None),
                   min_share=getattr(args, "min_share", 0.5)).data
