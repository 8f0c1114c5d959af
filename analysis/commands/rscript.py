"""``python -m analysis rscript STUDY.yaml|DATA --analysis reliability|aggregate|cfa|mixed ... --out script.R``.

Writes the R script that reproduces a screen's numbers (``analysis.reproduce``): it reads the same
data file, recodes and scores it as the dashboard's pipeline does and runs ``psych::alpha``,
``multilevel::rwg.j``, ``lavaan::cfa`` or ``lmerTest::lmer``, printing JSON under the keys of the
matching command (``reliability``, ``aggregate``, ``factor``'s ``cfa``, ``mixed``). The analysis
options are those of that command. Prints where the script was written (or, without ``--out``,
the script itself as JSON).
"""
from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

from analysis.errors import InputError

HELP = ("R script reproducing an analysis (psych::alpha, multilevel::rwg.j, lavaan::cfa, lmerTest::lmer) "
        "from the same file, recoding and scoring")
ANALYSES = ("reliability", "aggregate", "cfa", "mixed", "correlations")


# The options of the commands whose numbers a script reproduces, grouped by analysis in --help:
# {group title: [(flag, argparse keywords)]}.
OPTION_GROUPS: dict[str, list[tuple[str, dict]]] = {
    "the scale (reliability, aggregate, cfa)": [
        ("--scale", dict(nargs="+", default=None, metavar="NAME",
                         help="a scale of the study (reliability, aggregate), or one factor per scale (cfa)")),
        ("--items", dict(nargs="+", default=None, metavar="ITEM", help="columns of the scale")),
        ("--reverse", dict(nargs="+", default=[], metavar="ITEM", help="reverse-keyed items (min + max - x)")),
        ("--scale-min", dict(type=float, default=None, help="lowest response code")),
        ("--scale-max", dict(type=float, default=None, help="highest response code")),
    ],
    "reliability": [
        ("--missing", dict(choices=["pairwise", "listwise"], default="pairwise",
                           help="missing answers pairwise (psych's default) or listwise")),
        ("--ci", dict(type=float, default=0.95, help="confidence level (default 0.95)")),
    ],
    "aggregate": [
        ("--group", dict(default=None, help="grouping column (default: the innermost group)")),
        ("--options", dict(type=int, default=None, metavar="A",
                           help="number of response options (default with --scale: max - min + 1)")),
        ("--min-group-size", dict(type=int, default=2, help="groups smaller get no rwg (default 2)")),
        ("--min-n", dict(type=int, default=None, dest="min_n",
                         help="privacy threshold, as the aggregate command (default 5)")),
        ("--all-groups", dict(action="store_true", dest="all_groups",
                              help="every group, however small (the data owner's view)")),
    ],
    "cfa": [("--model", dict(default=None, help='model "F1=a,b,c;F2=d,e,f" (default: one factor)'))],
    "mixed": [
        ("--formula", dict(default=None, help='lme4 formula, e.g. "y ~ x + (1 | g)"')),
        ("--ml", dict(action="store_true", help="maximum likelihood instead of REML")),
        ("--family", dict(default="gaussian", choices=["gaussian", "binomial"], help="linear or logistic")),
        ("--reference", dict(action="append", default=[], metavar="COLUMN=LEVEL",
                             help="reference level of a categorical predictor (repeatable)")),
    ],
    "correlations": [
        ("--columns", dict(nargs="+", default=None, metavar="SCORE",
                           help="the scale scores (default: topic 1's, as the topics command)")),
        ("--method", dict(choices=["pearson", "spearman"], default="pearson", help="Pearson or Spearman")),
    ],
}


def add_arguments(parser) -> None:
    parser.add_argument("--analysis", required=True, choices=ANALYSES,
                        help="which screen's numbers: reliability, aggregate (agreement and ICCs), cfa, mixed, "
                             "correlations")
    parser.add_argument("--out", default=None, metavar="FILE", help="write the script here (e.g. reproduce.R)")
    for title, options in OPTION_GROUPS.items():
        group = parser.add_argument_group(f"{title} options")
        for flag, keywords in options:
            group.add_argument(flag, **keywords)


