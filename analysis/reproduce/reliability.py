"""R code for the Measurement screen's reliability block (``analysis.reliability.reliability``).

Matches, on the same reverse-keyed items:

* ``psych::alpha(x, check.keys = FALSE)``: raw and standardized alpha, G6(smc) (lambda-6), average
  and median r, the Feldt interval (``$feldt``), item mean/SD/n, r.drop and alpha if an item is
  dropped; ``x`` is every row given under pairwise deletion (psych counts them for the Feldt
  interval) and ``na.omit(x)`` under listwise deletion;
* ``psych::splitHalf(x, check.keys = FALSE)$lambda2``: Guttman's lambda-2;
* ``psych::omega(x, nfactors = 1)$omega.tot``: omega total from a one-factor minres model.

The script prints the numbers under the keys of ``ReliabilityResult.to_dict``.
"""
from __future__ import annotations

from typing import Sequence

from analysis.reproduce.rcode import keyed_items, r_num, r_str

PACKAGES = ["psych", "GPArotation"]


def reliability_code(items: Sequence[str], *, reverse: Sequence[str] = (), scale_min: float | None = None,
                     scale_max: float | None = None, missing: str = "pairwise", ci: float = 0.95) -> str:
    """R code computing ``out`` from ``d``: the reliability of ``items``.

    Parameters
    ----------
    items : sequence of str
        The scale's item ids (columns of ``d``).
    reverse : sequence of str
        Reverse-keyed items, recoded ``scale_min + scale_max - x``; without a range, on the observed
        range of the reverse-keyed items (``analysis.scoring.apply_reverse``, ``psych::reverse.code``).
    scale_min, scale_max : float, optional
        The response range.
    missing : {"pairwise", "listwise"}
        psych's default (every row given), or ``na.omit(x)`` first.
    ci : float
        Level of the Feldt interval (``psych::alpha.ci``).

    Returns
    -------
    str
        R code calling ``psych::alpha(x, check.keys = FALSE)``, ``psych::splitHalf`` and
        ``psych::omega(x, nfactors = 1)``.
    """
    lines = ["# --- 5. reliability: psych::alpha, psych::splitHalf, psych::omega --------------------------",
             *keyed_items(items, reverse, scale_min, scale_max)]
    lines.append("n_rows <- nrow(x)")
    if missing == "listwise":
        lines.append("x <- na.omit(x)  # listwise deletion: psych is given the complete rows")
    lines += [
        "used <- x[rowSums(!is.na(x)) > 0, , drop = FALSE]  # respondents with at least one answer",
        "a <- psych::alpha(x, check.keys = FALSE, warnings = FALSE)",
        "om <- suppressWarnings(suppressMessages(",
        "  if (length(items) > 2) psych::omega(used, nfactors = 1, plot = FALSE)$omega.tot else NA))",
        "l2 <- suppressWarnings(psych::splitHalf(used, check.keys = FALSE)$lambda2)",
        "total <- rowMeans(used, na.rm = TRUE)",
        f"ci <- psych::alpha.ci(a$total$raw_alpha, n.obs = nrow(x), n.var = length(items), p.val = {r_num(1 - ci)})",
        "item_table <- data.frame(item = items, n = as.integer(colSums(!is.na(used))),",
        "                         mean = colMeans(used, na.rm = TRUE), sd = apply(used, 2, sd, na.rm = TRUE),",
        "                         r_drop = a$item.stats$r.drop,",
        "                         alpha_if_deleted = if (length(items) > 2) a$alpha.drop$raw_alpha else NA,",
        "                         alpha_std_if_deleted = if (length(items) > 2) a$alpha.drop$std.alpha else NA,",
        "                         row.names = NULL)",
        f"out <- list(analysis = \"reliability\", n = nrow(used), k = length(items), missing = {r_str(missing)},",
        "            alpha = a$total$raw_alpha, alpha_std = a$total$std.alpha,",
        "            alpha_ci = c(ci$lower.ci, ci$upper.ci), ci_level = " + r_num(ci) + ",",
        "            lambda2 = l2, lambda6 = a$total[[\"G6(smc)\"]], average_r = a$total$average_r,",
        "            median_r = a$total$median_r, omega_total = om, n_rows = n_rows,",
        "            scale_mean = mean(total), scale_sd = sd(total), items = item_table)",
    ]
    return "\n".join(lines)
