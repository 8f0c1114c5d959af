"""Checking survey data against an instrument before anything is scored.

``validate`` looks at the item columns (through a mapping ``{item_id: column}``) and the
respondent/group id columns and returns a ``ValidationReport``: one ``Problem`` per kind
and column, with how many cells or respondents it concerns, up to five example rows and
what the user can do about it. ``apply_actions`` then carries out the user's choices
(set to missing, drop the respondents, keep) on a copy of the data.

Row numbers are 1-based respondent numbers in file order: row 1 is the first respondent
(the line under the header; for Qualtrics exports the line under its three header rows).
After respondents are dropped the data keep their original index, so the numbers stay
those of the file.

Careless-responding checks follow Meade & Craig (2012, Psychological Methods 17(3)) and
Curran (2016, JESP 66): long-string/straight-lining is flagged only on blocks that mix
reverse- and forward-keyed items, where one answer to all items cannot be a consistent
opinion. R has no single equivalent call; ``careless::longstring`` counts the run length.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.io import NA_TOKENS
from analysis.mapping import auto_map, check_mapping, normalise, unmapped_columns

# Codes most survey tools use for "no answer"/"refused"; counted as missing codes only when
# they lie outside the item's scale, so a 0..100 scale keeps its 99s.
DEFAULT_MISSING_CODES = (-9, -99, -999, 99, 999)
ACTIONS = ("set_missing", "drop_respondents", "keep")
CODES = ("UNMAPPED_ITEMS", "MISSING_GROUP_ID", "DUPLICATE_ID", "NON_NUMERIC", "MISSING_CODE",
         "OUT_OF_RANGE", "EMPTY_ITEM", "CONSTANT_ITEM", "TOO_FEW_ANSWERED", "STRAIGHT_LINING")
# (allowed actions, default) per code: cell-level problems default to missing, respondent-
# level flags are kept until the researcher decides.
_ACTIONS = {
    "UNMAPPED_ITEMS": (["keep"], "keep"),
    "MISSING_GROUP_ID": (["keep", "drop_respondents"], "keep"),
    "DUPLICATE_ID": (["keep", "drop_respondents"], "keep"),
    "NON_NUMERIC": (["set_missing", "drop_respondents", "keep"], "set_missing"),
    "MISSING_CODE": (["set_missing", "drop_respondents", "keep"], "set_missing"),
    "OUT_OF_RANGE": (["set_missing", "drop_respondents", "keep"], "set_missing"),
    "EMPTY_ITEM": (["keep"], "keep"),
    "CONSTANT_ITEM": (["keep", "set_missing"], "keep"),
    "TOO_FEW_ANSWERED": (["keep", "drop_respondents"], "keep"),
    "STRAIGHT_LINING": (["keep", "drop_respondents"], "keep"),
}
_CELL_CODES = {"NON_NUMERIC", "MISSING_CODE", "OUT_OF_RANGE"}
_ID_ALIASES = ("respondentid", "responseid", "respid", "caseid", "id", "respondent", "serial")
MAX_EXAMPLES = 5


@dataclass
class Problem:
    """One kind of problem in one column (or across the items, ``column=None``).

    ``count`` is the number of cells (cell-level codes) or respondents (respondent-level
    codes) concerned; ``example_rows`` are up to five 1-based row numbers; ``actions``
    the choices ``apply_actions`` accepts for it, ``default_action`` the one it takes when
    none is given. ``rows`` holds every affected row position (not serialised).
    """

    code: str
    column: str | None
    count: int
    example_rows: list[int]
    message: str
    suggestion: str
    item: str | None = None
    actions: list[str] = field(default_factory=list)
    default_action: str = "keep"
    rows: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {"code": self.code, "column": self.column, "item": self.item, "count": int(self.count),
                "example_rows": [int(r) for r in self.example_rows], "message": self.message,
                "suggestion": self.suggestion, "actions": list(self.actions),
                "default_action": self.default_action}


@dataclass
class ValidationReport:
    """What ``validate`` found. ``mapping`` is the ``{item_id: column}`` mapping used."""

    source: str | None
    instrument: str
    n_rows: int
    n_columns: int
    n_items: int
    n_items_mapped: int
    mapping: dict[str, str]
    unmapped_items: list[str]
    unmapped_columns: list[str]
    id_column: str | None
    problems: list[Problem]
    notes: list[str] = field(default_factory=list)
    header_rows: int | None = None  # lines above row 1 in the file (1 for CSV, 3 for Qualtrics)

    @property
    def codes(self) -> list[str]:
        return sorted({p.code for p in self.problems}, key=CODES.index)

    def by_code(self, code: str) -> list[Problem]:
        return [p for p in self.problems if p.code == code]

    def default_actions(self) -> dict[str, str]:
        return {code: _ACTIONS[code][1] for code in self.codes}

    def to_dict(self) -> dict:
        return {"source": self.source, "instrument": self.instrument, "n_rows": self.n_rows,
                "n_columns": self.n_columns, "n_items": self.n_items,
                "n_items_mapped": self.n_items_mapped, "mapping": dict(self.mapping),
                "unmapped_items": list(self.unmapped_items),
                "unmapped_columns": [str(c) for c in self.unmapped_columns],
                "id_column": self.id_column, "n_problems": len(self.problems),
                "problems": [p.to_dict() for p in self.problems], "notes": list(self.notes),
                "row_numbering": "row 1 is the first respondent"
                + (f" (line {self.header_rows + 1} of the file)" if self.header_rows else "")}

    def to_frame(self) -> pd.DataFrame:
        """One row per problem, for a table on the Data page."""
        cols = ["code", "column", "item", "count", "example_rows", "message", "suggestion", "default_action"]
        rows = [{**p.to_dict(), "example_rows": ", ".join(map(str, p.example_rows))} for p in self.problems]
        return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- cell classification

@dataclass
class _Cells:
    numbers: np.ndarray      # float value where the cell is a number, else NaN
    code: np.ndarray         # bool: a missing-value code (numeric or text)
    text: np.ndarray         # bool: text that is neither a number nor a code
    outside: np.ndarray      # bool: a number outside the scale (and not a code)
    valid: np.ndarray        # float: the usable answer, NaN otherwise
    raw: np.ndarray          # the original cells (for examples)


def _parse_number(value: Any) -> float | None:
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.count(",") == 1 and "." not in text:  # decimal comma
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return None
    return None


def _classify_value(v: Any, text_codes: set) -> tuple[float, bool, bool]:
    """(number or NaN, is a text code, is other text) for one distinct cell value."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return np.nan, False, False
    if isinstance(v, (bool, np.bool_)):
        return float(v), False, False
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v), False, False
    if isinstance(v, str):
        stripped = v.strip()
        if stripped == "":
            return np.nan, False, False
        if stripped in text_codes:
            return np.nan, True, False
        parsed = _parse_number(stripped)
        return (np.nan, False, True) if parsed is None else (parsed, False, False)
    return np.nan, False, True


