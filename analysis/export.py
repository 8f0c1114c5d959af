"""Tables as files users download: CSV and Excel that a spreadsheet cannot execute.

Rule (OWASP, "CSV Injection"): a text cell (or column name) that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Google
Sheets. In CSV such a cell is written with a leading single quote (``'=1+1``), which the
spreadsheet shows as text. In XLSX every text cell is stored as a string value, never as a
formula, so the text stays exactly as answered. Numbers stay numbers (``-1`` is not text).
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` with a leading quote when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def _text_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
                                          or pd.api.types.is_datetime64_any_dtype(df[c]))]


def safe_for_csv(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot act as formulas."""
    out = df.copy()
    for c in _text_columns(out):
        out[c] = out[c].astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) if not isinstance(c, (int, float, np.number)) else c for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` (index dropped) with formula-like text neutralised."""
    return safe_for_csv(df).to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An .xlsx file of ``df`` (index dropped; missing values as empty cells) whose text cells
    are string values, never formulas (openpyxl otherwise stores text starting with ``=`` as one)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(sheet_name)[:31] or "data")

    def cell(value):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float, bool)):
            c = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                c.data_type = "s"  # a string, even when it starts with "="
            return c
        c = WriteOnlyCell(ws, value=str(value))
        c.data_type = "s"
        return c

    ws.append([cell(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
