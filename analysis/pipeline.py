"""The whole way from a survey file to analysable data, in one function.

read (``io``) -> map and validate (``validate``) -> apply the user's actions -> rename items
to their ids -> score the constructs (``scoring``). The dashboard's study state and the
headless commands both call ``prepare`` so they analyse exactly the same data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

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


def prepare(source: Any, instrument, *, filename: str | None = None, sheet: str | int | None = None,
            mapping: Mapping[str, str] | None = None, actions: Mapping[str, str] | None = None,
            min_share: float = 0.5, max_bytes: int | None = None) -> PreparedData:
    """Read ``source`` (path or bytes) and prepare it for ``instrument`` (object, id or path).

    ``mapping=None`` maps columns automatically; ``actions=None`` takes each problem's default
    action (bad cells and declared missing codes set to missing, respondents kept).
    Raises ``InputError`` when the file cannot be read or the mapping is impossible.
    """
    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    imported = read_data(source, filename=filename, sheet=sheet, max_bytes=max_bytes)
    cleaned, report = clean(imported.data, instrument, mapping, actions,
                            source=imported.meta.get("source"), missing_codes=imported.meta.get("missing_codes"))
    scored = score_instrument(cleaned, instrument, min_share=min_share)
    return PreparedData(imported.data, imported.meta, dict(report.mapping), report, scored)
