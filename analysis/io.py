"""Reading survey files: CSV/TSV, Excel, SPSS, Stata, Parquet, Qualtrics and LimeSurvey exports.

This module reads the bytes, tells the format and hands them to its reader: ``analysis.io_csv``
(CSV through pyarrow's columnar parser, pandas' text-first reader as the fallback giving the
same frame), ``analysis.io_files`` (Excel, refused before unpacking when it would unpack to more
than ``MAX_UNPACKED_BYTES``; Parquet; SPSS and Stata), both tidying cells with
``analysis.io_tidy``. ``write_data`` writes the cleaned, scored study as Parquet (or CSV), the
fast way to reopen a national survey.

``read_data`` is the one entry point. It takes a path or the bytes of an upload and
returns an ``ImportResult``: the data as a DataFrame (one row per respondent, numbers as
numbers) and ``meta`` saying what was found (format, value and variable labels, declared
missing codes, and notes on what was detected: delimiter, encoding, decimal comma,
Qualtrics header rows...). Every failure is an ``InputError`` that names the file and
says what to do; nothing here shows a traceback to a user.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from analysis.errors import InputError
from analysis.io_csv import _read_text
from analysis.io_files import MAX_COMPRESSION_RATIO, MAX_UNPACKED_BYTES, _read_parquet, _read_stat, _read_xlsx
from analysis.io_tidy import NA_TOKENS, WAY_OUT, _human

__all__ = ["ImportResult", "read_data", "write_data", "NA_TOKENS", "WAY_OUT", "MAX_COLUMNS", "MAX_UNPACKED_BYTES",
           "MAX_COMPRESSION_RATIO", "FORMATS", "SUPPORTED"]

MAX_COLUMNS = 5000
TEXT_EXTENSIONS = {".csv", ".tsv", ".txt", ".tab", ".dat"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
PARQUET_EXTENSIONS = {".parquet", ".pq"}
FORMATS = ("csv", "xlsx", "sav", "dta", "parquet")
SUPPORTED = ".csv, .tsv, .txt, .xlsx, .sav, .dta, .parquet (Qualtrics and LimeSurvey CSV exports included)"


@dataclass
class ImportResult:
    """A read file: ``data`` (one row per respondent) and ``meta`` (what was detected)."""

    data: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A summary for JSON (the data itself is not included)."""
        return {"n_rows": int(self.data.shape[0]), "n_columns": int(self.data.shape[1]),
                "columns": [str(c) for c in self.data.columns], **self.meta}


def read_data(source: Any, *, filename: str | None = None, sheet: str | int | None = None,
              file_format: str | None = None, max_bytes: int | None = None,
              max_columns: int = MAX_COLUMNS, columns: Callable[[list[str]], Any] | None = None) -> ImportResult:
    """Read a survey file into a DataFrame plus metadata.

    ``source`` is a path (str/Path) or the content of an upload (bytes, bytearray or a
    binary file object such as streamlit's ``UploadedFile``). ``filename`` names an
    upload (its extension picks the reader); ``file_format`` ("csv", "xlsx", "sav", "dta")
    overrides the extension. ``sheet`` picks an Excel sheet by name or 1-based number.
    ``max_bytes`` and ``max_columns`` refuse files that are too large to handle.

    ``columns`` (a function of the column names, giving the names wanted or None for all)
    lets the CSV reader convert only those columns, plus the first (usually the respondent
    id): each column is then exactly the column a full read gives, and ``meta['columns_read']``
    lists what was read. Other formats, and a CSV where a row might be empty in every column
    (only then dropped: the columns read cannot tell), are read whole.
    """
    name, content = _load_bytes(source, filename, max_bytes)
    kind = _detect_format(name, content, file_format)
    meta: dict[str, Any] = {"source": name, "format": kind, "value_labels": {}, "variable_labels": {},
                            "missing_codes": {}, "notes": [], "sheets": [], "header_rows": 1}
    if kind == "csv":
        data = _read_text(content, name, meta, max_columns, columns)
    elif kind == "parquet":
        data = _read_parquet(content, name, meta, max_columns)
    elif kind == "xlsx":
        data = _read_xlsx(content, name, meta, sheet, max_columns)
    else:
        data = _read_stat(source, content, name, meta, kind, max_columns)
    meta["n_rows"], meta["n_columns"] = int(data.shape[0]), int(data.shape[1])
    return ImportResult(data=data, meta=meta)


# --------------------------------------------------------------------------- bytes and format

