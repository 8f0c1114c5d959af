"""R code for the Measurement screen's confirmatory factor models (``analysis.factor.cfa``).

One factor over a scale's items, or one factor per scale (``python -m analysis factor --scale A B
C``), each scale's reverse-keyed items recoded on its own range first. Matches
``lavaan::cfa(model, data, estimator = "ML", std.lv = TRUE, missing = "listwise")`` with
``lavaan::fitMeasures`` (chisq, df, pvalue, cfi, tli, rmsea and its 90% interval, srmr, logl, aic,
bic, npar) and ``lavaan::standardizedSolution`` (std.all loadings, factor correlations).
Item names lavaan cannot parse are given plain aliases in R and reported under their own names.

The script prints the numbers under the keys of ``CFAResult.to_dict``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from analysis.reproduce.rcode import r_chr, r_num, r_str, syntactic, wrap

PACKAGES = ["lavaan"]


def cfa_code(model: Mapping[str, Sequence[str]], reverse: Mapping[str, tuple[float | None, float | None]]) -> str:
    """R code computing ``out`` from ``d``: the confirmatory factor model ``model``.

    Parameters
    ----------
    model : mapping of str to sequence of str
        ``{factor: items}``; factors correlate freely.
    reverse : mapping of str to (float, float)
        Each reverse-keyed item and the (min, max) it is recoded on (``min + max - x``);
        ``(None, None)``: the observed range of the reverse-keyed items.

    Returns
    -------
    str
        R code calling ``lavaan::cfa(model, data, estimator = "ML", std.lv = TRUE,
        missing = "listwise")``, ``lavaan::fitMeasures`` and ``lavaan::standardizedSolution``.
    """
    items = list(dict.fromkeys(i for its in model.values() for i in its))
    alias = {item: (item if syntactic(item) and not item.startswith(".") else f"item{k + 1}")
             for k, item in enumerate(items)}
    factors = {f: (f if syntactic(f) else f"F{k + 1}") for k, f in enumerate(model)}
    syntax = "\n".join(f"{factors[f]} =~ {' + '.join(alias[i] for i in its)}" for f, its in model.items())
    lines = ["# --- 5. confirmatory factor model: lavaan::cfa (ML, std.lv = TRUE, listwise) -------------------",
             wrap(f"items <- {r_chr(items)}"),
             "x <- as.data.frame(lapply(d[, items, drop = FALSE], to_num), check.names = FALSE)"]
    observed = [i for i, (lo, hi) in reverse.items() if lo is None or hi is None]
    if observed:
        lines.append(f"rng <- range(unlist(x[, {r_chr(observed)}]), na.rm = TRUE)  # no stated range: the observed one")
    for item, (lo, hi) in reverse.items():
        if item not in alias:
            continue
        if lo is None or hi is None:
            lines.append(f"x[[{r_str(item)}]] <- rng[1] + rng[2] - x[[{r_str(item)}]]")
        else:
            lines.append(f"x[[{r_str(item)}]] <- {r_num(lo)} + {r_num(hi)} - x[[{r_str(item)}]]")
    lines += [
        wrap(f"names(x) <- {r_chr(alias[i] for i in items)}"),
        wrap(f"item_names <- setNames({r_chr(items)}, names(x))"),
        wrap(f"factor_names <- setNames({r_chr(model)}, {r_chr(factors.values())})"),
        f"model <- {r_str(syntax)}",
        "fit <- lavaan::cfa(model, data = x, estimator = \"ML\", std.lv = TRUE, missing = \"listwise\")",
        "fm <- lavaan::fitMeasures(fit, c(\"chisq\", \"df\", \"pvalue\", \"cfi\", \"tli\", \"rmsea\",",
        "  \"rmsea.ci.lower\", \"rmsea.ci.upper\", \"srmr\", \"logl\", \"aic\", \"bic\", \"npar\"))",
        "pe <- lavaan::parameterEstimates(fit)",
        "ss <- lavaan::standardizedSolution(fit)",
        "lam <- pe$op == \"=~\"",
        "loadings <- data.frame(factor = unname(factor_names[pe$lhs[lam]]), item = unname(item_names[pe$rhs[lam]]),",
        "                       estimate = pe$est[lam], se = pe$se[lam], loading = ss$est.std[ss$op == \"=~\"],",
        "                       residual_variance = pe$est[pe$op == \"~~\" & pe$lhs == pe$rhs][match(pe$rhs[lam],",
        "                         pe$lhs[pe$op == \"~~\" & pe$lhs == pe$rhs])])",
        "phi <- lavaan::lavInspect(fit, \"std\")$psi",
        "out <- list(analysis = \"cfa\", n = lavaan::lavInspect(fit, \"nobs\"), chi2 = fm[[\"chisq\"]],",
        "            df = as.integer(fm[[\"df\"]]), p = fm[[\"pvalue\"]], cfi = fm[[\"cfi\"]], tli = fm[[\"tli\"]],",
        "            rmsea = fm[[\"rmsea\"]], rmsea_ci = c(fm[[\"rmsea.ci.lower\"]], fm[[\"rmsea.ci.upper\"]]),",
        "            srmr = fm[[\"srmr\"]], npar = as.integer(fm[[\"npar\"]]), loglik = fm[[\"logl\"]],",
        "            aic = fm[[\"aic\"]], bic = fm[[\"bic\"]],",
        "            loadings = as.list(setNames(loadings$loading, loadings$item)), loadings_table = loadings,",
        "            factors = unname(factor_names[colnames(phi)]), factor_correlations = unname(as.matrix(phi)),",
        "            converged = lavaan::lavInspect(fit, \"converged\"))",
    ]
    return "\n".join(lines)
