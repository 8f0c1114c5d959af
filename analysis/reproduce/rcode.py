"""R literals: how Python values are written into a generated R script.

Every value a script needs (file names, item names, codes, ranges, row numbers) goes through
these functions, so a name with a quote or a backslash cannot break the script and numbers keep
their full precision (``repr`` of a float is the shortest text that reads back to the same double,
as R's parser does).
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

_SYNTACTIC = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")
_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL",
             "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in"}


def r_str(text: str) -> str:
    """A double-quoted R string literal (backslashes, quotes and control characters escaped)."""
    out = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{out.replace(chr(9), chr(92) + "t")}"'


def r_num(value: float | int | None) -> str:
    """A number as R reads it back exactly: ``1``, ``0.5``, ``-99``, ``NA`` for None/NaN."""
    if value is None:
        return "NA"
    x = float(value)
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def r_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def r_chr(values: Iterable[str]) -> str:
    """``c("a", "b")`` (``character(0)`` when empty)."""
    texts = [r_str(v) for v in values]
    return f"c({', '.join(texts)})" if texts else "character(0)"


def r_nums(values: Iterable[float]) -> str:
    """``c(1, 2, -99)`` (``numeric(0)`` when empty)."""
    texts = [r_num(v) for v in values]
    return f"c({', '.join(texts)})" if texts else "numeric(0)"


def r_named(mapping: dict) -> str:
    """A named character vector ``c("1" = "Woman", ...)``."""
    if not mapping:
        return "character(0)"
    return "c(" + ", ".join(f"{r_str(str(k))} = {r_str(str(v))}" for k, v in mapping.items()) + ")"


def r_ranges(positions: Sequence[int]) -> str:
    """1-based row numbers as short R ranges: ``c(1:120, 131, 140:200)`` (``integer(0)`` when empty)."""
    rows = sorted({int(p) for p in positions})
    if not rows:
        return "integer(0)"
    parts, start, prev = [], rows[0], rows[0]
    for r in rows[1:] + [None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if r is not None:
            start = prev = r
    return f"c({', '.join(parts)})"


def keyed_items(items: Sequence[str], reverse: Sequence[str], scale_min: float | None,
                scale_max: float | None) -> list[str]:
    """R lines making ``x``: the ``items`` of ``d`` as numbers, ``reverse`` recoded ``min + max - x``.

    Parameters
    ----------
    items : sequence of str
        Item ids (columns of ``d``).
    reverse : sequence of str
        Reverse-keyed items among them.
    scale_min, scale_max : float or None
        The response range; ``None``: the observed range of the reverse-keyed items, as
        ``analysis.scoring.apply_reverse`` and ``psych::reverse.code`` take it.

    Returns
    -------
    list of str
        R code lines.
    """
    lines = [wrap(f"items <- {r_chr(items)}"),
             "x <- as.data.frame(lapply(d[, items, drop = FALSE], to_num), check.names = FALSE)"]
    if reverse:
        lines.append(wrap(f"reverse <- {r_chr(reverse)}"))
        if scale_min is None or scale_max is None:
            lines.append("rng <- range(unlist(x[, reverse]), na.rm = TRUE)  # no stated range: the observed one")
            lines.append("for (r in reverse) x[[r]] <- rng[1] + rng[2] - x[[r]]")
        else:
            lines.append(f"for (r in reverse) x[[r]] <- {r_num(scale_min)} + {r_num(scale_max)} - x[[r]]")
    return lines


def syntactic(name: str) -> bool:
    """Whether ``name`` can be written in an R formula or lavaan model without quoting."""
    return bool(_SYNTACTIC.match(name)) and name not in _RESERVED


def r_name(name: str) -> str:
    """A column name as written in an R formula: as it is, or in backticks."""
    return name if syntactic(name) else "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def wrap(text: str, width: int = 100, indent: str = "  ") -> str:
    """Break a long R expression after commas outside string literals (scripts stay readable)."""
    if len(text) <= width:
        return text
    pieces, start, quoted, escaped, comment = [], 0, False, False, ""
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:  # a trailing comment stays whole, on the last line
            text, comment = text[:i].rstrip(), "  " + text[i:]
            break
        elif ch == "," and not quoted and text[i + 1:i + 2] == " ":
            pieces.append(text[start:i + 1])
            start = i + 2
    pieces.append(text[start:])
    lines, line = [], ""
    for piece in pieces:
        candidate = f"{line} {piece}" if line else piece
        if len(candidate) > width and line:
            lines.append(line)
            line = indent + piece
        else:
            line = candidate
    lines.append(line + comment)
    return "\n".join(lines)
