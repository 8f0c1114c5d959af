"""How numbers are written in the plain-language readings (APA style), one home for page and library.

``num(.8234)`` -> ``".82"`` (no leading zero for values below 1, as APA 7 section 6.36 writes
coefficients that cannot exceed 1), ``"n/a"`` when undefined; ``p_text`` -> ``"p < .001"`` or
``"p = .042"``.

Table cells (reports and screens) go through ``cell``, ``p_cell``, ``ci_text``, ``count`` and
``percent``: an undefined value is an empty cell (never ``None``, ``nan`` or ``n/a``), a
rounded zero has no sign, p-values are never in e-notation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def num(value, digits: int = 2) -> str:
    """APA style for coefficients: no leading zero (.82), 'n/a' when undefined."""
    if value is None or not np.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def p_text(p) -> str:
    """``p < .001`` below .001, else ``p = .xxx``; ``p n/a`` when undefined."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < .001" if p < 0.001 else f"p = {num(p, 3)}"


# --------------------------------------------------------------------------- table cells
# Cells of tables (reports, screens): an undefined value is an empty cell, never None/nan/n/a.
def is_blank(value) -> bool:
    """True for ``None``, NaN, infinities, ``pd.NA`` and empty strings: what a table leaves empty."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        if pd.isna(value):
            return True
        return not np.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def cell(value, digits: int = 2, *, bounded: bool = False) -> str:
    """A number for a table cell: ``digits`` decimals, ``""`` when undefined.

    Parameters
    ----------
    value : float or None
        The number; ``None``/NaN give an empty cell.
    digits : int
        Decimals shown (2 for coefficients, 1 for 0-100 scores, 0 for counts).
    bounded : bool
        The value cannot exceed 1 in absolute value (correlations, alpha, rwg, ICC): written
        without a leading zero, as APA 7 (section 6.36) asks (``.82``, ``-.05``).

    Returns
    -------
    str
        ``-0.00`` is written ``0.00`` (a rounded zero has no sign).
    """
    if is_blank(value):
        return ""
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    if bounded:
        text = text.replace("0.", ".", 1) if abs(float(text)) < 1 else text
    return text


def p_cell(p) -> str:
    """A p-value for a table cell (APA): ``< .001``, else three decimals without a leading
    zero (``.042``); ``""`` when undefined. Never e-notation."""
    if is_blank(p):
        return ""
    p = float(p)
    return "< .001" if p < 0.001 else cell(min(p, 1.0), 3, bounded=True)


def ci_text(low, high, digits: int = 2, *, bounded: bool = False) -> str:
    """A confidence interval as ``[lo, hi]`` (APA), each end through :func:`cell`; ``""``
    when either end is undefined."""
    if is_blank(low) or is_blank(high):
        return ""
    return f"[{cell(low, digits, bounded=bounded)}, {cell(high, digits, bounded=bounded)}]"


def count(n) -> str:
    """A whole number with thousands separators (``1,500``); ``""`` when undefined."""
    if is_blank(n):
        return ""
    return f"{int(round(float(n))):,}"


def percent(share, digits: int = 0) -> str:
    """A share (0-1) as a percentage (``42%``); ``""`` when undefined."""
    if is_blank(share):
        return ""
    return f"{cell(float(share) * 100, digits)}%"
