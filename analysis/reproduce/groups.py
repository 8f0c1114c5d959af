"""R code for the skills screen's group comparison (``analysis.topics.compare_groups``).

Matches, on the respondents the screen's comparison uses (its privacy rule leaves out the rows
of groups too small to show; the script drops them by row number before this part):

* a score, two groups: ``t.test(x, y)`` (Welch) with Hedges g and its Hedges & Olkin (1985)
  interval, or ``wilcox.test(x, y, exact = FALSE)`` with the rank-biserial r and its Hanley &
  McNeil (1982) interval;
* a score, more groups: ``oneway.test(y ~ g, var.equal = FALSE)`` with eta squared from the
  one-way ANOVA and its interval by inverting the noncentral F (Steiger 2004), or
  ``kruskal.test`` with epsilon squared and its noncentral chi-square interval;
* a background category: ``chisq.test(table(g, y), correct = FALSE)`` with Cramer's V and its
  noncentral chi-square interval.

The script prints the keys of ``GroupComparison.to_dict`` (test, statistic, df, p, effect,
effect_size, ci_low, ci_high).
"""
from __future__ import annotations

from typing import Sequence

from analysis.derived import AGE_BAND, AGE_BREAKS
from analysis.reproduce.rcode import r_chr, r_named, r_str

PACKAGES: list[str] = []  # base R's stats

NCP_INTERVAL = """ncp_interval <- function(stat, cdf, level = 0.95) {  # Steiger (2004)
  a <- (1 - level) / 2
  solve <- function(target) {
    f <- function(lam) cdf(stat, lam) - target
    if (f(0) < 0) return(0)
    hi <- max(10, stat * 4)
    while (f(hi) > 0) hi <- hi * 2
    uniroot(f, c(0, hi), tol = 1e-12)$root
  }
  c(solve(1 - a), solve(a))
}"""


def _labels_code(name: str, column: str, labels: dict | None) -> str:
    """``name <- ...``: the column as the screen labels it (age in bands, codes as their labels)."""
    col = f"d[[{r_str(column if column != AGE_BAND else 'age')}]]"
    if column == AGE_BAND:
        edges = ", ".join(str(b) for b in AGE_BREAKS)
        names = [f"<{AGE_BREAKS[0]}"] + [f"{lo}-{hi - 1}" for lo, hi in zip(AGE_BREAKS[:-1], AGE_BREAKS[1:])] \
            + [f"{AGE_BREAKS[-1]}+"]
        return (f"{name} <- as.character(cut(as.numeric({col}), c(-Inf, {edges}, Inf), right = FALSE, "
                f"labels = {r_chr(names)}))  # analysis.derived.age_bands")
    if labels:
        return (f"{name} <- unname({r_named({str(k): v for k, v in labels.items()})}"
                f"[as.character(suppressWarnings(as.numeric(as.character({col}))))])  # codes as their labels")
    return f"{name} <- as.character({col})"