def _classify(series: pd.Series, lo: float, hi: float, explicit: set, text_codes: set) -> _Cells:
    n = len(series)
    text = np.zeros(n, dtype=bool)
    code = np.zeros(n, dtype=bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        raw = series.to_numpy()
    else:
        # Each distinct value is classified once (a survey column has a handful), then
        # spread back to the cells: no Python work per cell.
        raw = series.to_numpy(dtype=object)
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        per_value = [_classify_value(v, text_codes) for v in uniques]
        u_num = np.array([p[0] for p in per_value] + [np.nan], dtype=float)
        u_code = np.array([p[1] for p in per_value] + [False], dtype=bool)
        u_text = np.array([p[2] for p in per_value] + [False], dtype=bool)
        numbers, code, text = u_num[codes], u_code[codes], u_text[codes]  # code -1 (missing) -> last entry
    finite = ~np.isnan(numbers)
    inside = finite & (numbers >= lo) & (numbers <= hi)
    numeric_code = finite & np.isin(numbers, [float(c) for c in explicit])
    numeric_code |= finite & ~inside & np.isin(numbers, [float(c) for c in DEFAULT_MISSING_CODES])
    code |= numeric_code
    outside = finite & ~inside & ~numeric_code
    valid = np.where(inside & ~numeric_code, numbers, np.nan)
    return _Cells(numbers, code, text, outside, valid, raw)


def _row_numbers(index: pd.Index, positions: Iterable[int]) -> list[int]:
    positions = list(positions)
    if pd.api.types.is_integer_dtype(index):
        return [int(index[p]) + 1 for p in positions]
    return [int(p) + 1 for p in positions]


def _examples(index: pd.Index, positions: np.ndarray) -> list[int]:
    return _row_numbers(index, positions[:MAX_EXAMPLES])


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value.strip())
    return str(value)


