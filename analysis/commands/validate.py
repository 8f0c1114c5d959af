"""``python -m analysis validate DATA --instrument public_servant --json``.

Reads DATA, maps its columns to the instrument's items and prints the validation report:
each problem with its column, count and example rows. Exit 0 whenever the file could be
read (even with problems), 2 with one line on stderr when it could not.
"""
from __future__ import annotations

import json
from pathlib import Path

from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.io import read_data
from analysis.validate import validate

HELP = ("check a survey file against an instrument: out-of-range and non-numeric answers, "
        "missing codes, constant items, duplicate ids, straight-lining, too few answers")


def add_arguments(parser) -> None:
    parser.add_argument("--instrument", default="public_servant",
                        help="instrument id (e.g. public_servant, citizen) or path to a YAML file "
                             "(default: public_servant)")
    parser.add_argument("--sheet", default=None, help="Excel sheet name or 1-based number (default: first sheet with data)")
    parser.add_argument("--mapping", default=None,
                        help="JSON object {item_id: column} or a path to a JSON file with one "
                             "(default: automatic mapping by column name)")
    parser.add_argument("--min-answered-share", type=float, default=0.5,
                        help="flag respondents answering fewer than this share of the items (default 0.5)")
    parser.add_argument("--straightline-min-items", type=int, default=6,
                        help="smallest block length checked for straight-lining (default 6)")
    parser.add_argument("--export", default=None, metavar="PATH",
                        help="also write the cleaned, scored data (default actions, as the Data page) to PATH: "
                             ".parquet (typed, compressed; the fast way to reopen a large survey) or .csv")


def _mapping(text: str | None):
    if not text:
        return None
    path = Path(text)
    try:
        if not text.lstrip().startswith("{") and path.is_file():
            text = path.read_text(encoding="utf-8")
        value = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the mapping: {exc}",
                         hint='give a JSON object such as {"ps_dsk1": "Q1_1"} or a file holding one') from None
    if not isinstance(value, dict):
        raise InputError("the mapping must be a JSON object {item_id: column}")
    return {str(k): (None if v is None else str(v)) for k, v in value.items()}


def run(args):
    from analysis.commands import check_size

    instrument = load_instrument(args.instrument)
    mapping = _mapping(args.mapping)
    check_size(args.data)
    imported = read_data(args.data, sheet=args.sheet)
    report = validate(imported.data, instrument, mapping, source=imported.meta["source"],
                      min_answered_share=args.min_answered_share,
                      straightline_min_items=args.straightline_min_items,
                      missing_codes=imported.meta.get("missing_codes"))
    report.notes = list(imported.meta.get("notes", []))
    report.header_rows = imported.meta.get("header_rows")
    result = report.to_dict()
    result["format"] = imported.meta.get("format")
    if args.export:
        from analysis.io import write_data
        from analysis.scoring import score_instrument
        from analysis.validate import apply_actions
        from analysis.mapping import apply_mapping

        cleaned = apply_mapping(apply_actions(imported.data, report), report.mapping)
        scored = score_instrument(cleaned, instrument)
        write_data(scored, args.export)
        result["exported"] = {"path": str(args.export), "n_rows": int(len(scored)),
                              "n_columns": int(scored.shape[1])}
    return result
