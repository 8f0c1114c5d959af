"""R code for the skills and resources screens' correlation tables
(``analysis.topics.correlations``).

Matches, for every pair of scores on the rows answering both: ``cor.test(x, y, method =
"pearson")`` (r, the t-test p with n - 2 df, the Fisher-z 95% interval with SE 1 / sqrt(n - 3),
which is ``cor.test``'s own ``conf.int`` for Pearson) or ``method = "spearman", exact = FALSE``
(rho and the t approximation of its p, as ``scipy.stats.spearmanr``; the interval by the same
Fisher z as the screen). The script prints ``{"table": [{x, y, n, r, ci_low, ci_high, p}]}``,
the rows of the ``topics --section correlations`` command.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.reproduce.rcode import r_chr, r_ranges, r_str, wrap

PACKAGES: list[str] = []  # base R's stats


def withheld_rows(prepared, view, columns: Sequence[str], min_n: int) -> dict[str, list[int]]:
    """For each pair of scores, the 1-based file rows answering both that the screen's privacy
    rule leaves out of that pair (``analysis.topics.correlation_rows``), keyed ``"a|b"``.

    Parameters
    ----------
    prepared : analysis.pipeline.PreparedData
        The survey's prepared data (``raw``: every row read, in file order).
    view : DataFrame
        The rows the screen shows (its filters applied), indexed as ``prepared.data``.
    columns : sequence of str
        The scores.
    min_n : int
        The privacy threshold.
    """
    from analysis.topics import correlation_masks

    out = {}
    columns = list(columns)
    answered = view[columns].apply(pd.to_numeric, errors="coerce").notna().to_numpy()
    position = prepared.raw.index.get_indexer(view.index)  # each view row's place in the file, once
    for (a, b), used in correlation_masks(view, columns, min_n=min_n).items():
        i, j = columns.index(a), columns.index(b)
        left = position[answered[:, i] & answered[:, j] & ~used]
        left = np.unique(left[left >= 0])
        if len(left):
            out[f"{a}|{b}"] = (left + 1).tolist()
    return out


def correlations_code(columns: Sequence[str], *, method: str = "pearson",
                      withheld: dict[str, list[int]] | None = None) -> str:
    """R code computing ``out`` from ``d``: the pairwise correlations of ``columns``.

    Parameters
    ----------
    columns : sequence of str
        Scale scores (columns of ``d``, made by the script's scoring step).
    method : {"pearson", "spearman"}
        Pearson's r or Spearman's rho.
    withheld : dict, optional
        Per pair (``"a|b"``), file rows the screen's privacy rule leaves out of that pair
        (:func:`withheld_rows`).
    """
    if method not in ("pearson", "spearman"):
        raise InputError(f"unknown correlation method '{method}'", hint="use pearson or spearman")
    if len(columns) < 2:
        raise InputError("a correlation table needs at least two scores")
    pairs = ", ".join(f"{r_str(k)} = {r_ranges(v)}" for k, v in (withheld or {}).items())
    return "\n".join([
        f"cols <- {r_chr(columns)}",
        "# file rows of d (the rows kept above), and per pair the rows the screen's privacy rule leaves out",
        "file_row <- if (exists(\"keep\")) keep else seq_len(nrow(d))",
        wrap(f"withheld <- list({pairs})"),
        "rows <- list()",
        "for (i in seq_along(cols)) for (j in seq_along(cols)) if (j > i) {",
        "  a <- cols[[i]]; b <- cols[[j]]",
        "  left_out <- withheld[[paste(a, b, sep = \"|\")]]",
        "  ok <- !is.na(d[[a]]) & !is.na(d[[b]]) & !(file_row %in% c(left_out, integer(0)))",
        "  x <- as.numeric(d[[a]][ok]); y <- as.numeric(d[[b]][ok]); n <- length(x)",
        "  if (n < 4) {  # too few pairs: no correlation (as the screen)",
        "    rows[[length(rows) + 1]] <- list(x = a, y = b, n = n, r = NA, ci_low = NA, ci_high = NA, p = NA)",
        "    next",
        "  }",
        f"  ct <- suppressWarnings(cor.test(x, y, method = {r_str(method)}, exact = FALSE))",
        "  r <- unname(ct$estimate); half <- qnorm(0.975) / sqrt(n - 3)  # Fisher (1921) z interval",
        "  rows[[length(rows) + 1]] <- list(x = a, y = b, n = n, r = r, ci_low = tanh(atanh(r) - half),",
        "                                   ci_high = tanh(atanh(r) + half), p = ct$p.value)",
        "}",
        "out <- list(table = rows)",
    ])