def groups_code(outcome: str, group: str, levels: Sequence[str], *, parametric: bool = True,
                categorical: bool = False, group_labels: dict | None = None,
                outcome_labels: dict | None = None) -> str:
    """R code computing ``out`` from ``d``: ``outcome`` compared across ``group``.

    Parameters
    ----------
    outcome, group : str
        The compared score or category, and the grouping column (``age_band``: age in bands).
    levels : sequence of str
        The groups compared, in the screen's order (two groups: the first minus the second).
    parametric : bool
        Welch tests, or rank-based ones.
    categorical : bool
        The outcome is a category (chi-square).
    group_labels, outcome_labels : dict, optional
        Code -> label of the columns (the instrument's levels).
    """
    lines = [_labels_code("g", group, group_labels),
             _labels_code("y", outcome, outcome_labels) if categorical else
             f"y <- as.numeric(d[[{r_str(outcome)}]])",
             "ok <- !is.na(y) & !is.na(g); y <- y[ok]; g <- g[ok]",
             f"lv <- {r_chr(levels)}",
             NCP_INTERVAL]
    head = f"out <- list(outcome = {r_str(outcome)}, group = {r_str(group)}"
    if categorical:
        lines += [
            "tab <- table(factor(g, levels = lv), y)",
            "ct <- suppressWarnings(chisq.test(tab, correct = FALSE))",
            "n <- sum(tab); k <- min(dim(tab)) - 1; chi2 <- unname(ct$statistic); df <- unname(ct$parameter)",
            "lam <- ncp_interval(chi2, function(s, l) pchisq(s, df, ncp = l))",
            head + ", test = \"Pearson chi-square\", statistic = chi2, df = df, p = ct$p.value,",
            "            effect = \"Cramer's V\", effect_size = sqrt(chi2 / (n * k)), ci_low = sqrt(lam[1] / (n * k)),",
            "            ci_high = min(1, sqrt(lam[2] / (n * k))))",
        ]
    elif len(levels) == 2 and parametric:
        lines += [
            "x1 <- y[g == lv[1]]; x2 <- y[g == lv[2]]; n1 <- length(x1); n2 <- length(x2)",
            "tt <- t.test(x1, x2)  # Welch",
            "pooled <- sqrt(((n1 - 1) * var(x1) + (n2 - 1) * var(x2)) / (n1 + n2 - 2))",
            "hg <- (mean(x1) - mean(x2)) / pooled * (1 - 3 / (4 * (n1 + n2) - 9))  # Hedges (1981)",
            "se <- sqrt((n1 + n2) / (n1 * n2) + hg^2 / (2 * (n1 + n2))); crit <- qt(0.975, n1 + n2 - 2)",
            head + ", test = \"Welch t\", statistic = unname(tt$statistic), df = unname(tt$parameter),",
            "            p = tt$p.value, effect = \"Hedges g\", effect_size = hg, ci_low = hg - crit * se,",
            "            ci_high = hg + crit * se)",
        ]
    elif len(levels) == 2:
        lines += [
            "x1 <- y[g == lv[1]]; x2 <- y[g == lv[2]]; n1 <- length(x1); n2 <- length(x2)",
            "wt <- wilcox.test(x1, x2, exact = FALSE)  # U of the first group, continuity-corrected p",
            "a <- unname(wt$statistic) / (n1 * n2); q1 <- a / (2 - a); q2 <- 2 * a^2 / (1 + a)",
            "se <- sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a^2) + (n2 - 1) * (q2 - a^2), 0) / (n1 * n2))",
            head + ", test = \"Mann-Whitney U\", statistic = unname(wt$statistic), df = NA, p = wt$p.value,",
            "            effect = \"rank-biserial r\", effect_size = 2 * a - 1,",
            "            ci_low = max(-1, 2 * (a - qnorm(0.975) * se) - 1),",
            "            ci_high = min(1, 2 * (a + qnorm(0.975) * se) - 1))",
        ]
    elif parametric:
        lines += [
            "g <- factor(g, levels = lv); n <- length(y); k <- nlevels(g)",
            "ow <- oneway.test(y ~ g, var.equal = FALSE)",
            "ss_b <- sum(tapply(y, g, function(v) length(v) * (mean(v) - mean(y))^2)); ss_t <- sum((y - mean(y))^2)",
            "ms_w <- (ss_t - ss_b) / (n - k); f_classic <- (ss_b / (k - 1)) / ms_w",
            "lam <- ncp_interval(f_classic, function(s, l) pf(s, k - 1, n - k, ncp = l))",
            head + ", test = \"Welch ANOVA\", statistic = unname(ow$statistic), df = unname(ow$parameter),",
            "            p = ow$p.value, effect = \"eta squared\", effect_size = ss_b / ss_t,",
            "            ci_low = lam[1] / (lam[1] + n), ci_high = lam[2] / (lam[2] + n),",
            "            omega_squared = (ss_b - (k - 1) * ms_w) / (ss_t + ms_w))",
        ]
    else:
        lines += [
            "g <- factor(g, levels = lv); n <- length(y); k <- nlevels(g)",
            "kw <- kruskal.test(y, g); h <- unname(kw$statistic)",
            "lam <- ncp_interval(h, function(s, l) pchisq(s, k - 1, ncp = l))",
            "to_eps <- function(l) if (l > 0) min(1, (l + k - 1) * (n + 1) / (n^2 - 1)) else 0",
            head + ", test = \"Kruskal-Wallis\", statistic = h, df = k - 1, p = kw$p.value,",
            "            effect = \"epsilon squared\", effect_size = h * (n + 1) / (n^2 - 1),",
            "            ci_low = to_eps(lam[1]), ci_high = to_eps(lam[2]))",
        ]
    return "\n".join(lines)
