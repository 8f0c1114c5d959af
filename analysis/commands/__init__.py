"""The headless commands (one module each) and the one way they read DATA.

``load_data(args)`` is shared so every command starts from the same data the dashboard
analyses: with ``--instrument`` the file goes through the same pipeline as the Data page
(validate, default actions such as setting declared missing codes like -99 to missing,
columns renamed to item ids, one scale-score column per construct); without it the
file's columns are analysed as read.

Large files (``ANALYSIS_CACHE_MIN_MB``, default 8 MB) with ``--instrument``: the scored study
is kept (``analysis.scored_cache``; folder ``ANALYSIS_CACHE_DIR``, ``off`` to turn it off)
and later commands on the same file read back only the columns they use; ``reliability``,
``factor`` and ``aggregate`` on a file not kept yet read, check and score only their columns
(``needed_columns``). The numbers are those of the whole pipeline.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

# Largest file the commands read, in MB, unless COPROD_MAX_FILE_MB says otherwise. Reading,
# validating and scoring a CSV takes about ten times its size in memory (a 130 MB national
# survey: 1.3 GB), so the default keeps a command under about 10 GB. Parquet files are
# typed and compressed (about 8 times smaller than the CSV) and are read without a text
# copy: they count at 4 times their size.
DEFAULT_MAX_FILE_MB = 1024
PARQUET_WEIGHT = 4


def max_file_bytes() -> int:
    """The commands' file-size limit in bytes (``COPROD_MAX_FILE_MB``, default 1024)."""
    try:
        return int(float(os.environ.get("COPROD_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)) * 1024 * 1024)
    except ValueError:
        return DEFAULT_MAX_FILE_MB * 1024 * 1024


def check_size(path) -> None:
    """Refuse, before anything is read, a file over the commands' limit, naming the limit
    and the ways out (a Parquet copy, a smaller extract, a higher limit)."""
    from analysis.errors import InputError
    from analysis.io_tidy import _human

    p = Path(str(path))
    if not p.is_file():
        return  # read_data says what is wrong
    size = p.stat().st_size
    weight = PARQUET_WEIGHT if p.suffix.lower() in (".parquet", ".pq") else 1
    limit = max_file_bytes()
    if size * weight > limit:
        raise InputError(
            f"the file is {_human(size)}, over the command line's limit of {_human(limit // weight)} for "
            f"{'Parquet' if weight > 1 else 'CSV, Excel, SPSS and Stata'} files (reading it would take about "
            f"{_human(size * 10 * weight // 4 if weight > 1 else size * 10)} of memory)", file=p.name,
            hint="convert it to Parquet (python -m analysis validate FILE --instrument ID --export FILE.parquet, "
                 "on a machine with more memory), export a smaller extract (fewer columns or respondents), "
                 "or raise the limit with COPROD_MAX_FILE_MB")


def add_data_options(parser) -> None:
    """Options every command gets from ``cli.py`` unless it defines them itself."""
    existing = {opt for action in parser._actions for opt in action.option_strings}
    if "--instrument" not in existing:
        parser.add_argument("--instrument", default=None, metavar="ID",
                            help="clean and score DATA with this instrument first (e.g. public_servant, "
                                 "citizen, or a YAML path), as the dashboard does")
    if "--sheet" not in existing:
        parser.add_argument("--sheet", default=None, help="Excel sheet (name or 1-based number)")
    if "--survey" not in existing:
        parser.add_argument("--survey", default=None, metavar="NAME",
                            help="when DATA is a study file (.yaml): which of its surveys (optional when it has one)")
    if "--min-share" not in existing:
        parser.add_argument("--min-share", type=float, default=0.5,
                            help="with --instrument: share of a scale's items needed for a score (default 0.5)")


def load_prepared(args):
    """``(data, instrument)`` for a command: DATA as a study file (``--survey``) or a data file
    with ``--instrument`` goes through the Data page's pipeline (``instrument`` is the one the
    data were scored with); a plain data file is read as it is (``instrument`` None)."""
    from analysis.study import is_study_file

    if is_study_file(args.data):
        from analysis.pipeline import prepare_survey
        from analysis.study import load_study

        if getattr(args, "instrument", None):
            from analysis.errors import InputError

            raise InputError("give either a study file or --instrument, not both", file=str(args.data),
                             hint="the study file says which instrument or scales each survey uses")
        study = load_study(args.data)
        survey = study.survey(getattr(args, "survey", None))
        check_size(study.data_path(survey))
        prepared = prepare_survey(study, survey.name, max_bytes=max_file_bytes())
        args.study = study
        return prepared.data, prepared.instrument
    check_size(args.data)
    if not getattr(args, "instrument", None):
        from analysis.io import read_data

        return read_data(args.data, sheet=getattr(args, "sheet", None)).data, None
    from analysis.scored_cache import prepared_data

    # the scored study is kept (analysis.scored_cache): a second command on the same file reads
    # back only the columns it uses instead of reading, checking and scoring the file again
    data, instrument, _ = prepared_data(args.data, args.instrument, sheet=getattr(args, "sheet", None),
                                        min_share=getattr(args, "min_share", 0.5),
                                        columns=lambda inst: needed_columns(args, inst))
    return data, instrument


def _command(args) -> str:
    module = getattr(args, "_module", None)
    return str(getattr(module, "__name__", "")).rsplit(".", 1)[-1]


def needed_columns(args, instrument):
    """The columns of the prepared data a command reads (``scored_cache.Wanted``), when its
    options say them all (None: every column). ``reliability`` and ``factor`` use their items
    (and ``factor`` its ``--group``); ``aggregate`` its items and group, and the columns its
    privacy partition splits by (the instrument's groups and demographics, age, when
    present); ``mixed`` the model table (``analysis.model_data``: every column but the
    items, except the yes/no co-production items its participation variables are made from).
    Used to read back only those columns of a kept scored study; a required name the data do
    not have makes every column read, so the command says what is wrong as it would without
    the cache. ``tests/test_scale_cache.py`` runs each command with and without the cache."""
    from analysis.scored_cache import Wanted

    command = _command(args)
    if command == "mixed" and not getattr(args, "servants", None):
        used = {it.id for c in instrument.constructs if c.kind == "binary" and c.channel for it in c.items}
        return Wanted(None, exclude=[i for i in instrument.item_ids if i not in used])
    if command not in ("reliability", "factor", "aggregate") or getattr(args, "model", None):
        return None
    names = list(getattr(args, "items", None) or [])
    scale = getattr(args, "scale", None)
    if scale:
        construct = next((c for c in instrument.constructs if c.key == scale), None)
        if construct is None:
            return None
        names += [it.id for it in construct.items]
    if not names:
        return None
    names += list(getattr(args, "reverse", None) or [])
    if getattr(args, "group", None):
        names.append(args.group)
    optional: list[str] = []
    if command == "aggregate":
        optional += list((getattr(instrument, "group_columns", None) or {}).values())
        optional += [d.id for d in (getattr(instrument, "demographics", None) or [])]
        optional += ["age", "age_band"]
    return Wanted(list(dict.fromkeys(str(n) for n in names)), list(dict.fromkeys(str(n) for n in optional)))


def scale_items(args, instrument) -> None:
    """Fill ``args.items``/``reverse``/``scale_min``/``scale_max`` from ``--scale NAME`` (a
    study's scale or an instrument's construct), leaving explicit options as given."""
    name = getattr(args, "scale", None)
    if not name:
        if not getattr(args, "items", None):
            from analysis.errors import InputError

            raise InputError("say which items: --scale NAME or --items COL1 COL2 ...")
        return
    from analysis.errors import InputError

    if instrument is None:
        raise InputError(f"--scale {name} needs a study file or --instrument to know the scale's items",
                         hint="give DATA as a study file (.yaml), or list the columns with --items")
    construct = next((c for c in instrument.constructs if c.key == name), None)
    if construct is None:
        raise InputError(f"no scale called '{name}'",
                         hint="scales: " + ", ".join(c.key for c in instrument.constructs))
    if not getattr(args, "items", None):
        args.items = [it.id for it in construct.items]
    if hasattr(args, "reverse") and not args.reverse:
        args.reverse = [it.id for it in construct.items if it.reverse and it.id in args.items]
    if hasattr(args, "scale_min") and args.scale_min is None:
        args.scale_min = float(construct.scale.min)
    if hasattr(args, "scale_max") and args.scale_max is None:
        args.scale_max = float(construct.scale.max)
    if hasattr(args, "options") and args.options is None:
        args.options = int(construct.scale.max - construct.scale.min + 1)


def load_data(args) -> pd.DataFrame:
    """Read ``args.data``; with ``args.instrument`` or a study file, clean and score it as the
    Data page does. Files over ``max_file_bytes()`` are refused before they are read
    (``check_size``)."""
    from analysis.study import is_study_file

    if is_study_file(args.data) or getattr(args, "instrument", None):
        return load_prepared(args)[0]
    check_size(args.data)
    if not getattr(args, "instrument", None):
        from analysis.io import read_data

        return read_data(args.data, sheet=getattr(args, "sheet", None)).data
    from analysis.pipeline import prepare

    return prepare(args.data, args.instrument, sheet=getattr(args, "sheet", None),
                   min_share=getattr(args, "min_share", 0.5)).data
