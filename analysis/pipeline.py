"""The whole way from a survey file to analysable data, in one function.

read (``io``) -> map and validate (``validate``) -> apply the user's actions -> rename items
to their ids -> score the constructs (``scoring``). The dashboard's study state and the
headless commands both call ``prepare`` so they analyse exactly the same data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.io import read_data
from analysis.scoring import score_instrument
from analysis.validate import ValidationReport, clean


@dataclass
class PreparedData:
    """A file after the pipeline: treat as read-only (the dashboard caches it)."""

    raw: pd.DataFrame  # as read from the file
    meta: dict  # what the reader detected (format, labels, missing codes, notes, sheets)
    mapping: dict[str, str]  # item id -> column of the file, as used
    report: ValidationReport
    data: pd.DataFrame  # actions applied, items renamed to ids, one column per construct score
    instrument: Any = None  # the Instrument the data were checked and scored with


Progress = Callable[[str], None]


def _quiet(step: str) -> None:
    """The default progress report: none."""


def prepare(source: Any, instrument, *, filename: str | None = None, sheet: str | int | None = None,
            mapping: Mapping[str, str] | None = None, actions: Mapping[str, str] | None = None,
            min_share: float = 0.5, max_bytes: int | None = None, progress: Progress = _quiet) -> PreparedData:
    """Read ``source`` (path or bytes) and prepare it for ``instrument`` (object, id or path).

    ``mapping=None`` maps columns automatically; ``actions=None`` takes each problem's default
    action (bad cells and declared missing codes set to missing, respondents kept).
    ``progress`` is called with a sentence as each step starts (reading, checking, scoring: the
    Data page shows them while a national survey's file is prepared).
    Raises ``InputError`` when the file cannot be read or the mapping is impossible.
    """
    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    progress("Reading the file")
    imported = read_data(source, filename=filename, sheet=sheet, max_bytes=max_bytes)
    return _prepared(imported, instrument, mapping, actions, min_share, progress=progress)


def _prepared(imported, instrument, mapping, actions, min_share: float, *, keep_raw: bool = True,
              progress: Progress = _quiet) -> PreparedData:
    progress(f"Checking {len(imported.data):,} respondents against the instrument")
    cleaned, report = clean(imported.data, instrument, mapping, actions, source=imported.meta.get("source"),
                            missing_codes=imported.meta.get("missing_codes"), copy=keep_raw)
    progress("Scoring the scales")
    scored = score_instrument(cleaned, instrument, min_share=min_share)
    return PreparedData(imported.data if keep_raw else scored.iloc[:0], imported.meta, dict(report.mapping), report,
                        scored, instrument)


def prepare_data(source: Any, instrument, *, sheet: str | int | None = None, min_share: float = 0.5,
                 max_bytes: int | None = None) -> pd.DataFrame:
    """``prepare(source, instrument, ...).data`` (automatic mapping, default actions) without
    keeping the file's frame as read: the cells set to missing are set in the frame read, so
    a national survey's item columns are not held twice (the commands' way; the Data page
    keeps ``raw`` to show the file as it is)."""
    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    imported = read_data(source, sheet=sheet, max_bytes=max_bytes)
    return _prepared(imported, instrument, None, None, min_share, keep_raw=False).data


def prepare_columns(source: Any, instrument, required: Sequence[str], optional: Sequence[str] = (), *,
                    sheet: str | int | None = None, min_share: float = 0.5,
                    max_bytes: int | None = None) -> tuple[pd.DataFrame, bool] | None:
    """The columns ``required`` and (those present of) ``optional`` of
    ``prepare(source, instrument, ...).data`` (automatic mapping, default actions), reading,
    checking and scoring only what they need: the items named, all items of a scale named,
    the other columns named. A CSV is then read a few columns at a time instead of whole.

    With the default actions every cell-level decision concerns one column and no
    respondent is dropped, so each column comes out exactly as ``prepare`` makes it
    (``tests/test_scale_cache.py`` checks this). Returns ``(data, whole)``: ``whole`` when
    the file had to be read whole (not a CSV, a row that may be empty in every column, or a
    required name not among the file's columns), and ``data`` is then all of
    ``prepare(...).data``. None when a required name is missing after scoring (a scale
    without items in the file: ``prepare`` then says what is wrong).
    """
    from analysis.mapping import auto_map

    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    asked = list(dict.fromkeys([*required, *optional]))
    plan: dict[str, Any] = {}

    def pick(names: list[str]) -> list[str] | None:
        mapping = auto_map(names, instrument)
        mapped = set(mapping.values())
        columns: list[str] = []
        for name in asked:
            construct = next((c for c in instrument.constructs if c.key == name), None)
            if construct is not None:  # a scale's score: all its items (and a column of that name)
                columns += [mapping[it.id] for it in construct.items if it.id in mapping]
                columns += [name] if name in names and name not in mapped else []
            elif name in mapping:
                columns.append(mapping[name])
            elif name in names and name not in mapped:
                columns.append(name)
            elif name in required:
                return None
        plan["mapping"] = mapping
        return columns

    imported = read_data(source, sheet=sheet, max_bytes=max_bytes, columns=pick)
    if "columns_read" not in imported.meta:  # read whole: prepared whole, as ``prepare`` does
        return _prepared(imported, instrument, None, None, min_share, keep_raw=False).data, True
    data = imported.data
    mapping = {item: col for item, col in plan["mapping"].items() if col in data.columns}
    cleaned, _ = clean(data, instrument, mapping, None, source=imported.meta.get("source"),
                       missing_codes=imported.meta.get("missing_codes"), copy=False)
    scored = score_instrument(cleaned, instrument, min_share=min_share)
    # a score is the full prepare's when every item the file has for it was read
    complete = {c.key for c in instrument.constructs
                if all(it.id in mapping for it in c.items if it.id in plan["mapping"])}
    keep = [c for c in scored.columns if c in set(asked)
            and (c in complete or not any(k.key == c for k in instrument.constructs))]
    if any(name not in keep for name in required):
        return None
    return scored[keep], False


def prepare_survey(study, name: str | None = None, *, content: bytes | None = None,
                   max_bytes: int | None = None, progress: Progress = _quiet) -> PreparedData:
    """Read, check, clean and score one survey of a study: the one way from (study, survey)
    to the scored frame that the pages, the commands and the tests all use.

    ``content`` gives the data file's bytes (an upload; the survey's ``file`` names it);
    otherwise the file is read from beside the study file. The survey's missing codes apply
    on top of those the file declares; each scale's score is a column named by the scale.
    Raises ``InputError`` naming the study file's key when the file or a column is missing.
    """
    from analysis import study as studies

    survey = study.survey(name)
    key = studies.survey_key(study, survey)
    if content is None:
        path = study.data_path(survey)
        if not path.is_file():
            raise InputError(f"the data file '{survey.file}' is not beside the study file", file=study.file,
                             key=f"{key}.file",
                             hint=f"put {survey.file} in the study file's folder, or correct the name")
        source: Any = path
    else:
        source = content
    progress("Reading the file")
    imported = read_data(source, filename=survey.file, sheet=survey.sheet, max_bytes=max_bytes)
    studies.check_columns(study, survey, imported.data)
    observed = studies.observed_answers(imported.data, survey, imported.meta)
    instrument = studies.survey_instrument(survey, observed=observed, meta=imported.meta, data=imported.data)
    mapping = survey.mapping if survey.instrument else {it.id: it.id for it in instrument.items}
    # the survey's missing codes are the instrument's (survey_instrument): they add to the file's
    progress(f"Checking {len(imported.data):,} respondents against the study file")
    cleaned, report = clean(imported.data, instrument, mapping, dict(survey.actions) or None,
                            source=imported.meta.get("source"), missing_codes=imported.meta.get("missing_codes"))
    progress("Scoring the scales")
    scored = score_instrument(cleaned, instrument, min_share=survey.min_share)
    return PreparedData(imported.data, imported.meta, dict(report.mapping), report, scored, instrument)

