"""How numbers are written in the plain-language readings (APA style), one home for page and library.

``num(.8234)`` -> ``".82"`` (no leading zero for values below 1, as APA 7 section 6.36 writes
coefficients that cannot exceed 1), ``"n/a"`` when undefined; ``p_text`` -> ``"p < .001"`` or
``"p = .042"``.
"""
from __future__ import annotations

import numpy as np


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
