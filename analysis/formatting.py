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


# --------------------------------------------------------------------------- table columns
# Tables on screen and in reports label their columns in words (APA 7, section 7.12: column
# heads name what the column holds, with its unit) and format each column by what it holds.
COLUMN_WORDS = {
    "item": "Item", "text": "Wording", "reverse_keyed": "Reverse-keyed", "construct": "Key", "scale": "Scale",
    "label": "Scale", "factor": "Factor", "term": "Term", "group": "Group", "level": "Level", "step": "Model",
    "org_id": "Organisation", "municipality_id": "Municipality", "name": "Name", "type": "Type",
    "dimension": "Dimension", "survey": "Survey", "variable": "Variable", "value": "Value", "statistic": "Statistic",
    "n": "n", "k": "Items", "n_items": "Items", "n_groups": "Groups", "n_obs": "n", "df": "df", "df_diff": "Δdf",
    "npar": "Parameters", "mean": "M", "sd": "SD", "se": "SE", "median": "Mdn", "q1": "Q1", "q3": "Q3",
    "min": "Min", "max": "Max", "mean_0_100": "M (0-100)", "score": "Score (0-100)", "estimate": "Estimate",
    "std_estimate": "β", "t": "t", "z": "z", "chi2": "χ²", "chisq": "χ²", "f": "F", "F": "F",
    "p": "p", "p_value": "p", "p-unc": "p", "pval": "p", "p_diff": "p (difference)", "p_boundary": "p (boundary)",
    "p_adj": "p (adjusted)",
    "ci_low": "95% CI low", "ci_high": "95% CI high", "ci_lower": "95% CI low", "ci_upper": "95% CI high",
    "odds_ratio": "OR", "or": "OR", "r": "r", "rho": "ρ", "r_drop": "Item-rest r", "r_cor": "Corrected item-total r",
    "alpha": "α", "alpha_std": "Standardised α", "alpha_if_deleted": "α if deleted",
    "alpha_std_if_deleted": "Standardised α if deleted", "omega_total": "ω total", "msa": "MSA",
    "h2": "h²", "u2": "u²", "loading": "Loading", "std_loading": "Standardised loading",
    "rwg": "rwg(j)", "rwg_j": "rwg(j)", "icc1": "ICC(1)", "icc2": "ICC(2)", "cfi": "CFI", "tli": "TLI",
    "rmsea": "RMSEA", "srmr": "SRMR", "aic": "AIC", "bic": "BIC", "loglik": "log-likelihood",
    "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA", "hedges_g": "Hedges' g", "g": "Hedges' g",
    "cramers_v": "Cramér's V", "share": "Share", "percent": "%", "favourable": "Favourable (%)",
    "suppressed": "Suppressed", "variance": "Variance", "std_dev": "SD", "tau00": "τ00", "sigma2": "σ²",
    "or_ci_low": "OR 95% CI low", "or_ci_high": "OR 95% CI high", "R2_marginal": "R² marginal",
    "R2_conditional": "R² conditional", "ICC_adjusted": "ICC (adjusted)", "residual_variance": "σ² (residual)",
    "deviance": "Deviance", "method": "Method", "converged": "Converged", "singular": "Singular fit",
    "slope": "Simple slope", "model": "Model", "formula": "Formula", "corr": "Correlation",
}
_P = {"p", "p_value", "p-unc", "pval", "p_diff", "p_boundary", "p_adj"}
_BOUNDED = {"r", "rho", "corr", "R2_marginal", "R2_conditional", "ICC_adjusted",
            "r_drop", "r_cor", "alpha", "alpha_std", "alpha_if_deleted", "alpha_std_if_deleted",
            "omega_total", "msa", "h2", "u2", "loading", "std_loading", "rwg", "rwg_j", "icc1", "icc2", "cfi",
            "tli", "rmsea", "srmr", "delta_cfi", "delta_rmsea", "cramers_v", "share", "std_estimate"}
_COUNTS = {"n", "k", "n_items", "n_groups", "n_obs", "npar", "count"}


def column_label(name) -> str:
    """The words a table puts over a column (``r_drop`` -> ``Item-rest r``); a column not in
    :data:`COLUMN_WORDS` keeps its name with underscores as spaces and a capital first letter."""
    text = str(name)
    if text in COLUMN_WORDS:
        return COLUMN_WORDS[text]
    if text.startswith("n_") and len(text) > 2:
        return "n " + text[2:].replace("_", " ")
    return text[:1].upper() + text[1:].replace("_", " ") if text.islower() else text


def column_kind(name, values: pd.Series) -> str:
    """How a column is written: ``"p"`` (APA p-value), ``"count"`` (whole numbers with
    thousands separators), ``"bounded"`` (a coefficient that cannot exceed 1: no leading zero),
    ``"number"`` (other numbers) or ``"text"`` (left as it is)."""
    text = str(name)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "text"
    if text in _P or text.startswith("p_") and text[2:] in ("value", "adj", "holm", "fdr"):
        return "p"
    finite = values[np.isfinite(values.astype(float))] if len(values) else values
    if text in _COUNTS or text.startswith("n_") or pd.api.types.is_integer_dtype(values) \
            or (text == "df" and len(finite) and bool((finite == finite.round()).all())):
        return "count"
    if text in _BOUNDED and (not len(finite) or float(finite.abs().max()) <= 1):
        return "bounded"
    return "number"


def column_cells(values: pd.Series, kind: str, digits: int | None = None) -> list[str]:
    """A column's cells as text by its :func:`column_kind` (``digits``: decimals for
    ``number``/``bounded``, default 2); undefined values are empty cells."""
    if kind == "p":
        return [p_cell(v) for v in values]
    if kind == "count":
        return [count(v) for v in values]
    if kind in ("bounded", "number"):
        return [cell(v, 2 if digits is None else digits, bounded=kind == "bounded") for v in values]
    return ["" if is_blank(v) else str(v) for v in values]