def _problem(code: str, column, count: int, positions: np.ndarray, index: pd.Index, message: str,
             suggestion: str, item: str | None = None) -> Problem:
    allowed, default = _ACTIONS[code]
    positions = np.asarray(positions, dtype=int)
    return Problem(code=code, column=None if column is None else str(column), count=int(count),
                   example_rows=_examples(index, positions), message=message, suggestion=suggestion,
                   item=item, actions=list(allowed), default_action=default, rows=positions.tolist())


# --------------------------------------------------------------------------- validate

def _explicit_codes(instrument, missing_codes, column) -> tuple[set, set]:
    """Declared codes for a column: numbers and text, from the instrument and the file."""
    declared = list(getattr(instrument, "missing_codes", None) or [])
    if isinstance(missing_codes, Mapping):
        declared += list(missing_codes.get(column, []) or [])
    elif missing_codes is not None:
        declared += list(missing_codes)
    numbers, texts = set(), set(NA_TOKENS)
    for c in declared:
        if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool):
            numbers.add(float(c))
        else:
            text = str(c).strip().lstrip(".") if str(c).startswith(".") and len(str(c)) == 2 else str(c).strip()
            texts.add(text)
            parsed = _parse_number(text)
            if parsed is not None:
                numbers.add(parsed)
    return numbers, texts


def _find_id_column(data: pd.DataFrame, instrument, mapping: Mapping) -> str | None:
    id_col = getattr(instrument, "id_column", None)
    if id_col and mapping.get(id_col) in data.columns:
        return mapping[id_col]
    if id_col in data.columns:
        return id_col
    norm = {normalise(c): c for c in data.columns}
    for alias in ((normalise(id_col),) if id_col else ()) + _ID_ALIASES:
        if alias in norm:
            return norm[alias]
    return None


def _group_columns(instrument) -> list[tuple[str, str]]:
    groups = getattr(instrument, "group_columns", None) or {}
    if isinstance(groups, Mapping):
        return [(str(role), str(col)) for role, col in groups.items()]
    return [(str(col), str(col)) for col in groups]


