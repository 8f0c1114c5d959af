"""What every reader of ``analysis.io`` shares: binary files recognised under a text name,
sizes and the way out of a file too large, survey-platform layouts (Qualtrics' header rows,
LimeSurvey's answer codes), column names made unique, and text cells turned into numbers,
missing values and tidy text (vectorised, with counts for the notes)."""
from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

from analysis.errors import InputError

WAY_OUT = ("save the data as Parquet (python -m analysis validate FILE --instrument ID --export FILE.parquet "
           "on a machine with more memory), or export a smaller extract (fewer columns or respondents)")


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


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


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


_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")


_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")


# Text that means "no answer" in exported files; read as missing (and counted in the notes).
NA_TOKENS = frozenset({"NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "#NULL!"})


LIMESURVEY_COLUMNS = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate",
                      "datestamp", "refurl", "ipaddr", "token"}


QUALTRICS_COLUMNS = {"startdate", "enddate", "responseid", "finished", "recordeddate", "progress",
                     "status", "ipaddress", "durationinseconds", "distributionchannel"}


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
