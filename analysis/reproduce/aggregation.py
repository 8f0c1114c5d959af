"""R code for the Measurement screen's aggregation block (``analysis.aggregation.aggregate``).

Matches, on the respondents with every item and the group answered (as ``multilevel::rwg.j`` uses):

* ``multilevel::rwg.j(x, grpid, ranvar = (A^2 - 1) / 12)`` per group (``multilevel::rwg`` for one
  item), uniform null over A options (James, Demaree & Wolf 1984); groups under the minimum size
  get no value;
* ``multilevel::ICC1(aov(score ~ as.factor(grpid)))`` and ``multilevel::ICC2(...)`` on the
  respondents' mean of the items (Bliese 2000).

The script prints the numbers under the keys of ``AggregationResult.to_dict``.
"""
from __future__ import annotations

from typing import Sequence

from analysis.reproduce.rcode import keyed_items, r_str

PACKAGES = ["multilevel"]


def aggregation_code(group: str, items: Sequence[str], options: int, *, reverse: Sequence[str] = (),
                     scale_min: float | None = None, scale_max: float | None = None,
                     min_group_size: int = 2) -> str:
    """R code computing ``out`` from ``d``: agreement and ICCs of ``items`` within ``group``.

    Parameters
    ----------
    group : str
        The grouping column (organisation, team, municipality).
    items : sequence of str
        One item (``multilevel::rwg``) or a scale's items (``multilevel::rwg.j``).
    options : int
        Number of response options A: the uniform null variance is (A^2 - 1) / 12.
    reverse : sequence of str
        Reverse-keyed items, recoded ``scale_min + scale_max - x`` (no range: the observed one).
    scale_min, scale_max : float, optional
        The response range.
    min_group_size : int
        Groups with fewer respondents get no rwg (``analysis.aggregation.aggregate``).

    Returns
    -------
    str
        R code calling ``multilevel::rwg.j`` and ``multilevel::ICC1``/``ICC2`` on
        ``aov(score ~ as.factor(g))``.
    """
    one = len(items) == 1
    lines = ["# --- 5. agreement and ICCs: multilevel::rwg.j, multilevel::ICC1/ICC2 -------------------------",
             *keyed_items(items, reverse, scale_min, scale_max)]
    lines += [
        f"g <- d[[{r_str(group)}]]",
        "g <- trimws(as.character(g))  # group ids as text",
        "ok <- complete.cases(x) & !is.na(g) & g != \"\"",
        "x <- x[ok, , drop = FALSE]; g <- g[ok]",
        f"A <- {int(options)}",
        ("r <- multilevel::rwg(x[[1]], g, ranvar = (A^2 - 1) / 12); names(r)[2] <- \"rwg\"" if one else
         "r <- multilevel::rwg.j(x, g, ranvar = (A^2 - 1) / 12); names(r)[2] <- \"rwg\""),
        f"r$rwg[r$gsize < {int(min_group_size)}] <- NA",
        "score <- rowMeans(x)",
        "fit <- aov(score ~ as.factor(g))",
        "means <- tapply(score, g, mean)",
        "groups <- data.frame(group = as.character(r$grpid), n = as.integer(r$gsize),",
        "                     mean = as.numeric(means[as.character(r$grpid)]), rwg = r$rwg)",
        "out <- list(analysis = \"aggregate\", n_groups = nrow(groups), n_obs = nrow(x),",
        "            icc1 = multilevel::ICC1(fit), icc2 = multilevel::ICC2(fit),",
        "            rwg_mean = mean(groups$rwg, na.rm = TRUE), rwg_median = median(groups$rwg, na.rm = TRUE),",
        f"            statistic = {r_str('rwg' if one else 'rwg(j)')}, options = A, groups = groups)",
    ]
    return "\n".join(lines)