def validate(data: pd.DataFrame, instrument, mapping: Mapping[str, str] | None = None, *,
             source: str | None = None, min_answered_share: float = 0.5,
             straightline_min_items: int = 6,
             missing_codes: Mapping[str, list] | Iterable | None = None) -> ValidationReport:
    """Check ``data`` against ``instrument`` and report every problem found.

    ``mapping`` is ``{item_id: column}`` (default: ``auto_map``); it may also map the
    instrument's respondent-id and group columns (``{'org_id': 'Organisation'}``).
    ``missing_codes`` adds declared missing codes, either for all columns (a list) or per
    column (``ImportResult.meta['missing_codes']``); the instrument's ``missing_codes``
    and, outside each item's scale, -9/-99/-999/99/999 and text such as "NA" count too.
    A respondent answering fewer than ``min_answered_share`` of the mapped items is
    flagged TOO_FEW_ANSWERED; one giving the same answer to at least
    ``straightline_min_items`` answered items of a block (a construct, or all items on
    one response scale) that has both reverse- and forward-keyed items answered is
    flagged STRAIGHT_LINING. Each check is one small function: ``FRAME_CHECKS`` on the file as
    a whole, ``ITEM_CHECKS`` on each mapped item's answers, then ``_too_few_answered`` and
    ``_straight_lining`` over all items.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("validation needs a table of data")
    if not 0 < min_answered_share <= 1:
        raise InputError("the minimum share of answered items must be between 0 and 1")
    if straightline_min_items < 2:
        raise InputError("straight-lining needs blocks of at least 2 items")
    items = list(instrument.items)
    item_ids = {it.id for it in items}
    if mapping is None:
        mapping = auto_map(data.columns, instrument)
    mapping = {str(k): v for k, v in mapping.items() if v is not None and str(v) != ""}
    check_mapping(data.columns, mapping, file=source)
    item_map = {k: v for k, v in mapping.items() if k in item_ids}
    ctx = _Context(data, instrument, mapping, item_map, data.index, len(data), missing_codes)
    problems: list[Problem] = []
    for check in FRAME_CHECKS:  # the file as a whole: items without a column, group ids, repeated ids
        problems.extend(check(ctx))
    # item id -> its usable answers: kept as one byte a cell when whole numbers, else recomputed on demand
    valid: dict[str, Callable[[], np.ndarray]] = {}
    n_answered = np.zeros(ctx.n, dtype=np.int32)
    for item in items:
        if item.id not in item_map:
            continue
        col = item_map[item.id]
        lo, hi = float(item.scale.min), float(item.scale.max)
        numbers_declared, text_declared = _explicit_codes(instrument, missing_codes, col)
        cells = _classify(data[col], lo, hi, numbers_declared, text_declared)
        small = _compact(cells.valid)  # whole-number answers kept as one byte each for the sweep below
        if small is not None:
            valid[item.id] = partial(_expand, small)
        else:
            valid[item.id] = partial(_usable, data[col], lo, hi, numbers_declared, text_declared)
        n_answered += ~np.isnan(cells.valid)
        for item_check in ITEM_CHECKS:  # the answers of one item: text, codes, range, no or one value
            problems.extend(item_check(ctx, item, col, cells))
    if valid:
        problems.extend(_too_few_answered(ctx, n_answered, len(valid), min_answered_share))
        problems.extend(_straight_lining(valid, instrument, straightline_min_items, ctx.index))
    unmapped = [it.id for it in items if it.id not in item_map]
    id_column = _find_id_column(data, instrument, mapping)
    n = ctx.n

    order = {c: i for i, c in enumerate(CODES)}
    col_order = {str(c): i for i, c in enumerate(data.columns)}
    problems.sort(key=lambda p: (order[p.code], col_order.get(p.column, -1)))
    return ValidationReport(
        source=source, instrument=getattr(instrument, "id", str(instrument)), n_rows=n,
        n_columns=int(data.shape[1]), n_items=len(items), n_items_mapped=len(item_map),
        mapping=dict(item_map), unmapped_items=unmapped,
        unmapped_columns=[str(c) for c in unmapped_columns(data.columns, instrument, mapping)],
        id_column=None if id_column is None else str(id_column), problems=problems)



# --------------------------------------------------------------------------- the checks
@dataclass
class _Context:
    """What every check reads: the data, the instrument, the column mapping (all and items')."""
    data: pd.DataFrame
    instrument: Any
    mapping: dict
    item_map: dict
    index: pd.Index
    n: int
    missing_codes: Any = None


def _unmapped_items(ctx: _Context) -> list[Problem]:
    """UNMAPPED_ITEMS: instrument items with no column in the data."""
    items = list(ctx.instrument.items)
    unmapped = [it.id for it in items if it.id not in ctx.item_map]
    if not unmapped:
        return []
    shown = ", ".join(unmapped[:8]) + (f" and {len(unmapped) - 8} more" if len(unmapped) > 8 else "")
    return [_problem(
        "UNMAPPED_ITEMS", None, len(unmapped), np.array([], dtype=int), ctx.index,
        f"{len(unmapped)} of {len(items)} items have no column in the data: {shown}",
        "map them to the file's columns in the mapping editor, or leave them out if the survey did not ask them")]


def _group_ids(ctx: _Context) -> list[Problem]:
    """MISSING_GROUP_ID: a group column absent, or respondents without a group id."""
    problems = []
    for role, col in _group_columns(ctx.instrument):
        actual = ctx.mapping.get(col, col)
        if actual not in ctx.data.columns:
            problems.append(_problem(
                "MISSING_GROUP_ID", col, ctx.n, np.array([], dtype=int), ctx.index,
                f"the {role} id column '{col}' is not in the data",
                f"add a column '{col}' (or map it), otherwise multilevel analyses by {role} are not possible"))
            continue
        s = ctx.data[actual]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            blank = s.isna()  # str() of a number is never blank; of NaN it is 'nan', a token
        else:
            blank = s.isna() | s.astype(str).str.strip().isin(["", *NA_TOKENS])
        positions = np.flatnonzero(blank.to_numpy())
        if len(positions):
            problems.append(_problem(
                "MISSING_GROUP_ID", actual, len(positions), positions, ctx.index,
                f"{len(positions)} respondents have no {role} id",
                f"fill in their {role}, or drop them; analyses by {role} leave them out"))
    return problems


def _duplicate_ids(ctx: _Context) -> list[Problem]:
    """DUPLICATE_ID: rows repeating a respondent id seen in an earlier row."""
    id_column = _find_id_column(ctx.data, ctx.instrument, ctx.mapping)
    if id_column is None:
        return []
    ids = ctx.data[id_column]
    if pd.api.types.is_integer_dtype(ids) and not pd.api.types.is_bool_dtype(ids):
        # whole numbers: equal as text exactly when equal as numbers
        repeat = ids.duplicated(keep="first").to_numpy()
        key = None
    else:
        filled = ids.notna() & (ids.astype(str).str.strip() != "")
        key = ids.astype(str).str.strip()
        repeat = (key.duplicated(keep="first") & filled).to_numpy()
    positions = np.flatnonzero(repeat)
    if not len(positions):
        return []
    if key is None:
        key = ids.astype(str).str.strip()
    first_value = key.iloc[positions[0]]
    first_rows = np.flatnonzero((key == first_value).to_numpy())
    rows_text = " and ".join(map(str, _row_numbers(ctx.index, first_rows[:3])))
    return [_problem(
        "DUPLICATE_ID", id_column, len(positions), positions, ctx.index,
        f"{len(positions)} rows repeat a respondent id seen in an earlier row "
        f"(e.g. {first_value!r} in rows {rows_text})",
        "check for double submissions; drop_respondents keeps the first row of each id")]


def _non_numeric(ctx: _Context, item, col, cells: _Cells) -> list[Problem]:
    """NON_NUMERIC: answers that are not numbers (answer labels exported instead of codes?)."""
    if not cells.text.any():
        return []
    positions = np.flatnonzero(cells.text)
    values = pd.unique(pd.Series([str(cells.raw[p]).strip() for p in positions]))
    labels = {str(v).strip().lower(): k for k, v in (item.scale.labels or {}).items()}
    looks_like_labels = any(str(v).lower() in labels for v in values)
    suggestion = ("the file holds answer labels instead of codes: export numeric codes "
                  "(Qualtrics: 'use numeric values') or recode, else set them to missing"
                  if looks_like_labels else "set them to missing, or correct them in the file")
    return [_problem(
        "NON_NUMERIC", col, len(positions), positions, ctx.index,
        f"{len(positions)} answers are not numbers (e.g. {', '.join(_fmt(v) for v in values[:3])})",
        suggestion, item=item.id)]


def _missing_codes(ctx: _Context, item, col, cells: _Cells) -> list[Problem]:
    """MISSING_CODE: cells holding declared or conventional missing-value codes."""
    if not cells.code.any():
        return []
    positions = np.flatnonzero(cells.code)
    found = pd.Series([_fmt(cells.raw[p]) for p in positions]).value_counts()
    listed = ", ".join(f"{k} ({v})" for k, v in found.items())
    return [_problem(
        "MISSING_CODE", col, len(positions), positions, ctx.index,
        f"{len(positions)} cells hold missing-value codes: {listed}",
        "set them to missing so they are not read as answers", item=item.id)]


def _out_of_range(ctx: _Context, item, col, cells: _Cells) -> list[Problem]:
    """OUT_OF_RANGE: numbers outside the item's scale (a shifted coding is recognised)."""
    if not cells.outside.any():
        return []
    lo, hi = float(item.scale.min), float(item.scale.max)
    positions = np.flatnonzero(cells.outside)
    found = pd.unique(cells.numbers[positions])
    observed = cells.numbers[~np.isnan(cells.numbers) & ~cells.code]
    shifted = observed.size and observed.min() >= lo - 1 and observed.max() <= hi - 1
    suggestion = (f"the answers look coded {_fmt(lo - 1)}..{_fmt(hi - 1)}: recode them by adding 1, "
                  "or set the out-of-range ones to missing" if shifted
                  else "set them to missing, or check how the export coded this question")
    return [_problem(
        "OUT_OF_RANGE", col, len(positions), positions, ctx.index,
        f"{len(positions)} answers lie outside the scale {_fmt(lo)}..{_fmt(hi)} "
        f"(e.g. {', '.join(_fmt(v) for v in found[:3])})", suggestion, item=item.id)]


def _empty_or_constant(ctx: _Context, item, col, cells: _Cells) -> list[Problem]:
    """EMPTY_ITEM (no valid answer) or CONSTANT_ITEM (one value for everyone)."""
    answered = cells.valid[~np.isnan(cells.valid)]
    if answered.size == 0:
        return [_problem(
            "EMPTY_ITEM", col, ctx.n, np.array([], dtype=int), ctx.index,
            "the column has no valid answers", "check the mapping: is this the right column?", item=item.id)]
    if answered.size >= 2 and np.unique(answered).size == 1:
        return [_problem(
            "CONSTANT_ITEM", col, int(answered.size), np.array([], dtype=int), ctx.index,
            f"all {answered.size} answers are {_fmt(answered[0])}",
            "a constant item carries no information and breaks correlations: check the export, "
            "or set the column to missing to leave the item out", item=item.id)]
    return []


def _too_few_answered(ctx: _Context, n_answered: np.ndarray, n_items: int, min_share: float) -> list[Problem]:
    """TOO_FEW_ANSWERED: respondents answering fewer than ``min_share`` of the mapped items."""
    positions = np.flatnonzero(n_answered / n_items < min_share - 1e-12)
    if not len(positions):
        return []
    return [_problem(
        "TOO_FEW_ANSWERED", None, len(positions), positions, ctx.index,
        f"{len(positions)} respondents answered fewer than {min_share:.0%} of the {n_items} mapped items",
        "drop them, or keep them: scale scores already need a minimum share of answered items")]


# The checks ``validate`` runs, in order: on the whole file, then on each mapped item's answers
# (then the share of answered items and straight-lining over all items).
FRAME_CHECKS = (_unmapped_items, _group_ids, _duplicate_ids)
ITEM_CHECKS = (_non_numeric, _missing_codes, _out_of_range, _empty_or_constant)

def _usable(series: pd.Series, lo: float, hi: float, explicit: set, text_codes: set) -> np.ndarray:
    return _classify(series, lo, hi, explicit, text_codes).valid


_NO_ANSWER = np.int8(-128)


def _compact(valid: np.ndarray) -> np.ndarray | None:
    """``valid`` as int8 (missing: -128) when every answer is a whole number from -127 to 127
    (exactly the same values back from ``_expand``), else None."""
    answered = valid[~np.isnan(valid)]
    if answered.size and (answered.min() < -127 or answered.max() > 127
                          or not np.array_equal(answered, np.trunc(answered))):
        return None
    out = np.full(valid.shape, _NO_ANSWER, dtype=np.int8)
    np.copyto(out, valid, where=~np.isnan(valid), casting="unsafe")
    return out


def _expand(small: np.ndarray) -> np.ndarray:
    out = small.astype(float)
    out[small == _NO_ANSWER] = np.nan
    return out


def _straight_lining(valid: Mapping, instrument, min_items: int, index: pd.Index) -> list[Problem]:
    """Respondents giving one answer to a whole block that mixes keying directions.

    ``valid`` maps item ids (in the instrument's order) to a function returning the item's
    usable answers; each block is swept item by item (running max, min and counts), so no
    respondents x items matrix is held."""
    blocks: dict[str, list] = {}
    by_scale: dict[tuple, list] = {}
    for construct in instrument.constructs:
        if getattr(construct, "kind", "likert") != "likert":
            continue
        present = [it for it in construct.items if it.id in valid and it.scale.max - it.scale.min >= 2]
        if present:
            blocks[construct.key] = present
        for it in present:
            by_scale.setdefault((it.scale.min, it.scale.max), []).append(it)
    for (lo, hi), its in by_scale.items():
        if len(by_scale) == 1 or len(its) > 1:
            blocks[f"all {lo}..{hi} items"] = its
    n = len(index)
    flagged: dict[int, str] = {}
    for name, its in blocks.items():
        if len(its) < min_items:
            continue
        reverse = np.array([bool(it.reverse) for it in its])
        if reverse.all() or not reverse.any():
            continue
        high = np.full(n, -np.inf)
        low = np.full(n, np.inf)
        n_answered = np.zeros(n, dtype=np.int32)
        any_rev = np.zeros(n, dtype=bool)
        any_fwd = np.zeros(n, dtype=bool)
        for it, rev in zip(its, reverse):
            x = valid[it.id]()
            answered = ~np.isnan(x)
            np.maximum(high, np.where(answered, x, -np.inf), out=high)
            np.minimum(low, np.where(answered, x, np.inf), out=low)
            n_answered += answered
            if rev:
                any_rev |= answered
            else:
                any_fwd |= answered
        hit = np.flatnonzero((high == low) & any_rev & any_fwd & (n_answered >= min_items))
        for p in hit:
            flagged.setdefault(int(p), name)
    if not flagged:
        return []
    positions = np.array(sorted(flagged), dtype=int)
    first = positions[0]
    value = _fmt(np.nanmax([get()[first] for get in valid.values()]))
    return [_problem(
        "STRAIGHT_LINING", None, len(positions), positions, index,
        f"{len(positions)} respondents gave the same answer to every item of a block that mixes "
        f"reverse- and forward-keyed items (e.g. row {_row_numbers(index, [first])[0]}: "
        f"all {value} on {flagged[int(first)]})",
        "likely careless answers: inspect them and consider dropping them")]


# --------------------------------------------------------------------------- actions

def apply_actions(data: pd.DataFrame, report: ValidationReport,
                  actions: Mapping[str, str] | None = None, *, copy: bool = True) -> pd.DataFrame:
    """Carry out the chosen action for each problem on a copy of ``data``.

    ``actions`` maps a code (``"OUT_OF_RANGE"``) or a code and column
    (``"OUT_OF_RANGE:ps_dsk1"``) to ``set_missing``, ``drop_respondents`` or ``keep``;
    problems not named take their ``default_action``. ``set_missing`` blanks the
    offending cells (for CONSTANT_ITEM: the whole column); ``drop_respondents`` removes
    the rows concerned (for DUPLICATE_ID: the repeats, so the first row of each id stays).
    Item columns that hold only numbers afterwards become numeric. The original index is
    kept, so row numbers still point into the file. ``copy=False`` sets the cells in
    ``data`` itself (for a caller that does not keep the data as read: a national survey's
    item columns are then not held twice).
    """
    actions = dict(actions or {})
    for key, act in actions.items():
        if act not in ACTIONS:
            raise InputError(f"unknown action '{act}' for '{key}'", hint=f"use one of {', '.join(ACTIONS)}")
    if len(data) != report.n_rows:
        raise InputError(f"the data have {len(data)} rows but the validation report was made on "
                         f"{report.n_rows}", hint="validate the data again before applying actions")
    out = data.copy(deep=False) if copy else data  # copy-on-write: only the columns changed below are copied
    drop: set[int] = set()
    for problem in report.problems:
        act = actions.get(f"{problem.code}:{problem.column}", actions.get(problem.code, problem.default_action))
        if act not in problem.actions:
            raise InputError(f"'{act}' is not possible for {problem.code}",
                             column=problem.column, hint=f"choose {' or '.join(problem.actions)}")
        if act == "keep":
            continue
        if act == "drop_respondents":
            drop.update(problem.rows)
        elif problem.code in _CELL_CODES:
            j = out.columns.get_loc(problem.column)
            if problem.rows:
                if pd.api.types.is_integer_dtype(out.iloc[:, j]) or pd.api.types.is_bool_dtype(out.iloc[:, j]):
                    out.isetitem(j, out.iloc[:, j].astype(float))
                elif not pd.api.types.is_numeric_dtype(out.iloc[:, j]):
                    out.isetitem(j, out.iloc[:, j].astype(object))
                out.iloc[problem.rows, j] = np.nan
        elif problem.code == "CONSTANT_ITEM":
            out[problem.column] = np.nan
    for col in report.mapping.values():
        if col in out.columns and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = _to_numeric_if_clean(out[col])
    if drop:
        out = out.drop(index=out.index[sorted(drop)])
    return out


def _to_numeric_if_clean(series: pd.Series) -> pd.Series:
    """Floats when every cell is a number, blank or NA token; else the column unchanged.
    Each distinct value is looked at once."""
    raw = series.to_numpy(dtype=object)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    values = []
    for v in uniques:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            values.append(float(v))
        elif isinstance(v, str):
            if v.strip() == "" or v.strip() in NA_TOKENS:
                values.append(np.nan)
                continue
            parsed = _parse_number(v)
            if parsed is None:
                return series
            values.append(parsed)
        else:
            return series
    table = np.array(values + [np.nan], dtype=float)
    return pd.Series(table[codes], index=series.index, dtype=float)


def clean(data: pd.DataFrame, instrument, mapping: Mapping[str, str] | None = None,
          actions: Mapping[str, str] | None = None, *, source: str | None = None,
          missing_codes: Mapping[str, list] | Iterable | None = None,
          copy: bool = True) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate, apply the actions (defaults: bad cells and missing codes set to missing)
    and rename the mapped columns to item ids: the data every analysis should start from.

    Returns ``(cleaned data, report)``. Commands that read a file and analyse items call
    this so that, e.g., a -99 code is never averaged as an answer. ``copy=False``: see
    ``apply_actions``.
    """
    from analysis.mapping import apply_mapping

    report = validate(data, instrument, mapping, source=source, missing_codes=missing_codes)
    cleaned = apply_actions(data, report, actions, copy=copy)
    if all(col == item_id for item_id, col in report.mapping.items()):
        return cleaned, report  # columns already named by item ids: nothing to rename (or copy)
    return apply_mapping(cleaned, report.mapping), report
