"""Tables on screen, APA-like: column heads in words, numbers written by what they hold, empty
cells for undefined values, a note under the table.

The words and the number formats come from ``analysis.formatting`` (one home, shared with the
reports). A numeric column with every value defined stays numeric, so clicking its head still
sorts by value; only its display is formatted (a pandas Styler). A column with an undefined
value is written as text (Streamlit would print ``None`` in an empty numeric cell) and
right-aligned. The downloads (``ui.widgets.download_buttons``) keep the raw numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis import formatting

NUMERIC_KINDS = ("p", "count", "bounded", "number")


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
        if df[column].isna().any():  # text, so an undefined value is an empty cell, not "None"
            shown[column] = formatting.column_cells(df[column], kind, places)
            config[column] = st.column_config.TextColumn(label, alignment="right")
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
