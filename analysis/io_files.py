"""Binary survey files (``analysis.io.read_data``): Excel workbooks (refused before unpacking when
they would unpack to more than ``MAX_UNPACKED_BYTES`` or are compressed more than
``MAX_COMPRESSION_RATIO`` times), Parquet, and SPSS / Stata files with their value labels and
declared missing codes."""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.io_tidy import (WAY_OUT, _binary_kind, _coerce_arrow, _finish, _human, _is_limesurvey, _is_qualtrics,
                              _limesurvey, _strip_qualtrics, _tidy, _unique_names)

# An .xlsx is a zip archive: refuse one that would unpack to more than this, or that is
# compressed more than real workbooks ever are (sheets of survey answers: about 5-20 times),
# before anything is unpacked (a "zip bomb" of 2 MB can unpack to many GB).
MAX_UNPACKED_BYTES = 1024 ** 3


MAX_COMPRESSION_RATIO = 100


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
    ranges_meta: dict = {}
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
