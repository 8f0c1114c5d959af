"""Reading survey files: CSV/TSV, Excel, SPSS, Stata, Parquet, Qualtrics and LimeSurvey exports.

CSV goes through pyarrow's parser (``_read_text_arrow``: columns of numbers straight into
numpy, the rest tidied by vectorised kernels), with pandas' text-first reader as the general
fallback giving the same frame; ``write_data`` writes the cleaned, scored study as Parquet
(or CSV), the fast way to reopen a national survey. An .xlsx (a zip archive) is refused
before it is unpacked when it would unpack to more than ``MAX_UNPACKED_BYTES`` or is
compressed more than ``MAX_COMPRESSION_RATIO`` times.

``read_data`` is the one entry point. It takes a path or the bytes of an upload and
returns an ``ImportResult``: the data as a DataFrame (one row per respondent, numbers as
numbers) and ``meta`` saying what was found (format, value and variable labels, declared
missing codes, and notes on what was detected: delimiter, encoding, decimal comma,
Qualtrics header rows...). Every failure is an ``InputError`` that names the file and
says what to do; nothing here shows a traceback to a user.
"""
from __future__ import annotations

import csv
import datetime
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from analysis.errors import InputError

MAX_COLUMNS = 5000
TEXT_EXTENSIONS = {".csv", ".tsv", ".txt", ".tab", ".dat"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
PARQUET_EXTENSIONS = {".parquet", ".pq"}
FORMATS = ("csv", "xlsx", "sav", "dta", "parquet")
SUPPORTED = ".csv, .tsv, .txt, .xlsx, .sav, .dta, .parquet (Qualtrics and LimeSurvey CSV exports included)"
# An .xlsx is a zip archive: refuse one that would unpack to more than this, or that is
# compressed more than real workbooks ever are (sheets of survey answers: about 5-20 times),
# before anything is unpacked (a "zip bomb" of 2 MB can unpack to many GB).
MAX_UNPACKED_BYTES = 1024 ** 3
MAX_COMPRESSION_RATIO = 100
WAY_OUT = ("save the data as Parquet (python -m analysis validate FILE --instrument ID --export FILE.parquet "
           "on a machine with more memory), or export a smaller extract (fewer columns or respondents)")

# Text that means "no answer" in exported files; read as missing (and counted in the notes).
NA_TOKENS = frozenset({"NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "#NULL!"})
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
LIMESURVEY_COLUMNS = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate",
                      "datestamp", "refurl", "ipaddr", "token"}
QUALTRICS_COLUMNS = {"startdate", "enddate", "responseid", "finished", "recordeddate", "progress",
                     "status", "ipaddress", "durationinseconds", "distributionchannel"}

_MAGIC = [  # (prefix, what it is, what to do) for binary files given under a text name
    (b"PK\x03\x04", "an Excel workbook or another ZIP archive", "if it is an Excel file, rename it to .xlsx"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls or other Office file", "save it as .xlsx or CSV in Excel/LibreOffice"),
    (b"$FL2", "an SPSS data file", "rename it to .sav"),
    (b"$FL3", "a compressed SPSS data file", "rename it to .zsav or .sav"),
    (b"<stata_dta>", "a Stata data file", "rename it to .dta"),
    (b"%PDF", "a PDF document", "export the survey data as CSV, XLSX, SAV or DTA"),
    (b"\x89PNG", "a PNG image", "export the survey data as CSV, XLSX, SAV or DTA"),
    (b"\xff\xd8\xff", "a JPEG image", "export the survey data as CSV, XLSX, SAV or DTA"),
    (b"\x1f\x8b", "a gzip archive", "unpack it first"),
    (b"PAR1", "a Parquet file", "rename it to .parquet"),
]


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
SAMPLE_CHARS = 200_000  # the start of a text file the delimiter and decimal mark are guessed from


def _too_large(name: str, size: int, limit: int) -> None:
    raise InputError(f"the file is {_human(size)}, over the limit of {_human(limit)}", file=name,
                     hint="select fewer columns or respondents before exporting, or save it as Parquet "
                          "(.parquet, several times smaller than CSV)")


def _human(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


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


def _binary_kind(content: bytes) -> tuple[str, str] | None:
    """What a non-text file is, or None when it looks like text."""
    for magic, what, todo in _MAGIC:
        if content.startswith(magic):
            return what, todo
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 text with a byte-order mark
    head = content[:8192]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > 0.02 * len(head):
        return "a binary file, not text", "export the survey data as CSV, XLSX, SAV or DTA"
    return None


# --------------------------------------------------------------------------- text (CSV)

def _decode(content: bytes, name: str, meta: dict) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        meta["encoding"] = "utf-8-sig"
        return content[3:].decode("utf-8", errors="replace")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        meta["encoding"] = "utf-16"
        meta["notes"].append("encoding: UTF-16 (e.g. Excel 'Unicode text')")
        return content.decode("utf-16")
    try:
        text = content.decode("utf-8")
        meta["encoding"] = "utf-8"
        return text
    except UnicodeDecodeError:
        pass
    for encoding, label in (("cp1252", "Windows-1252 (Western European)"), ("latin-1", "Latin-1 (ISO-8859-1)")):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        meta["encoding"] = encoding
        meta["notes"].append(f"encoding: the file is not UTF-8; read as {label}")
        return text
    raise InputError("cannot decode the text", file=name, hint="save the file as UTF-8 CSV")


def _sniff_delimiter(sample: str, truncated: bool) -> str:
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        rows = [r for r in islice(csv.reader(io.StringIO(sample), delimiter=delim), 50) if r]
        if truncated and len(rows) > 1:
            rows = rows[:-1]  # the last record of a cut sample may be incomplete
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(len(r) == width for r in rows) / len(rows)
        score = (round(consistent, 2), width)
        if score > best_score:
            best, best_score = delim, score
    return best


_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")


def _read_text(content: bytes, name: str, meta: dict, max_columns: int,
               pick: Callable[[list[str]], Any] | None = None) -> pd.DataFrame:
    binary = _binary_kind(content)
    if binary:
        what, todo = binary
        raise InputError(f"this is not a text/CSV file: it looks like {what}", file=name, hint=todo)
    text: str | None = None
    if content.isascii():  # the common case: ASCII is UTF-8, so the columnar reader takes the bytes as they are
        meta["encoding"] = "utf-8"
        head = content[:SAMPLE_CHARS + 1].decode("ascii")
    else:
        text = _decode(content, name, meta)
        head = text[:SAMPLE_CHARS + 1]
    if re.match(r"^\s*<(!doctype html|html|\?xml)", head[:200], re.IGNORECASE):
        raise InputError("this is a web page or XML document, not a data export", file=name,
                         hint="the download probably failed (e.g. a login page): export the data again")
    declared = re.match(r"^\s*sep=(.)\s*\r?\n", head)  # Excel's "sep=;" first line
    if declared:
        text = (text if text is not None else content.decode("ascii"))[declared.end():]
        head = text[:SAMPLE_CHARS + 1]
        meta["notes"].append("Excel 'sep=' line read and skipped")
    sample = head[:SAMPLE_CHARS]
    delim = declared.group(1) if declared else _sniff_delimiter(sample, truncated=len(head) > len(sample))
    header = next(csv.reader(io.StringIO(sample), delimiter=delim), [])
    if len(header) > max_columns:
        raise InputError(f"the file has {len(header):,} columns, more than the limit of {max_columns:,}",
                         file=name, hint="keep only the columns you need (items, ids, groups) and export again")
    meta["delimiter"] = delim
    if delim != ",":
        meta["notes"].append(f"delimiter: {DELIMITER_NAMES.get(delim, repr(delim))}")
    sample_cells = [c.strip() for r in islice(csv.reader(io.StringIO(sample), delimiter=delim), 1, 200) for c in r]
    comma_dec = sum(bool(_COMMA_DECIMAL.match(c)) for c in sample_cells)
    dot_dec = sum(bool(_DOT_DECIMAL.match(c)) for c in sample_cells)
    decimal_comma = delim in (";", "\t", "|") and comma_dec > dot_dec
    meta["decimal"] = "," if decimal_comma else "."
    if decimal_comma:
        meta["notes"].append("decimal comma: numbers like 3,5 read as 3.5")
    if text is None:  # ASCII: the bytes are the text
        end = content.find(b"\n")
        body, quoted = content, b'"' in content
        first_line = (content if end < 0 else content[:end]).decode("ascii")
    else:
        body = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
        if meta.get("encoding") not in ("utf-8", "utf-8-sig") or declared:
            body = text.encode("utf-8")
        end = text.find("\n")
        first_line = text if end < 0 else text[:end]  # (not split: that would copy the whole file's text)
        quoted = '"' in text
    starts_blank = head[:1] in ("\n", "\r")
    if pick is not None:  # only some columns: on a copy of meta, kept if the columns suffice
        trial = {**meta, "notes": list(meta["notes"])}
        part = _read_text_arrow(body, first_line, starts_blank, quoted, delim, header, name, trial, decimal_comma,
                                pick=pick)
        if isinstance(part, pd.DataFrame):
            meta.update(trial)
            return part
    fast = _read_text_arrow(body, first_line, starts_blank, quoted, delim, header, name, meta, decimal_comma)
    if fast is not None:
        return fast
    return _read_text_pandas(text if text is not None else content.decode("ascii"), delim, header, name, meta,
                             decimal_comma)


def _read_text_pandas(text: str, delim: str, header: list, name: str, meta: dict,
                      decimal_comma: bool) -> pd.DataFrame:
    """The general reader: every cell as text first, then tidied column by column (files the
    columnar reader declines: ragged rows, odd headers)."""
    try:
        raw = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, keep_default_na=False, na_filter=False,
                          skip_blank_lines=True, engine="c")
    except pd.errors.EmptyDataError:
        raise InputError("the file has no columns", file=name, hint="export the survey again") from None
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"line {line.group(1)} has" if line else "some lines have"
        raise InputError(f"{where} more fields than the header ({len(header)} columns)", file=name,
                         hint="check that text answers with the delimiter are quoted, or export again") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.astype(object).where(raw.notna(), "")
    fmt = "csv"
    if _is_qualtrics(raw):
        raw = _strip_qualtrics(raw, meta)
        fmt = "qualtrics"
    elif _is_limesurvey(raw.columns):
        fmt = "limesurvey"
    data = _finish(raw, name, meta, decimal_comma)
    if fmt == "limesurvey":
        data = _limesurvey(data, meta)
    meta["format"] = fmt
    return data


def _read_text_arrow(body: bytes, first_line: str, starts_blank: bool, quoted: bool, delim: str, header: list,
                     name: str, meta: dict, decimal_comma: bool,
                     pick: Callable[[list[str]], Any] | None = None) -> pd.DataFrame | None:
    """Columnar reader: the same frame as the general reader, about 20 times faster on a
    national survey. pyarrow's CSV parser reads columns of plain numbers
    (blanks allowed) straight into numbers; every other column (text, dates, NA tokens,
    numbers only Python's parser reads) is read again as text and tidied by ``_coerce``'s
    rules, with vectorised kernels. Returns None, handing the file to the general reader,
    when it is not a plain rectangular table (ragged rows, a header spanning lines).
    ``body`` is the file as UTF-8 without a byte-order mark or Excel's ``sep=`` line,
    ``first_line`` its header line, ``starts_blank`` whether it starts with an empty line and
    ``quoted`` whether it has a double quote anywhere.
    With ``pick`` only the columns it names (and the first) are converted; None also when a
    row is missing in all of them (it might be an empty row of the file, which is dropped)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is pinned in requirements.txt
        return None
    if not header or starts_blank or next(csv.reader([first_line], delimiter=delim), []) != header:
        return None
    width = len(header)
    internal = [f"c{i}" for i in range(width)]
    never = ["\x00never\x00"]  # no column is read as true/false: the general reader keeps them as text

    def options(columns=None, only=None):
        types = {c: pa.string() for c in columns} if columns is not None else {}
        columns = columns if columns is not None else only
        return dict(
            # one thread: on a shared 2-core server, threads cost 50% more CPU for little wall time
            read_options=pacsv.ReadOptions(column_names=internal, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=quoted, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=columns, null_values=[""], true_values=never,
                false_values=never, strings_can_be_null=False, quoted_strings_can_be_null=False,
                decimal_point="," if decimal_comma else "."))

    def read(columns=None, only=None):
        # The streaming reader holds one block at a time (a 130 MB file: 60 MB, not 370 MB, and a
        # quarter of the CPU). It takes each column's type from the first block; when a later
        # block does not fit that type (a column whose first answers are blank or whole numbers
        # and later ones are not) it stops, and the whole-file reader infers the type that fits
        # every block. When it does not stop, that first-block type is the one the whole-file
        # reader infers (the first type in Arrow's order that fits all values).
        try:
            return pacsv.open_csv(io.BytesIO(body), **options(columns, only)).read_all()
        except pa.ArrowInvalid:
            return pacsv.read_csv(io.BytesIO(body), **options(columns, only))

    def stream_numbers(only):
        """The columns Arrow reads as numbers, block by block into one float64 array each (no
        second copy of the file's numbers in Arrow's memory), with what ``_numeric_arrow``
        needs to type them; None when a block does not fit the first block's types or a whole
        number is too large for a double (then ``read`` and ``_numeric_arrow`` do it)."""
        reader = pacsv.open_csv(io.BytesIO(body), **options(None, only))
        at = {f.name: k for k, f in enumerate(reader.schema)}
        kinds = {}
        for i in positions:
            t = reader.schema.field(internal[i]).type
            if pa.types.is_null(t):
                kinds[i] = "null"
            elif pa.types.is_integer(t):
                kinds[i] = "int"
            elif pa.types.is_floating(t):
                kinds[i] = "float"
        # A row holds at least ``width`` bytes (its delimiters and line end), so the file has at
        # most len(body) / width rows: for the few columns a command names, buffers of that length,
        # filled block by block, spare the pass over the whole file that counting its lines takes.
        # Reading many columns (a whole study), or a narrow file where the bound is far above the
        # rows, the lines are counted: the memory allocator keeps the spare ends of a hundred
        # oversized buffers (the process's peak grew by 90 MB on a national survey).
        capacity = len(body) // width + 2
        if len(kinds) > 8 or capacity * 8 > 4 * len(body):
            capacity = body.count(b"\n") + 2
        buffers = {i: np.empty(capacity) for i, k in kinds.items() if k != "null"}
        nulls = dict.fromkeys(kinds, False)
        nan_text = dict.fromkeys(kinds, False)
        heads: dict[int, list] = {}
        rows = 0
        for batch in reader:
            size = batch.num_rows
            if rows + size > capacity:  # not expected (see the bound above): grow rather than fail
                capacity = 2 * (rows + size)
                buffers = {i: np.concatenate([b[:rows], np.empty(capacity - rows)]) for i, b in buffers.items()}
            for i, kind in kinds.items():
                col = batch.column(at[internal[i]])
                if len(heads.get(i, [])) < 2:
                    heads[i] = heads.get(i, []) + col.slice(0, 2 - len(heads.get(i, []))).to_pylist()
                if kind == "null":
                    continue
                nulls[i] = nulls[i] or bool(col.null_count)
                if kind == "float" and not nan_text[i]:
                    nan_text[i] = bool(pc.sum(pc.is_nan(col)).as_py() or 0)
                buffers[i][rows:rows + size] = col.to_numpy(zero_copy_only=False)
            rows += size
        result = {}
        for i, kind in kinds.items():
            if nan_text[i]:
                continue  # 'nan' written in the file: read as text, as the general reader does
            if kind == "null":
                result[i] = np.full(rows, np.nan)
                continue
            values = buffers.pop(i)[:rows]
            if kind == "int" and rows and np.abs(values).max() >= 2**53:
                return None  # an id too long for a double: Arrow's int64 column keeps it exact
            if nulls[i]:
                result[i] = values
            elif kind == "int":
                result[i] = values.astype("int64") if rows else values
            else:
                with np.errstate(invalid="ignore"):
                    whole = rows and np.all(np.mod(values, 1) == 0) and np.abs(values).max() < 2**53
                result[i] = values.astype("int64") if whole else values
        return result, heads, rows

    try:  # the header names exactly as pandas makes them (blanks, repeats)
        names = [str(c).strip() for c in pd.read_csv(io.StringIO(first_line), sep=delim, dtype=str, nrows=0,
                                                      engine="c").columns]
    except Exception:  # noqa: BLE001 - any doubt: the general reader
        return None
    if len(names) != width:
        return None
    positions = list(range(width))
    if pick is not None:
        lower = {re.sub(r"[^a-z]", "", n.lower()) for n in names}
        if _is_limesurvey(names) or len(lower & QUALTRICS_COLUMNS) >= 3:
            return None  # columns renamed or header rows: read whole
        chosen = pick(_unique_names(list(names), {"notes": []}))
        if chosen is None:
            return None
        chosen = set(chosen)
        positions = [i for i, n in enumerate(_unique_names(list(names), {"notes": []})) if i == 0 or n in chosen]
    only = None if pick is None else [internal[i] for i in positions]
    try:
        try:
            streamed = stream_numbers(only)
        except pa.ArrowInvalid:  # a later block needs another type: the whole-file reader
            streamed = None
        numeric: dict = {}
        if streamed is not None:
            numeric, heads, n_streamed = streamed
        else:
            table = read(only=only)
            for i, col in zip(positions, table.columns):
                t = col.type
                if pa.types.is_null(t) or pa.types.is_integer(t):
                    numeric[i] = col
                elif pa.types.is_floating(t) and not (pc.sum(pc.is_nan(col)).as_py() or 0):
                    numeric[i] = col  # NaN only where the cell was blank (no 'nan' text to count or keep)
            del table
            heads = {i: col.slice(0, 2).to_pylist() for i, col in numeric.items()}
        text_cols = [internal[i] for i in positions if i not in numeric]
        texts = read(text_cols) if text_cols else None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None

    def raw_head(i):
        if i in numeric:
            return ["" if v is None else str(v) for v in heads.get(i, [])]
        return texts.column(internal[i]).slice(0, 2).to_pylist()

    head = pd.DataFrame({i: raw_head(i) for i in positions}, dtype=object)
    head.columns = [names[i] for i in positions]
    fmt = "csv"
    if _is_qualtrics(head):
        return None  # header rows of question texts: every column is text, the general reader is as fast
    if _is_limesurvey(names):
        fmt = "limesurvey"
    del head
    if streamed is not None:
        n_rows = n_streamed
    else:
        n_rows = len(next(iter(numeric.values()))) if numeric else len(texts) if texts is not None else 0
    names = _unique_names(names, meta)
    tokens = 0
    out = {}
    kept = set(positions)
    for i, col in enumerate(names):
        if i not in kept:
            continue
        if i in numeric:
            out[col] = numeric.pop(i) if streamed is not None else _numeric_arrow(numeric.pop(i), n_rows)
        elif texts is not None:  # every column not read as numbers was read as text
            out[col], n = _coerce_arrow(texts.column(internal[i]), decimal_comma)
            tokens += n
    frame = pd.DataFrame(out, index=pd.RangeIndex(n_rows), copy=False)
    if pick is not None:
        if len(positions) < width and frame.isna().all(axis=1).any():
            return None  # a row missing in every column read may be empty in the file too: read whole
        meta["columns_read"] = list(frame.columns)
    data = _tidy(frame, name, meta, tokens)
    if fmt == "limesurvey":
        data = _limesurvey(data, meta)
    meta["format"] = fmt
    return data


def _numeric_arrow(col, n_rows: int) -> np.ndarray:
    """A column pyarrow read as numbers: int64 when every cell is a whole number (as
    ``_coerce``), else float64 with NaN for blanks."""
    import pyarrow as pa

    if pa.types.is_null(col.type):
        return np.full(n_rows, np.nan)
    values = col.to_numpy(zero_copy_only=False)
    if col.null_count:
        return values.astype(float, copy=False)
    if pa.types.is_integer(col.type):
        return values.astype("int64", copy=False) if n_rows and np.abs(values).max() < 2**53 else values.astype(float)
    with np.errstate(invalid="ignore"):
        whole = n_rows and np.all(np.mod(values, 1) == 0) and np.abs(values).max() < 2**53
    return values.astype("int64") if whole else values


# --------------------------------------------------------------------------- survey platforms

def _is_qualtrics(raw: pd.DataFrame) -> bool:
    if len(raw) < 1:
        return False
    if len(raw) >= 2:
        second = raw.iloc[1].astype(str).str.strip()
        filled = second[second != ""]
        if len(filled) and filled.str.startswith('{"ImportId"').mean() >= 0.5:
            return True
    cols = {re.sub(r"[^a-z]", "", str(c).lower()) for c in raw.columns}
    if len(cols & QUALTRICS_COLUMNS) >= 3 and "StartDate" in raw.columns:
        # Legacy export: one row of question texts ("Start Date") under the names.
        return not re.match(r"^\d", str(raw["StartDate"].iloc[0]).strip() or "0")
    return False


def _strip_qualtrics(raw: pd.DataFrame, meta: dict) -> pd.DataFrame:
    second = raw.iloc[1].astype(str).str.strip() if len(raw) >= 2 else pd.Series(dtype=str)
    n_header = 2 if len(second) and second.str.startswith('{"ImportId"').any() else 1
    texts = raw.iloc[0]
    meta["variable_labels"].update({str(c): str(t).strip() for c, t in texts.items()
                                    if isinstance(t, str) and t.strip() and t.strip() != str(c)})
    meta["header_rows"] = 1 + n_header
    meta["notes"].append(
        "Qualtrics export: the question-text" + (" and ImportId rows" if n_header == 2 else " row")
        + " under the column names were dropped; question texts kept as variable labels")
    return raw.iloc[n_header:].reset_index(drop=True)


def _is_limesurvey(columns) -> bool:
    lower = {str(c).strip().lower() for c in columns}
    return len(lower & LIMESURVEY_COLUMNS) >= 3 and bool(lower & {"submitdate", "lastpage", "startlanguage"})


_LIME_CODE = re.compile(r"^A(?:O)?0*(\d+)$", re.IGNORECASE)


def _limesurvey(data: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Readable names for ``Q1[SQ001]`` columns and numbers for answer codes ``A1``/``AO01``."""
    renames, converted = {}, []
    for col in data.columns:
        s = data[col]
        if s.dtype == object:
            filled = s.dropna().astype(str)
            codes = filled.str.extract(_LIME_CODE)[0]
            if len(filled) and codes.notna().all():
                data[col] = pd.to_numeric(s.astype(str).str.extract(_LIME_CODE)[0], errors="coerce")
                converted.append(str(col))
        if "[" in str(col):
            new = re.sub(r"_+$", "", re.sub(r"[\[\]]+", "_", str(col)))
            renames[col] = new
            meta["variable_labels"].setdefault(new, str(col))
    if renames:
        taken = set(data.columns) - set(renames)
        for old, new in list(renames.items()):
            while new in taken:
                new += "_"
            renames[old] = new
            taken.add(new)
        data = data.rename(columns=renames)
        meta["notes"].append(f"LimeSurvey export: {len(renames)} subquestion columns renamed "
                             "(e.g. Q1[SQ001] -> Q1_SQ001; the original name is kept as the label)")
    if converted:
        meta["notes"].append(f"LimeSurvey answer codes (A1, AO01...) converted to numbers in {len(converted)} columns")
    return data


# --------------------------------------------------------------------------- Excel

def _read_xlsx(content: bytes, name: str, meta: dict, sheet: str | int | None, max_columns: int) -> pd.DataFrame:
    import openpyxl

    damaged = InputError("the Excel file is damaged or incomplete (was the upload or download cut off?)",
                         file=name, hint="open and save it again in Excel/LibreOffice, or export it as CSV")
    if not content.startswith(b"PK"):
        if _binary_kind(content) is None:
            raise InputError("this is not an Excel workbook: it looks like text", file=name,
                             hint="rename it to .csv")
        raise damaged
    _check_archive(content, name)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            bad = archive.testzip()
            sheet_xml = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
        if bad is not None:
            raise damaged
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except InputError:
        raise
    except Exception:  # zipfile/openpyxl/XML raise many types for a damaged archive
        raise damaged from None
    try:
        names = list(wb.sheetnames)
        meta["sheets"] = names
        ws_name = _pick_sheet(wb, names, sheet, name)
        ws = wb[ws_name]
        ws.reset_dimensions()
        rows = _sheet_rows(ws, name, ws_name, max_columns)
    except InputError:
        raise
    except Exception:
        raise damaged from None
    finally:
        wb.close()
    if len(names) > 1:
        meta["notes"].append(f"sheet '{ws_name}' read ({len(names)} sheets: {', '.join(names)})")
    meta["sheet"] = ws_name
    header, body = rows
    if any(b"<f>" in x or b"<f " in x for x in sheet_xml):
        _check_formulas(content, ws_name, header, body, name)
    raw = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header)
    fmt = "xlsx"
    if _is_qualtrics(raw.astype(object).where(raw.notna(), "")):
        raw = _strip_qualtrics(raw, meta)
        fmt = "qualtrics"
    data = _finish(raw, name, meta, decimal_comma=False)
    if _is_limesurvey(data.columns):
        data, fmt = _limesurvey(data, meta), "limesurvey"
    meta["format"] = fmt
    return data


def _check_archive(content: bytes, name: str, max_unpacked: int | None = None,
                   max_ratio: float | None = None) -> None:
    """Refuse a zip archive (an .xlsx) whose members would unpack to more than
    ``MAX_UNPACKED_BYTES`` or are compressed more than ``MAX_COMPRESSION_RATIO`` times, from
    the sizes in its central directory, before anything is unpacked. The sizes declared
    there cannot understate what is unpacked: ``zipfile`` stops reading a member at its
    declared size and checks the CRC, so a lying archive is refused as damaged."""
    max_unpacked = MAX_UNPACKED_BYTES if max_unpacked is None else max_unpacked
    max_ratio = MAX_COMPRESSION_RATIO if max_ratio is None else max_ratio
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except Exception:  # not a readable zip: the caller says "damaged"
        return
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    worst = max((m.file_size / max(m.compress_size, 1) for m in members), default=0.0)
    if unpacked > max_unpacked:
        raise InputError(f"the workbook would unpack to {_human(unpacked)}, over the limit of "
                         f"{_human(max_unpacked)}; it was not opened", file=name, hint=WAY_OUT)
    if unpacked > 1024 ** 2 and max(unpacked / packed, worst) > max_ratio:
        raise InputError(f"the workbook is compressed {max(unpacked / packed, worst):.0f} times (it would unpack "
                         f"to {_human(unpacked)}), more than the {max_ratio:.0f} times real workbooks reach: "
                         "it looks like a zip bomb and was not opened", file=name,
                         hint="export the survey again as .xlsx or CSV from the survey tool")


def _pick_sheet(wb, names: list[str], sheet, name: str) -> str:
    if sheet is not None and str(sheet) != "":
        text = str(sheet)
        if text in names:
            return text
        lower = {n.lower(): n for n in names}
        if text.strip().lower() in lower:
            return lower[text.strip().lower()]
        if text.strip().isdigit() and 1 <= int(text) <= len(names):
            return names[int(text) - 1]
        raise InputError(f"there is no sheet '{sheet}'", file=name, hint=f"the sheets are: {', '.join(names)}")
    # The first sheet that looks like a table (a header with 2+ names), so a leading
    # "About"/notes sheet is passed over; else the first sheet with anything in it.
    first_filled = None
    for candidate in names:
        ws = wb[candidate]
        ws.reset_dimensions()
        for row in islice(ws.iter_rows(values_only=True), 20):
            filled = sum(v is not None and str(v).strip() != "" for v in row)
            if filled:
                first_filled = first_filled or candidate
                if filled >= 2:
                    return candidate
                break
    return first_filled or names[0]


def _sheet_rows(ws, name: str, ws_name: str, max_columns: int):
    it = ws.iter_rows(values_only=True)
    header = None
    for row in it:
        if any(v is not None and str(v).strip() != "" for v in row):
            header = list(row)
            break
    if header is None:
        raise InputError(f"sheet '{ws_name}' is empty", file=name, hint="choose the sheet that holds the answers")
    while header and (header[-1] is None or str(header[-1]).strip() == ""):
        header.pop()
    if len(header) > max_columns:
        raise InputError(f"the sheet has {len(header):,} columns, more than the limit of {max_columns:,}",
                         file=name, hint="keep only the columns you need (items, ids, groups) and export again")
    width = len(header)
    body = []
    for row in it:
        row = list(row[:width]) + [None] * max(0, width - len(row))
        body.append(row)
    while body and all(v is None for v in body[-1]):
        body.pop()
    names = []
    for j, v in enumerate(header):
        label = str(v).strip() if v is not None and str(v).strip() else f"column_{j + 1}"
        if isinstance(v, float) and v.is_integer():
            label = str(int(v))
        names.append(label)
    return names, body


def _check_formulas(content: bytes, ws_name: str, header: list, body: list, name: str) -> None:
    """openpyxl and some tools save formulas without their computed values: refuse those."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    try:
        ws = wb[ws_name]
        ws.reset_dimensions()
        first = None
        count = 0
        rows = ws.iter_rows()
        for row in rows:  # skip to the header row, as _sheet_rows did
            if any(c.value is not None and str(c.value).strip() != "" for c in row):
                break
        for i, row in enumerate(rows):
            if i >= len(body):
                break
            for j, cell in enumerate(row[:len(header)]):
                if body[i][j] is None and isinstance(cell.value, str) and cell.value.startswith("="):
                    count += 1
                    if first is None:
                        first = f"{get_column_letter(j + 1)}{cell.row}"
    finally:
        wb.close()
    if count:
        raise InputError(f"{count} cells on sheet '{ws_name}' hold formulas without saved values "
                         f"(e.g. cell {first})", file=name,
                         hint="open and save the file in Excel/LibreOffice, or export it as CSV")


# --------------------------------------------------------------------------- Parquet

def _read_parquet(content: bytes, name: str, meta: dict, max_columns: int) -> pd.DataFrame:
    """A Parquet file (e.g. written by ``write_data``): typed columns, read without parsing
    text. Text columns are tidied as CSV cells are (blanks and NA tokens missing)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is pinned in requirements.txt
        raise InputError("reading Parquet needs the pyarrow package", file=name,
                         hint="pip install pyarrow, or export the data as CSV") from None
    try:
        handle = pq.ParquetFile(io.BytesIO(content))
        if len(handle.schema_arrow.names) > max_columns:
            raise InputError(f"the file has {len(handle.schema_arrow.names):,} columns, more than the limit of "
                             f"{max_columns:,}", file=name,
                             hint="keep only the columns you need (items, ids, groups) and export again")
        table = handle.read()
    except InputError:
        raise
    except Exception:  # pyarrow raises several types for a damaged file
        raise InputError("the Parquet file is damaged or incomplete", file=name,
                         hint="write it again, or export the data as CSV") from None
    names = [str(c).strip() for c in table.column_names]
    names = _unique_names(names, meta)
    out, tokens = {}, 0
    for col, values in zip(names, table.columns):
        import pyarrow as pa

        t = values.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            out[col], n = _coerce_arrow(values.cast(pa.string()), decimal_comma=False)
            tokens += n
        elif pa.types.is_dictionary(t):
            out[col], n = _coerce_arrow(values.cast(pa.string()), decimal_comma=False)
            tokens += n
        else:
            series = values.to_pandas()
            if pa.types.is_integer(t) and values.null_count:
                series = series.astype(float)
            out[col] = series.to_numpy() if not isinstance(series.dtype, pd.CategoricalDtype) else series
    del table
    n_rows = len(next(iter(out.values()))) if out else 0
    return _tidy(pd.DataFrame(out, index=pd.RangeIndex(n_rows), copy=False), name, meta, tokens)


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

def _read_stat(source, content: bytes, name: str, meta: dict, kind: str, max_columns: int) -> pd.DataFrame:
    import pyreadstat

    label = "SPSS" if kind == "sav" else "Stata"
    expected = (b"$FL2", b"$FL3") if kind == "sav" else (b"<stata_dta>", b"\x71", b"\x72", b"\x73", b"\x6e", b"\x6f")
    if not content.startswith(expected):
        if _binary_kind(content) is None:
            raise InputError(f"this is not an {label} file: it looks like text", file=name, hint="rename it to .csv")
        raise InputError(f"this is not a readable {label} file", file=name,
                         hint=f"save it again from {label}, or export it as CSV")
    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    tmp = None
    try:
        if isinstance(source, (str, Path)):
            path = str(source)
        else:
            tmp = tempfile.NamedTemporaryFile(suffix="." + kind, delete=False)
            tmp.write(content)
            tmp.close()
            path = tmp.name
        try:
            _, head = reader(path, metadataonly=True)
            if len(head.column_names) > max_columns:
                raise InputError(f"the file has {len(head.column_names):,} columns, more than the limit of "
                                 f"{max_columns:,}", file=name,
                                 hint="keep only the columns you need (items, ids, groups) and save again")
            df, m = reader(path, apply_value_formats=False, user_missing=True)
        except InputError:
            raise
        except Exception:  # pyreadstat.ReadstatError and friends on a damaged file
            raise InputError(f"the {label} file is damaged or incomplete", file=name,
                             hint=f"save it again from {label}, or export it as CSV") from None
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    if df.shape[0] == 0:
        raise InputError(f"the file has variables ({df.shape[1]}) but no respondents", file=name,
                         hint="export the data file, not only its dictionary/labels")
    meta["value_labels"] = {str(col): {_clean_code(k): str(v) for k, v in labels.items()}
                            for col, labels in (m.variable_value_labels or {}).items()}
    meta["variable_labels"] = {str(c): str(lab) for c, lab in (m.column_names_to_labels or {}).items()
                               if lab not in (None, "")}
    df = _declared_missing(df, m, meta, kind)
    for col in df.columns:  # empty strings are SPSS/Stata's blank answers
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].where(df[col].astype(str).str.strip() != "", np.nan)
    if meta["value_labels"]:
        meta["notes"].append(f"value labels kept for {len(meta['value_labels'])} variables (codes stay numeric)")
    return df


def _clean_code(code):
    if isinstance(code, float) and code.is_integer():
        return int(code)
    return code


def _declared_missing(df: pd.DataFrame, m, meta: dict, kind: str) -> pd.DataFrame:
    """Set user-defined missing codes to NaN and record them in ``meta['missing_codes']``."""
    total = 0
    ranges_meta = {}
    for col, ranges in (getattr(m, "missing_ranges", None) or {}).items():
        if col not in df.columns:
            continue
        s = pd.to_numeric(df[col], errors="coerce")
        mask = pd.Series(False, index=df.index)
        codes = []
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if lo is None or hi is None:
                continue
            mask |= s.between(lo, hi)
            if lo == hi:
                codes.append(_clean_code(float(lo)))
            else:
                ranges_meta.setdefault(str(col), []).append([_clean_code(float(lo)), _clean_code(float(hi))])
                codes.extend(_clean_code(float(v)) for v in sorted(s[s.between(lo, hi)].unique()))
        if codes:
            meta["missing_codes"][str(col)] = sorted(set(codes), key=float)
        total += int(mask.sum())
        df[col] = s.where(~mask)
    for col, codes in (getattr(m, "missing_user_values", None) or {}).items():
        if col not in df.columns:
            continue  # Stata's .a-.z come back as letters in numeric columns
        s = df[col]
        mask = s.astype(str).isin([str(c) for c in codes])
        total += int(mask.sum())
        meta["missing_codes"][str(col)] = ["." + str(c) for c in codes]
        df[col] = pd.to_numeric(s.where(~mask), errors="coerce")
    if ranges_meta:
        meta["missing_ranges"] = ranges_meta
    if meta["missing_codes"]:
        meta["notes"].append(f"declared missing codes set to missing: {total} cells in "
                             f"{len(meta['missing_codes'])} variables")
    return df


# --------------------------------------------------------------------------- common clean-up

def _finish(raw: pd.DataFrame, name: str, meta: dict, decimal_comma: bool) -> pd.DataFrame:
    """Tidy a frame of raw cells: names, empty rows/columns, missing tokens, numbers."""
    raw = raw.copy()
    raw.columns = _unique_names([str(c).strip() for c in raw.columns], meta)
    tokens = 0
    out = {}
    for col in raw.columns:
        out[col], n = _coerce(raw[col], decimal_comma)
        tokens += n
    return _tidy(pd.DataFrame(out, index=raw.index), name, meta, tokens)


def _tidy(data: pd.DataFrame, name: str, meta: dict, tokens: int) -> pd.DataFrame:
    empty_rows = data.isna().all(axis=1)
    if empty_rows.any() and len(data):
        meta["notes"].append(f"{int(empty_rows.sum())} empty rows skipped")
        data = data[~empty_rows]
    unnamed = [c for c in data.columns if (c.startswith("Unnamed:") or c.startswith("column_"))
               and data[c].isna().all()]
    if unnamed:
        data = data.drop(columns=unnamed)
        meta["notes"].append(f"{len(unnamed)} empty unnamed columns dropped")
    if data.shape[0] == 0:
        raise InputError("the file has column names but no respondents", file=name,
                         hint="check that the export includes the responses")
    if tokens:
        meta["notes"].append(f"{tokens} cells with text such as 'NA' or 'N/A' read as missing")
    return data.reset_index(drop=True)


_NA_ARRAY = None


def _coerce_arrow(values, decimal_comma: bool) -> tuple[pd.Series, int]:
    """``_coerce`` on a pyarrow string column, with vectorised kernels: strip, blanks and NA
    tokens to missing, then one cast to float64. A column that does not cast (text, or a
    number format only Python reads) goes through ``_coerce`` itself, so the result is the
    general reader's."""
    global _NA_ARRAY
    import pyarrow as pa
    import pyarrow.compute as pc

    if _NA_ARRAY is None:
        _NA_ARRAY = pa.array(sorted(NA_TOKENS))
    stripped = pc.utf8_trim_whitespace(values)
    token = pc.is_in(stripped, value_set=_NA_ARRAY)
    blank = pc.or_(pc.equal(stripped, ""), token)
    cleaned = pc.if_else(blank, pa.scalar(None, pa.string()), stripped)
    if decimal_comma:
        cleaned = pc.replace_substring_regex(cleaned, pattern=r"^([+-]?\d+),(\d+)$", replacement=r"\1.\2")
    try:
        numbers = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
        if int(np.isnan(numbers).sum()) != cleaned.null_count:
            raise pa.ArrowInvalid("text such as 'NAN' read as a number")  # pandas keeps it as text
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raw = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        return _coerce(raw, decimal_comma)
    n_tokens = int(pc.sum(token).as_py() or 0)
    if len(numbers) and not np.isnan(numbers).any() and np.all(np.mod(numbers, 1) == 0) \
            and np.abs(numbers).max() < 2**53:
        return numbers.astype("int64"), n_tokens
    return numbers.astype(float, copy=False), n_tokens


def _unique_names(names: list[str], meta: dict) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            new = f"{n}.{seen[n]}"
            while new in seen:
                seen[n] += 1
                new = f"{n}.{seen[n]}"
            meta["notes"].append(f"duplicate column name '{n}' renamed to '{new}'")
            seen[new] = 0
            out.append(new)
        else:
            seen[n] = 0
            out.append(n)
    return out


def _coerce(s: pd.Series, decimal_comma: bool) -> tuple[pd.Series, int]:
    """Strip text, read NA tokens and blanks as missing, make the column numeric when every
    answer is a number. Returns the column and the number of NA tokens seen."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s, 0  # the parser already read numbers: nothing to tidy (fast path for large files)
    if not decimal_comma:
        # Fast path for large files: a column of plain numbers, with no blanks or NA tokens.
        fast = pd.to_numeric(s, errors="coerce")
        if len(s) and fast.notna().all():
            fast = fast.astype(float)
            values = fast.to_numpy()
            if np.all(np.mod(values, 1) == 0) and np.abs(values).max() < 2**53:
                return fast.astype("int64"), 0
            return fast, 0
    values = s.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    series = pd.Series(values, index=s.index, dtype=object)
    tokens = 0
    if is_text.any():
        text = series[is_text].str.strip()
        tokens = int(text.isin(NA_TOKENS).sum())
        text = text.where(~(text.eq("") | text.isin(NA_TOKENS)), np.nan)
        series[is_text] = text
    series = series.where(series.notna(), np.nan)
    filled = series.dropna()
    if len(filled) == 0:
        return series.astype(float), tokens
    kinds = {type(v) for v in filled}
    if any(issubclass(k, (bool, np.bool_)) for k in kinds):
        return series, tokens  # TRUE/FALSE cells stay as they are
    if any(issubclass(k, (datetime.date, datetime.time, datetime.timedelta, pd.Timestamp)) for k in kinds):
        if all(issubclass(k, (datetime.datetime, pd.Timestamp)) for k in kinds):
            return pd.to_datetime(series), tokens
        return series, tokens
    if decimal_comma:
        filled = filled.map(lambda v: v.replace(",", ".") if isinstance(v, str) and _COMMA_DECIMAL.match(v) else v)
    numbers = pd.to_numeric(filled, errors="coerce")
    if numbers.notna().all():
        result = pd.Series(np.nan, index=s.index, dtype=float)
        result[numbers.index] = numbers.astype(float)
        if result.notna().all() and np.all(np.mod(result.to_numpy(), 1) == 0) and np.abs(result).max() < 2**53:
            return result.astype("int64"), tokens
        return result, tokens
    return series, tokens
