"""Headless commands: ``python -m analysis COMMAND DATA [options] --json``.

Each command lives in ``analysis/commands/<name>.py`` and exposes

* ``HELP``: one line for ``--help``;
* ``add_arguments(parser)``: its argparse options (``data`` and ``--json`` are added here);
* ``run(args) -> object``: calls the same library functions the pages call and returns
  a result object (dataclass with ``to_dict``) or plain dict.

This module only parses, prints JSON (or a short text form) and maps errors to exit
codes: 0 success, 2 bad input (one line on stderr). The pages never go through here,
they call the library directly, so the numbers are the same by construction.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from analysis.commands import add_data_options
from analysis.errors import InputError
from analysis.results import to_jsonable

COMMANDS = ["validate", "reliability", "aggregate", "factor", "mixed", "readiness", "topics", "study", "report",
            "org-reports", "rscript"]


def _load(name: str):
    return importlib.import_module(f"analysis.commands.{name.replace('-', '_')}")  # org-reports: org_reports.py


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Survey analysis for digital co-production research, without the dashboard. "
                    "Every command prints the same numbers the dashboard shows.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:  # import just the command being run (start-up time)
            continue
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:  # a command still being written is not offered
            if exc.name == f"analysis.commands.{name.replace('-', '_')}":
                continue
            raise
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if getattr(module, "OWN_ARGUMENTS", False):
            module.add_arguments(p)
            p.set_defaults(_module=module)
            continue
        p.add_argument("data", metavar="DATA",
                       help="data file (.csv, .tsv, .txt, .xlsx, .sav, .dta, .parquet, Qualtrics or LimeSurvey "
                            "export) or a study file (.yaml) naming its data files, scales and groups")
        p.add_argument("--json", action="store_true", help="print the result as JSON (default: also JSON)")
        module.add_arguments(p)
        add_data_options(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        result = args._module.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: cannot open '{getattr(exc, 'filename', '') or getattr(args, 'data', '')}': {exc.strerror}",
              file=sys.stderr)
        return 2
    code = args._module.exit_code(result) if hasattr(args._module, "exit_code") else 0
    if code:
        problems = getattr(result, "problems", None) or []
        first = problems[0] if problems else {}
        print(f"error: {len(problems)} problem(s); first: key '{first.get('key')}': {first.get('message')}",
              file=sys.stderr)
    try:
        json.dump(to_jsonable(result), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped early: not an error of ours
        sys.stderr.close()
    return code
