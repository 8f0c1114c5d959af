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
from analysis.runtime import one_blas_thread

COMMANDS = ["validate", "reliability", "aggregate", "factor", "mixed", "readiness", "topics", "compare", "study",
            "report", "org-reports", "rscript"]


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
    one_blas_thread()
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


def command_line(name: str, data: str, **options) -> str:
    """The shell text of ``python -m analysis NAME DATA [options] --json``, written from the
    command's own argument definitions, so a screen can only print options the command has.

    Parameters
    ----------
    name : str
        A command of :data:`COMMANDS`.
    data : str
        The DATA argument as the user would type it (a path, ``study.yaml``).
    **options
        Option values by their argparse ``dest`` (``scale_min=1`` for ``--scale-min 1``):
        ``None``/``False``/empty lists are left out, ``True`` writes a flag, a list or tuple
        writes its values after the option (or repeats the option for ``action="append"``).

    Returns
    -------
    str
        The command, each value quoted for a POSIX shell; it parses back with this module's
        parser (checked here, so an option the command lost fails loudly, not on the user's
        terminal).

    Raises
    ------
    ValueError
        ``name`` is not a command, or an option is not one of its arguments.
    """
    import shlex

    if name not in COMMANDS:
        raise ValueError(f"unknown command {name!r}")
    parser = build_parser(name)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    actions = {a.dest: a for a in sub._actions if a.option_strings}
    words = [name, data]
    for dest, value in options.items():
        if dest not in actions:
            raise ValueError(f"the {name} command has no option for {dest!r}")
        action = actions[dest]
        flag = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        if value is None or value is False or (isinstance(value, (list, tuple)) and not value):
            continue
        if value is True:
            words.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                words += [flag, _word(v)]
        elif isinstance(value, (list, tuple)):
            words += [flag, *(_word(v) for v in value)]
        else:
            words += [flag, _word(value)]
    if "json" in actions:
        words.append("--json")
    parser.parse_args(words)  # what the screen prints must be what the command accepts
    return " ".join(["python -m analysis", *(shlex.quote(w) for w in words)])


def _word(value) -> str:
    """A value as typed on the command line: ``7`` not ``7.0``, text as it is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