def _load_bytes(source: Any, filename: str | None, max_bytes: int | None) -> tuple[str, bytes]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = filename or path.name
        if not path.exists():
            raise InputError("file not found", file=str(source), hint="check the path")
        if path.is_dir():
            raise InputError("this is a folder, not a data file", file=str(source))
        if max_bytes is not None and path.stat().st_size > max_bytes:
            _too_large(name, path.stat().st_size, max_bytes)
        content = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name = filename or "upload"
        content = bytes(source)
    elif hasattr(source, "read"):
        name = filename or os.path.basename(str(getattr(source, "name", "") or "upload"))
        if hasattr(source, "seek"):
            source.seek(0)
        content = source.read()
        if isinstance(content, str):
            content = content.encode("utf-8")
    else:
        raise InputError(f"cannot read data from a {type(source).__name__}",
                         hint="give a file path or the bytes of an uploaded file")
    if max_bytes is not None and len(content) > max_bytes:
        _too_large(name, len(content), max_bytes)
    if _NON_BLANK.search(content) is None:  # (not content.strip(): a copy of the whole file)
        raise InputError("the file is empty", file=name,
                         hint="export the survey again and check that the download finished")
    return name, content


_NON_BLANK = re.compile(rb"\S")  # a byte other than the ASCII white space bytes.strip() removes


def _too_large(name: str, size: int, limit: int) -> None:
    raise InputError(f"the file is {_human(size)}, over the limit of {_human(limit)}", file=name,
                     hint="select fewer columns or respondents before exporting, or save it as Parquet "
                          "(.parquet, several times smaller than CSV)")


def _detect_format(name: str, content: bytes, file_format: str | None) -> str:
    if file_format:
        kind = file_format.lower().lstrip(".")
        kind = {"tsv": "csv", "txt": "csv", "xlsm": "xlsx", "zsav": "sav", "spss": "sav", "pq": "parquet",
                "stata": "dta", "excel": "xlsx", "qualtrics": "csv", "limesurvey": "csv"}.get(kind, kind)
        if kind not in FORMATS:
            raise InputError(f"unknown file format '{file_format}'", file=name, hint=f"use one of {SUPPORTED}")
        return kind
    ext = Path(name).suffix.lower()
    if ext in TEXT_EXTENSIONS:
        return "csv"
    if ext in EXCEL_EXTENSIONS:
        return "xlsx"
    if ext in (".sav", ".zsav"):
        return "sav"
    if ext == ".dta":
        return "dta"
    if ext in PARQUET_EXTENSIONS:
        return "parquet"
    if ext == ".xls":
        raise InputError("old Excel .xls files are not supported", file=name,
                         hint="open it in Excel/LibreOffice and save it as .xlsx, or export it as CSV")
    if ext in (".ods", ".numbers"):
        raise InputError(f"{ext} spreadsheets are not supported", file=name, hint="save it as .xlsx or CSV")
    if ext == "":  # an upload without a name: go by the content
        if content.startswith(b"PAR1"):
            return "parquet"
        if content.startswith(b"PK\x03\x04"):
            return "xlsx"
        if content.startswith((b"$FL2", b"$FL3")):
            return "sav"
        if content.startswith(b"<stata_dta>") or content[:1] in (b"\x71", b"\x72", b"\x73"):
            return "dta"
        return "csv"
    raise InputError(f"unsupported file type '{ext}'", file=name, hint=f"use {SUPPORTED}")


# --------------------------------------------------------------------------- text (CSV)


# --------------------------------------------------------------------------- survey platforms


# --------------------------------------------------------------------------- Excel


# --------------------------------------------------------------------------- Parquet


def write_data(data: pd.DataFrame, path=None, *, file_format: str | None = None) -> bytes | None:
    """Write ``data`` (e.g. ``PreparedData.data``, the cleaned and scored study) as Parquet
    (``.parquet``, typed and compressed: a national survey's 130 MB CSV is about 15 MB) or
    CSV. Returns the bytes when ``path`` is None (for a download button), else writes the
    file. ``read_data`` reads either back to the same frame."""
    kind = (file_format or (Path(str(path)).suffix.lstrip(".") if path is not None else "parquet")).lower()
    kind = {"pq": "parquet", "txt": "csv"}.get(kind, kind)
    if kind not in ("parquet", "csv"):
        raise InputError(f"cannot write '{kind}' files", hint="write .parquet or .csv")
    frame = data.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    buffer = io.BytesIO()
    if kind == "parquet":
        frame.to_parquet(buffer, index=False, compression="zstd")
    else:
        frame.to_csv(buffer, index=False, lineterminator="\n")
    if path is None:
        return buffer.getvalue()
    Path(path).write_bytes(buffer.getvalue())
    return None


# --------------------------------------------------------------------------- SPSS / Stata


# --------------------------------------------------------------------------- common clean-up


