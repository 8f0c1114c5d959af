"""``python -m analysis study check STUDY.yaml --json``: what is wrong with a study file.

Checks the file's structure (keys, scales of one item, an item in two scales, min >= max,
reverse items outside their scale), then each survey's data file beside it and the columns
the survey names (unknown columns, a group column with one level or with a level per
respondent). Prints ``{"ok": ..., "problems": [{"key", "message", "column", "hint"}]}`` and
exits 2 when there is any problem (0 when the study can be analysed).
"""
from __future__ import annotations

HELP = "check a study file (column roles, scales, data files beside it): every problem with its key"
OWN_ARGUMENTS = True  # no DATA positional: 'study ACTION STUDY.yaml'


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["check"], help="check: list every problem of the study file")
    parser.add_argument("study", metavar="STUDY.yaml", help="the study file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (default: also JSON)")


def run(args):
    from analysis.study import check_study_file

    return check_study_file(args.study)


def exit_code(result) -> int:
    """2 when the study has problems (as for any bad input), else 0."""
    return 0 if result.ok else 2
