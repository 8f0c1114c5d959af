"""Tables on screen, APA-like: column heads in words, numbers written by what they hold, empty
cells for undefined values, a note under the table.

The words and the number formats come from ``analysis.formatting`` (one home, shared with the
reports). A numeric column with every value defined stays numeric, so clicking its head still
sorts by value; only its display is formatted (a pandas Styler). A column with an undefined
value is written as text (Streamlit would print ``None`` in an empty numeric cell) and
right-aligned. The downloads (``ui.widgets.download_buttons``) keep the raw numbers.

A table of more than ``BROWSER_FORMATTED_ROWS`` rows (a national survey's 2,000
organisations) is formatted by the browser instead: the Styler writes every cell of the table
on the server (half a second for 2,000 rows of 14 columns), where a printf format per column
costs nothing. The decimals are the same; counts get the reader's own thousands separator,
and coefficients bounded by 1 keep their leading zero (``0.82``), which printf cannot drop.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import formatting

NUMERIC_KINDS = ("p", "count", "bounded", "number")
BROWSER_FORMATTED_ROWS = 500  # above this, numbers are formatted by the browser (no Styler)


def table(df: pd.DataFrame, key: str, *, note: str | None = None, decimals: int = 2, digits: dict | None = None,
          labels: dict | None = None, column_config: dict | None = None, container=None, **kwargs) -> None:
    """``st.dataframe`` of ``df`` as an APA-like table.

    Parameters
    ----------
    df : DataFrame
        The result table as the library returns it (raw numbers, field-vocabulary column names).
    key : str
        The element's key.
    note : str, optional
        Written under the table as *Note.* (APA 7, section 7.14): abbreviations, the test, the
        suppression rule.
    decimals : int
        Decimals of numbers and coefficients (2, as APA 7 rounds most statistics; 3 where
        researchers compare with R's output to the third decimal); p-values always 3.
    digits : dict, optional
        Decimals per column where ``decimals`` does not fit.
    labels : dict, optional
        Column heads that differ from ``analysis.formatting.COLUMN_WORDS``.
    column_config : dict, optional
        Streamlit column settings that replace the generated ones (widths, text columns).
    container : optional
        Where to draw (a column or tab); the page itself by default.
    **kwargs
        Passed to ``st.dataframe`` (``hide_index`` defaults to True).
    """
    digits, labels = digits or {}, labels or {}
    shown = df.copy()
    config: dict = {}
    formatters: dict = {}
    own = column_config or {}
    for column in df.columns:
        if column in own:  # the page's own setting (a percent, a signed change): shown as it says
            continue
        label = labels.get(column, formatting.column_label(column))
        kind = formatting.column_kind(column, df[column])
        if kind not in NUMERIC_KINDS:
            config[column] = st.column_config.Column(label)
            if df[column].dtype == object or pd.api.types.is_bool_dtype(df[column]):
                shown[column] = [_text(v) for v in df[column]]
            continue
        places = digits.get(column, decimals)
        if df[column].isna().any() or (kind == "p" and len(df) > BROWSER_FORMATTED_ROWS):
            # text, so an undefined value is an empty cell, not "None" (and "< .001" has no printf format)
            shown[column] = formatting.column_cells(df[column], kind, places)
            config[column] = st.column_config.TextColumn(label, alignment="right")
        elif len(df) > BROWSER_FORMATTED_ROWS:
            config[column] = st.column_config.NumberColumn(
                label, format="localized" if kind == "count" else f"%.{places}f", alignment="right")
        else:
            formatters[column] = _formatter(kind, places)
            config[column] = st.column_config.Column(label, alignment="right")
    config.update(own)
    kwargs.setdefault("hide_index", True)
    data = shown.style.format(formatters) if formatters else shown
    (container or st).dataframe(data, key=key, column_config=config, **kwargs)
    if note:
        (container or st).caption(f"*Note.* {note}")


def _text(value) -> str:
    """A text cell: empty when undefined, ``yes``/``no`` for a flag."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return "" if formatting.is_blank(value) else str(value)


def _formatter(kind: str, places):
    """One cell as ``formatting.column_cells`` writes it (the same scalar functions, called per
    cell without building a Series: a 2,000-organisation table has 10,000 cells)."""
    if kind == "p":
        return formatting.p_cell
    if kind == "count":
        return formatting.count

    def write(value) -> str:
        return formatting.cell(value, places, bounded=kind == "bounded")
    return write
