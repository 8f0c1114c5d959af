"""CSV and other delimited text (``analysis.io.read_data``): encoding, delimiter and decimal
mark guessed from the file, then pyarrow's columnar parser (``_read_text_arrow``: columns of
numbers straight into numpy, the rest tidied by vectorised kernels), with pandas' text-first
reader as the general fallback giving the same frame."""
from __future__ import annotations

import csv
import io
import re
from itertools import islice
from typing import Any, Callable

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.io_tidy import (_COMMA_DECIMAL, _DOT_DECIMAL, QUALTRICS_COLUMNS, _binary_kind, _coerce_arrow, _finish,
                              _is_limesurvey, _is_qualtrics, _limesurvey, _strip_qualtrics, _tidy, _unique_names)

DELIMITERS = (",", ";", "\t", "|")


DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


SAMPLE_CHARS = 200_000  # the start of a text file the delimiter and decimal mark are guessed from


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