def _one_scale(args, instrument) -> None:
    """Items, reverse items, range and options from ``--scale NAME`` (the commands' rule)."""
    from analysis.commands import scale_items

    if args.scale and len(args.scale) > 1:
        raise InputError(f"--analysis {args.analysis} takes one scale", hint="name one with --scale NAME")
    view = argparse.Namespace(**{**vars(args), "scale": args.scale[0] if args.scale else None})
    scale_items(view, instrument)
    for key in ("items", "reverse", "scale_min", "scale_max", "options"):
        setattr(args, key, getattr(view, key))


def choices(args, prepared) -> tuple[dict, list | None]:
    """The script's options from the command line, by the rules of the matching command.

    Parameters
    ----------
    args : argparse.Namespace
        This command's arguments (``--scale`` fills items, reverse items and range as
        ``analysis.commands.scale_items`` does; ``aggregate`` applies the privacy rule of the
        ``aggregate`` command unless ``--all-groups``).
    prepared : analysis.pipeline.PreparedData
        The survey's prepared data.

    Returns
    -------
    tuple
        ``(keyword arguments of analysis.reproduce.r_script, index labels left out or None)``.
    """
    from analysis.commands.aggregate import group_and_options
    from analysis.commands.factor import parse_model, scale_model
    from analysis.scoring import numeric_items

    instrument = prepared.instrument
    data = prepared.data
    if args.analysis in ("reliability", "aggregate"):
        _one_scale(args, instrument)
        numeric_items(data, args.items)  # unknown or text columns: the analysis command's message
        common = dict(items=list(args.items), reverse=list(args.reverse), scale_min=args.scale_min,
                      scale_max=args.scale_max)
        if args.analysis == "reliability":
            return dict(common, missing=args.missing, ci=args.ci), None
        group_and_options(args, instrument)
        exclude = None
        if not args.all_groups:  # the aggregate command's privacy rule: its rows, as the script's rows
            from analysis import privacy

            answered = numeric_items(data, args.items).notna().all(axis=1)
            rows = privacy.grouped_rows(data, args.group, privacy.effective_min_n(args.min_n),
                                        instrument=instrument, answered=answered)
            exclude = list(data.index[(answered & ~rows).to_numpy()])  # rows R would otherwise use
        return dict(common, group=args.group, options=int(args.options),
                    min_group_size=args.min_group_size), exclude
    if args.analysis == "cfa":
        ranges: dict = {}
        if args.scale:
            model, keyed = scale_model(instrument, list(args.scale))
            ranges.update(keyed)
        elif args.model:
            model = parse_model(args.model)
        elif args.items:
            model = {"F": list(args.items)}
        else:
            raise InputError("give the scales (--scale A B), the items (--items) or a model (--model)")
        for item in args.reverse:  # explicit reverse items on the stated (or observed) range
            ranges[item] = (args.scale_min, args.scale_max)
        numeric_items(data, [i for its in model.values() for i in its])
        return dict(model=model, reverse=ranges), None
    if args.analysis == "correlations":
        from analysis import topics

        if not args.columns:  # the topics command's default: topic 1's scores
            args.columns = [k for k in topics.topic_one_keys(instrument) if k in data.columns]
        unknown = [c for c in args.columns if c not in data.columns]
        if unknown:
            raise InputError(f"unknown score(s): {', '.join(unknown)}", hint="name scales of the survey")
        from analysis import privacy
        from analysis.reproduce.correlations import withheld_rows

        min_n = privacy.effective_min_n(None)  # the topics command's view and privacy rule
        view = topics.apply_filters(data, {}, min_n, instrument=instrument)
        return dict(columns=list(args.columns), method=args.method,
                    withheld=withheld_rows(prepared, view, args.columns, min_n)), None
    if not args.formula:
        raise InputError("--analysis mixed needs --formula", hint='e.g. --formula "y ~ x + (1 | group)"')
    from analysis.commands.mixed import _reference_levels

    return dict(formula=args.formula, reml=not args.ml, family=args.family,
                references=_reference_levels(args.reference)), None


