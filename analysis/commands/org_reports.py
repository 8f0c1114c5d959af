"""``python -m analysis org-reports STUDY.yaml|DATA [--instrument ID] [--survey NAME] [--group COL] --out DIR``.

One PDF per organisation for its practitioners (``analysis.report.organisation``): readiness
index and dimensions with 95% CIs, benchmark, agreement, where to start with its evidence. An
organisation under the privacy threshold gets a report saying its scores cannot be shown.
Prints one ``{"group", "suppressed", "file"}`` per report as JSON.
"""
from __future__ import annotations

HELP = ("one PDF report per organisation (readiness with CIs, benchmark, agreement, where to start); "
        "organisations under the privacy threshold get a report without scores")


def add_arguments(parser) -> None:
    parser.add_argument("--group", default=None, metavar="COL",
                        help="column identifying the organisation (default: the survey's organisation group)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the reports (created if missing)")
    parser.add_argument("--org", nargs="+", default=None, metavar="ID", help="only these organisations")
    parser.add_argument("--html", action="store_true", help="write HTML files instead of PDFs (no chromium needed)")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help="privacy threshold: raise the study's (default 5); never below it or COPROD_MIN_N_FLOOR")


def run(args):
    from analysis.commands.report import study_of
    from analysis.report.organisation import write_organisation_reports

    study, _, _ = study_of(args)
    survey = args.survey if getattr(args, "survey", None) and len(study.surveys) > 1 else None
    return {"reports": write_organisation_reports(study, args.out, survey=survey, group=args.group,
                                                  min_n=args.min_n, only=args.org, pdf=not args.html)}
