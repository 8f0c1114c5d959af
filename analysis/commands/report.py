"""``python -m analysis report STUDY.yaml|DATA [--instrument ID] --out report.html [--pdf] [--charts DIR] [--min-n N]``.

The study report (``analysis.report``): data summary per survey, reliability and agreement per
scale, readiness by organisation; one self-contained HTML file, or its PDF (``--pdf``, or
``--out report.pdf``) printed by Debian's chromium; ``--charts DIR`` adds every chart as PNG and
SVG. Prints the files written as JSON.
"""
from __future__ import annotations

from pathlib import Path

HELP = ("study report: data summary, reliability and agreement per scale, readiness by organisation, as one "
        "self-contained HTML file (charts included, no network needed) or PDF")


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="report.html (self-contained) or report.pdf (printed by chromium)")
    parser.add_argument("--pdf", action="store_true",
                        help="with an .html --out, also print the PDF beside it (same name, .pdf)")
    parser.add_argument("--charts", default=None, metavar="DIR",
                        help="also write every chart of the report into DIR as PNG and SVG (kaleido, chromium)")
    parser.add_argument("--min-n", type=int, default=None, dest="min_n",
                        help="privacy threshold: raise the study's (default 5); never below it or COPROD_MIN_N_FLOOR")


def study_of(args):
    """``(study, study_path, commands)`` for DATA: a study file as it is, or a data file with
    ``--instrument`` as a one-survey study (the bundled sample: DATA --instrument ID)."""
    from analysis.errors import InputError
    from analysis.study import Study, Survey, is_study_file, load_study

    if is_study_file(args.data):
        if getattr(args, "instrument", None):
            raise InputError("give either a study file or --instrument, not both", file=str(args.data),
                             hint="the study file says which instrument or scales each survey uses")
        study = load_study(args.data)
        if getattr(args, "survey", None):
            study = Study(study.title, (study.survey(args.survey),), study.min_n, study.settings, study.base_dir,
                          study.file)
        return study, str(args.data), None
    if not getattr(args, "instrument", None):
        raise InputError("a report needs a study file (.yaml) or a data file with --instrument ID",
                         file=str(args.data), hint="e.g. sample_data/public_servants.csv --instrument public_servant")
    from analysis.instruments import load_instrument
    from analysis.commands import check_size

    check_size(args.data)
    instrument = load_instrument(args.instrument)
    path = Path(str(args.data)).resolve()
    survey = Survey(name=instrument.id, file=str(path), sheet=getattr(args, "sheet", None),
                    instrument=args.instrument, title=instrument.title,
                    min_share=getattr(args, "min_share", 0.5))
    study = Study(f"{instrument.title}: {path.name}", (survey,), file=path.name)
    return study, None, {survey.name: f"{args.data} --instrument {args.instrument}"}


def run(args):
    from analysis.report.study import load_surveys, write_study_report

    study, study_path, commands = study_of(args)
    surveys = load_surveys(study, study_path=study_path, commands=commands)
    written = write_study_report(study, args.out, pdf=args.pdf, min_n=args.min_n, study_path=study_path,
                                 surveys=surveys, charts=args.charts)
    return {"written": [str(p) for p in written], "surveys": [s.name for s in surveys]}