def equivalent_command(args) -> str:
    """The ``python -m analysis ...`` command printing the numbers the script reproduces.

    Parameters
    ----------
    args : argparse.Namespace
        This command's arguments (``analysis``, ``data`` and the analysis' options).

    Returns
    -------
    str
        ``python -m analysis reliability|aggregate|factor|mixed DATA ... --json``, shell-quoted.
    """
    name = {"cfa": "factor", "correlations": "topics"}.get(args.analysis, args.analysis)
    parts = ["python -m analysis", name, shlex.quote(str(args.data))]
    for flag in ("survey", "instrument"):
        if getattr(args, flag, None):
            parts.append(f"--{flag} {shlex.quote(str(getattr(args, flag)))}")
    if args.analysis == "correlations":
        parts.append("--section correlations")
        parts += ["--columns " + " ".join(map(shlex.quote, args.columns))] if args.columns else []
        parts += [f"--method {args.method}"] if args.method != "pearson" else []
    elif args.analysis == "mixed":
        parts.append(f"--formula {shlex.quote(args.formula)}")
        parts += ["--ml"] if args.ml else []
        parts += ["--family binomial"] if args.family == "binomial" else []
        parts += [f"--reference {shlex.quote(r)}" for r in args.reference]
    elif args.analysis == "cfa" and args.scale:
        parts.append("--scale " + " ".join(map(shlex.quote, args.scale)))
    else:
        if args.items:
            parts.append("--items " + " ".join(map(shlex.quote, args.items)))
        if args.reverse:
            parts.append("--reverse " + " ".join(map(shlex.quote, args.reverse)))
        if args.scale_min is not None and args.scale_max is not None:
            parts.append(f"--scale-min {args.scale_min:g} --scale-max {args.scale_max:g}")
        if args.analysis == "reliability":
            parts.append(f"--missing {args.missing}")
        if args.analysis == "aggregate":
            parts.append(f"--group {shlex.quote(args.group)} --options {args.options}")
            parts += ["--all-groups"] if args.all_groups else ([f"--min-n {args.min_n}"] if args.min_n else [])
        if args.analysis == "cfa" and args.model:
            parts.append(f"--model {shlex.quote(args.model)}")
    return " ".join(parts + ["--json"])


def run(args):
    from analysis.commands import check_size
    from analysis.commands.report import study_of
    from analysis.pipeline import prepare_survey
    from analysis.reproduce import r_script
    from analysis.study import is_study_file

    study, _, _ = study_of(args)
    survey = study.surveys[0] if len(study.surveys) == 1 else study.survey(getattr(args, "survey", None))
    check_size(study.data_path(survey))
    prepared = prepare_survey(study, survey.name)
    options, exclude = choices(args, prepared)
    if is_study_file(args.data):  # the data file beside the study file, as the commands find it
        base_dir, data_file = os.path.dirname(str(args.data)) or ".", survey.file
    else:
        base_dir, data_file = ".", str(args.data)
    text = r_script(args.analysis, survey, prepared, command=equivalent_command(args), base_dir=base_dir,
                    data_file=data_file, exclude=exclude, title=study.title,
                    rows_note="groups the privacy rule leaves out" if exclude else None, **options)
    if args.out is None:
        return {"analysis": args.analysis, "script": text}
    Path(args.out).write_text(text, encoding="utf-8")
    return {"analysis": args.analysis, "written": str(args.out), "lines": text.count("\n"),
            "run": f"Rscript {shlex.quote(str(args.out))}"}
