"""The first half of every generated R script: read the survey file, recode and score it.

The R code written here redoes ``analysis.pipeline.prepare_survey`` step by step:

1. read the same file (``readr::read_delim`` for CSV/TSV and Qualtrics exports, every cell as text
   as ``analysis.io`` reads it; ``haven::read_sav`` / ``haven::read_dta`` for SPSS and Stata, whose
   user-defined missing values haven turns into ``NA``; ``readxl::read_excel`` for Excel);
2. clean each item as ``analysis.validate`` does with the survey's choices: a cell becomes a number
   (a decimal comma is read as a point), the survey's and the file's missing codes become ``NA``,
   as do -9/-99/-999/99/999 outside the item's range and answers outside the range; the file's
   columns are renamed to item ids;
3. leave out the respondents the survey's choices drop (duplicate ids, ...) and the rows a screen
   leaves out (privacy rule, straight-liners): as 1-based row numbers of the file, since these are
   decisions taken on the data, not rules that R could redo;
4. score every scale as ``analysis.scoring.score_instrument``: reverse-keyed items recoded
   ``min + max - x``; the score is the mean of the answered items, given when at least
   ``ceiling(min_share * k)`` items (and at least one) are answered.

The result is the data frame ``d`` with one column per item id, group, covariate and scale score.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from analysis.errors import InputError
from analysis.reproduce.rcode import r_chr, r_num, r_nums, r_ranges, r_str, wrap

# R packages each part of a script needs (the install hint at its top lists them).
READERS = {"csv": "readr", "sav": "haven", "dta": "haven", "xlsx": "readxl", "parquet": "arrow"}
_ENCODINGS = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "windows-1252",
              "latin-1": "latin1"}

R_HELPERS = r'''
# --- helpers: the dashboard's rules for a cell, an item and a scale -------------------------
# a cell as a number: text is trimmed, "3,5" (one comma, no point) is read as 3.5; other text is NA
to_num <- function(v) {
  if (is.numeric(v) || is.logical(v)) return(as.numeric(v))
  v <- trimws(as.character(v))
  comma <- grepl("^[^.,]*,[^.,]*$", v)
  v[comma] <- sub(",", ".", v[comma], fixed = TRUE)
  suppressWarnings(as.numeric(v))
}
# an item as analysis.validate cleans it: declared codes and, outside lo..hi, -9/-99/-999/99/999
# are missing codes; other answers outside lo..hi are out of range
clean_item <- function(v, lo, hi, codes, drop_codes = TRUE, drop_outside = TRUE) {
  x <- to_num(v)
  inside <- !is.na(x) & x >= lo & x <= hi
  code <- !is.na(x) & (x %in% codes | (!inside & x %in% c(-9, -99, -999, 99, 999)))
  outside <- !is.na(x) & !inside & !code
  if (drop_codes) x[code] <- NA
  if (drop_outside) x[outside] <- NA
  x
}
# a scale score as analysis.scoring.score_instrument: reverse-keyed items recoded min + max - x,
# the mean of the answered items when at least ceiling(min_share * k) of the k items are answered
score_scale <- function(x, reverse, lo, hi, min_share) {
  x <- as.matrix(x)
  for (r in reverse) x[, r] <- lo + hi - x[, r]
  answered <- rowSums(!is.na(x))
  needed <- max(ceiling(min_share * ncol(x) - 1e-9), 1)
  s <- rowMeans(x, na.rm = TRUE)
  s[answered < needed] <- NA
  s
}
'''


@dataclass
class Prelude:
    """The R code that builds ``d``, and what the analysis part needs to know about it."""

    code: str
    packages: list[str]
    rows: list[int]  # 1-based file rows kept in ``d`` (all rows when nothing is left out)
    n_file_rows: int


def file_kind(meta: Mapping, name: str) -> str:
    """How the script reads the file.

    Parameters
    ----------
    meta : mapping
        ``analysis.io.read_data``'s metadata (its ``format``).
    name : str
        The file name (its extension decides when the format is not known).

    Returns
    -------
    str
        ``"csv"`` (also Qualtrics exports; ``readr``), ``"sav"``/``"dta"`` (``haven``),
        ``"xlsx"`` (``readxl``) or ``"parquet"`` (``arrow``).

    Raises
    ------
    InputError
        A LimeSurvey export (renamed on reading) or an unknown format.
    """
    fmt = str(meta.get("format") or "")
    if fmt == "limesurvey":
        raise InputError("the R script cannot yet read a LimeSurvey export (its columns are renamed and its "
                         "A1/AO01 answer codes converted on reading)", file=name,
                         hint="export the data as SPSS (.sav) or as CSV with numeric answer codes")
    if fmt in ("csv", "qualtrics"):
        return "csv"
    if fmt in READERS:
        return fmt
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("zsav", "sav"):
        return "sav"
    if suffix in READERS:
        return suffix
    raise InputError(f"the R script cannot read a file of format '{fmt or suffix}'", file=name,
                     hint="export the data as CSV, SPSS (.sav), Stata (.dta) or Excel (.xlsx)")


def _read_code(kind: str, meta: Mapping, sheet) -> list[str]:
    if kind == "csv":
        delim = meta.get("delimiter") or ","
        encoding = _ENCODINGS.get(str(meta.get("encoding") or "utf-8").lower(), str(meta.get("encoding")))
        skip = 1 if any("'sep=' line" in str(n) for n in meta.get("notes") or []) else 0
        lines = [f"raw <- readr::read_delim(data_file, delim = {r_str(delim)}, skip = {skip}, "
                 "col_types = readr::cols(.default = readr::col_character()),",
                 f"                        na = character(), locale = readr::locale(encoding = {r_str(encoding)}),",
                 "                        name_repair = \"minimal\", progress = FALSE)"]
    elif kind in ("sav", "dta"):
        lines = [f"raw <- haven::zap_labels(haven::read_{kind}(data_file))  # user-defined missing values -> NA"]
    elif kind == "xlsx":
        which = "NULL" if sheet is None else (r_num(int(sheet)) if str(sheet).isdigit() else r_str(str(sheet)))
        lines = [f"raw <- readxl::read_excel(data_file, sheet = {which}, col_types = \"text\", .name_repair = "
                 "\"minimal\")"]
    else:
        lines = ["raw <- arrow::read_parquet(data_file)"]
    lines += ["raw <- as.data.frame(raw, check.names = FALSE, stringsAsFactors = FALSE)",
              "names(raw) <- trimws(names(raw))"]
    header = int(meta.get("header_rows") or 1) - 1
    if str(meta.get("format")) == "qualtrics" and header > 0:
        lines.append(f"raw <- raw[-seq_len({header}), , drop = FALSE]  # Qualtrics: the question-text row(s) under "
                     "the names")
    return lines


def _action(actions: Mapping[str, str], code: str, column: str, default: str) -> str:
    return actions.get(f"{code}:{column}", actions.get(code, default))


def kept_rows(prepared, exclude: Iterable | None = None) -> list[int]:
    """1-based file rows that ``prepared.data`` keeps, minus the index labels in ``exclude``.

    Parameters
    ----------
    prepared : analysis.pipeline.PreparedData
        Its ``raw`` frame holds every row read, ``data`` the rows the Data page's choices keep.
    exclude : iterable, optional
        Index labels of ``prepared.data`` to leave out as well.

    Returns
    -------
    list of int
        Row numbers (1 = the first respondent), as R indexes the frame it reads.
    """
    import pandas as pd

    index = prepared.data.index
    if exclude is not None:
        index = index.difference(pd.Index(list(exclude)))
    positions = prepared.raw.index.get_indexer(index)
    return sorted(int(p) + 1 for p in positions if p >= 0)


def prelude(survey, prepared, *, base_dir: str = ".", data_file: str | None = None,
            exclude: Iterable | None = None, rows_note: str | None = None,
            scales: Iterable[str] | None = None) -> Prelude:
    """R code that reads ``survey``'s file and builds the data frame ``d`` as ``prepared`` holds it.

    Parameters
    ----------
    survey : analysis.study.Survey
        The survey (file, sheet, Data-page actions, min_share).
    prepared : analysis.pipeline.PreparedData
        What ``analysis.pipeline.prepare_survey`` (or ``prepare``) made of the file: its
        instrument (items, ranges, reverse keys, missing codes), mapping and validation report.
    base_dir : str
        The folder the script finds the data in unless given on its command line
        (``Rscript script.R FOLDER``).
    data_file : str, optional
        The file's name in that folder (default ``survey.file``).
    exclude : iterable, optional
        Index labels of ``prepared.data`` a screen leaves out; ``rows_note`` says why.
    rows_note : str, optional
        The reason, written as a comment.
    scales : iterable of str, optional
        The scale scores to compute (default: every scale of the survey).

    Returns
    -------
    Prelude
        The code (``readr::read_delim`` / ``haven::read_sav`` / ``haven::read_dta`` /
        ``readxl::read_excel``, then ``clean_item`` per item as ``analysis.validate.clean``,
        the kept rows, ``score_scale`` per scale as ``analysis.scoring.score_instrument``),
        the R packages it needs and the kept rows.
    """
    from analysis.validate import _explicit_codes

    instrument = prepared.instrument
    meta = prepared.meta
    name = data_file or survey.file or meta.get("source") or "data.csv"
    kind = file_kind(meta, str(name))
    actions = dict(getattr(survey, "actions", {}) or {})
    report = prepared.report
    constant = {p.column for p in report.by_code("CONSTANT_ITEM")
                if _action(actions, "CONSTANT_ITEM", str(p.column), p.default_action) == "set_missing"}

    path = Path(str(name))
    lines = [R_HELPERS.strip(), "",
             "# --- 1. read the file ----------------------------------------------------------------------"]
    if path.is_absolute():
        lines.append(f"data_file <- {r_str(str(path))}")
    else:
        lines += ["args <- commandArgs(trailingOnly = TRUE)",
                  f"base_dir <- if (length(args) >= 1) args[[1]] else {r_str(base_dir)}",
                  f"data_file <- file.path(base_dir, {r_str(path.as_posix())})"]
    lines += _read_code(kind, meta, getattr(survey, "sheet", None))
    lines.append(f"stopifnot(nrow(raw) == {len(prepared.raw)})  # the rows the dashboard read")

    lines += ["", "# --- 2. clean the items (missing codes, answers outside the scale) as the Data page ---------",
              "d <- raw"]
    for item in instrument.items:
        column = report.mapping.get(item.id)
        if column is None:
            continue
        lo, hi = float(item.scale.min), float(item.scale.max)
        numbers, _ = _explicit_codes(instrument, meta.get("missing_codes"), column)
        codes = r_nums(sorted(numbers))
        flags = []
        if _action(actions, "MISSING_CODE", column, "set_missing") != "set_missing":
            flags.append("drop_codes = FALSE")
        if _action(actions, "OUT_OF_RANGE", column, "set_missing") != "set_missing":
            flags.append("drop_outside = FALSE")
        call = f"clean_item(raw[[{r_str(column)}]], {r_num(lo)}, {r_num(hi)}, {codes}"
        call += "".join(f", {f}" for f in flags) + ")"
        lines.append(f"d[[{r_str(item.id)}]] <- {call}")
        if column != item.id:
            lines.append(f"d[[{r_str(column)}]] <- NULL")
        if column in constant:
            lines.append(f"d[[{r_str(item.id)}]] <- NA_real_  # constant item set to missing on the Data page")

    rows = kept_rows(prepared, exclude)
    n = len(prepared.raw)
    lines += ["", "# --- 3. the respondents analysed ---------------------------------------------------------"]
    dropped = len(prepared.raw) - len(prepared.data)
    if len(rows) == n:
        lines.append("# every row of the file")
    else:
        why = []
        if dropped:
            why.append(f"{dropped} dropped by the Data page's choices ("
                       + ", ".join(sorted(k for k, v in actions.items() if v == "drop_respondents")) + ")")
        if len(rows) < n - dropped:
            why.append(f"{n - dropped - len(rows)} left out by this screen"
                       + (f" ({rows_note})" if rows_note else ""))
        lines.append("# rows of the file kept (1 = the first respondent): " + "; ".join(why))
        lines.append(wrap(f"keep <- {r_ranges(rows)}"))
        lines.append("d <- d[keep, , drop = FALSE]")

    lines += ["", "# --- 4. scale scores -----------------------------------------------------------------------"]
    wanted = None if scales is None else set(scales)
    share_default = float(getattr(survey, "min_share", 0.5) or 0.5)
    for construct in instrument.constructs:
        if wanted is not None and construct.key not in wanted:
            continue
        present = [it.id for it in construct.items if it.id in prepared.data.columns]
        if not present:
            continue
        reverse = [it.id for it in construct.items if it.reverse and it.id in present]
        share = construct.min_share if getattr(construct, "min_share", None) else share_default
        lines.append(wrap(f"d[[{r_str(construct.key)}]] <- score_scale(d[, {r_chr(present)}, drop = FALSE], "
                          f"{r_chr(reverse)}, {r_num(construct.scale.min)}, {r_num(construct.scale.max)}, "
                          f"{r_num(share)})"))
    return Prelude("\n".join(lines), ["jsonlite", READERS[kind]], rows, n)
