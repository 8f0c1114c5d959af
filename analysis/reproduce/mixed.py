"""R code for the Models screen (``analysis.mixed.fit`` on ``analysis.model_data``).

The model table is rebuilt column by column as ``analysis.model_data.model_data`` makes it
(demographics with value labels as their labels, scale scores, ``age10``, ``female``,
``readiness_index``, ``any_digital``/``any_offline``, other columns as they are), then the centred
predictors the formula names as ``analysis.model_data.with_derived`` does (Enders & Tofighi
2007), on every respondent before the model's complete cases are taken:
``c_x = x - mean(x, na.rm = TRUE)``, ``gm_x = ave(x, g, FUN = mean(na.rm = TRUE))``,
``cwc_x = x - gm_x``, ``c_gm_x = gm_x - mean(x, na.rm = TRUE)``, ``g`` the formula's first grouping
column. Categorical predictors become factors with the screen's levels, reference level first.

The model: ``lmerTest::lmer(formula, data, REML = ...)`` (Satterthwaite df), or
``lme4::glmer(formula, data, family = binomial)`` (Laplace) for the logistic family; variances from
``lme4::VarCorr``, ``logLik``, ``AIC``, ``BIC``, and, where the performance package is installed,
``performance::r2_nakagawa`` and ``performance::icc``. The script prints them under the keys of
``MixedResult.to_dict``.
"""
from __future__ import annotations

import importlib
from typing import Mapping

from analysis.errors import InputError
from analysis.io import NA_TOKENS
from analysis.reproduce.rcode import r_chr, r_named, r_str, wrap

PACKAGES = ["lme4", "lmerTest"]
OPTIONAL = ["performance"]
# blank cells and the NA words analysis.io reads as missing
_NA_TEXT = ["", *sorted(NA_TOKENS)]


def model_table_module():
    """The module building the Models screen's table (``analysis.model_data``)."""
    return importlib.import_module("analysis.model_data")


def _base_code(name: str, prepared, table, built: dict[str, str]) -> None:
    """Add to ``built`` the R line that makes the model-table column ``name`` in ``d``."""
    from analysis.topics import _channel_construct

    if name in built:
        return
    instrument = prepared.instrument
    demographics = {demo.id: demo for demo in instrument.demographics}
    constructs = {c.key for c in instrument.constructs}
    col = f"d[[{r_str(name)}]]"
    if name in constructs:
        built[name] = f"# {name}: the scale score (step 4)"
    elif name in demographics and demographics[name].type == "categorical" and demographics[name].levels:
        labels = {str(k): v for k, v in demographics[name].levels.items()}
        built[name] = wrap(f"{col} <- local({{ v <- trimws(as.character({col})); lab <- unname({r_named(labels)}"
                           "[as.character(to_num(v))]); out <- ifelse(is.na(lab), v, lab); "
                           f"out[is.na(v) | v %in% {r_chr(_NA_TEXT)}] <- NA; out }})  # value labels")
    elif name in demographics:
        built[name] = f"{col} <- to_num({col})"
    elif name == "age10":
        _base_code("age", prepared, table, built)
        built[name] = f"{col} <- d[[\"age\"]] / 10  # age in decades"
    elif name == "female":
        _base_code("gender", prepared, table, built)
        built[name] = f"{col} <- ifelse(is.na(d[[\"gender\"]]), NA, as.numeric(d[[\"gender\"]] == \"Woman\"))"
    elif name == "readiness_index":
        dims = [c for c in instrument.readiness_dimensions if c.key in prepared.data.columns]
        parts = ", ".join(f"(d[[{r_str(c.key)}]] - {c.scale.min:g}) / {c.scale.max - c.scale.min:g} * 100"
                          for c in dims)
        built[name] = wrap(f"{col} <- rowMeans(cbind({parts}))  # analysis.readiness_index: the mean of the "
                           "0-100 dimension scores, missing if any is")
    elif name in ("any_digital", "any_offline"):
        c = _channel_construct(instrument, name.split("_", 1)[1])
        present = [it.id for it in c.items if it.id in prepared.data.columns]
        codes = [float(v) for v in (instrument.missing_codes or []) if isinstance(v, (int, float))]
        built[name] = wrap(
            f"{col} <- local({{ x <- as.matrix(d[, {r_chr(present)}, drop = FALSE]); "
            f"x[x %in% c({', '.join(map(str, codes))})] <- NA; "
            f"v <- as.numeric(rowSums(x == {c.scale.max:g}, na.rm = TRUE) > 0); "
            "v[rowSums(!is.na(x)) == 0] <- NA; v })  # 1 if any activity of the channel was done")
    elif name == "readiness_muni":
        raise InputError("the R script cannot yet rebuild readiness_muni (the public servants' readiness "
                         "linked to municipalities)", hint="fit this model with python -m analysis mixed --servants")
    elif name in table.columns:
        import pandas as pd

        numeric = pd.api.types.is_numeric_dtype(table[name]) and not pd.api.types.is_bool_dtype(table[name])
        built[name] = f"{col} <- to_num({col})" if numeric else f"# {name}: as read (text)"
    else:
        raise InputError(f"'{name}' is not a column of the model table", column=name)


def mixed_code(prepared, formula: str, *, reml: bool = True, family: str = "gaussian",
               references: Mapping[str, str] | None = None) -> str:
    """R code computing ``out`` from ``d``: the Models screen's model ``formula``.

    Parameters
    ----------
    prepared : analysis.pipeline.PreparedData
        The survey's prepared data; its instrument says which columns are scores, labelled
        demographics and readiness dimensions.
    formula : str
        The lme4 formula as fitted (centred names such as ``cwc_x`` are built in R).
    reml : bool
        REML (default) or ML, as the screen's "ML instead of REML".
    family : {"gaussian", "binomial"}
        ``lmerTest::lmer`` or ``lme4::glmer(family = binomial)``.
    references : mapping, optional
        Reference level of a categorical predictor (default: the first level in sorted order).

    Returns
    -------
    str
        R code building the model table, then fitting it.

    Raises
    ------
    InputError
        A family other than these two, or a variable the R script cannot rebuild.
    """
    from analysis.mixed.formula import is_categorical, make_coding, parse_formula, _level_label
    from analysis.mixed.slopes import first_group

    tables = model_table_module()
    DERIVED_PREFIXES, model_data = tables.DERIVED_PREFIXES, tables.model_data
    split_derived, with_derived = tables.split_derived, tables.with_derived

    if family not in ("gaussian", "binomial"):
        raise InputError(f"the R script covers the gaussian and binomial families, not '{family}'")
    references = dict(references or {})
    parsed = parse_formula(formula)
    table = model_data(prepared.data, prepared.instrument)
    frame, _ = with_derived(table, formula)
    group = first_group(formula)
    built: dict[str, str] = {}
    derived_lines: list[str] = []
    for name in parsed.variables:
        if name in table.columns:
            _base_code(name, prepared, table, built)
            continue
        parts = split_derived(name, table.columns)
        if parts is None:
            raise InputError(f"'{name}' is not a column of the model table", column=name)
        prefix, base = parts
        _base_code(base, prepared, table, built)
        x, g = f"d[[{r_str(base)}]]", f"d[[{r_str(group or '')}]]"
        note = DERIVED_PREFIXES[prefix].format(base=base, group=group)
        expr = {"c_": f"{x} - mean({x}, na.rm = TRUE)",
                "cwc_": f"{x} - group_mean({x}, {g})",
                "gm_": f"group_mean({x}, {g})",
                "c_gm_": f"group_mean({x}, {g}) - mean({x}, na.rm = TRUE)"}[prefix]
        derived_lines.append(f"d[[{r_str(name)}]] <- {expr}  # {note}")
    factor_lines = []
    for name in parsed.variables:
        if name in frame.columns and is_categorical(frame[name]):
            groups = {v for r in parsed.random for v in r.group}
            if name in groups:
                factor_lines.append(f"d[[{r_str(name)}]] <- factor(trimws(as.character(d[[{r_str(name)}]])))")
                continue
            coding = make_coding(frame, name, references.get(name))
            levels = [_level_label(v) for v in coding.levels or []]
            factor_lines.append(wrap(f"d[[{r_str(name)}]] <- factor(d[[{r_str(name)}]], levels = {r_chr(levels)})"
                                     "  # reference level first"))
    lines = ["# --- 5. the model table (as the Models screen builds it) ---------------------------------",
             *built.values()]
    if derived_lines:
        lines += ["group_mean <- function(x, g) {  # each row's group mean, NA without a group",
                  "  m <- ave(x, ifelse(is.na(g), \"\", as.character(g)), FUN = function(v) mean(v, na.rm = TRUE))",
                  "  m[is.na(g)] <- NA",
                  "  m",
                  "}", *derived_lines]
    lines += factor_lines
    binomial = family == "binomial"
    method = "ML" if binomial or not reml else "REML"
    lines += ["", "# --- 6. the model: " + ("lme4::glmer (binomial, Laplace)" if binomial
                                            else f"lmerTest::lmer ({method}, Satterthwaite df)") + " ----------",
              f"f <- as.formula({r_str(formula)})"]
    if binomial:
        lines += ["m <- lme4::glmer(f, data = d, family = binomial)",
                  "cf <- coef(summary(m))",
                  "fixed <- data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2], z = cf[, 3], "
                  "p = cf[, 4], row.names = NULL)"]
    else:
        lines += [f"m <- lmerTest::lmer(f, data = d, REML = {'TRUE' if reml else 'FALSE'})",
                  "cf <- coef(summary(m))",
                  "fixed <- data.frame(term = rownames(cf), estimate = cf[, 1], se = cf[, 2], df = cf[, 3], "
                  "t = cf[, 4], p = cf[, 5], row.names = NULL)"]
    lines += [
        "vc <- as.data.frame(lme4::VarCorr(m))",
        "rand <- vc[vc$grp != \"Residual\" & is.na(vc$var2), ]",
        "random <- data.frame(group = rand$grp, term = rand$var1, variance = rand$vcov, sd = rand$sdcor)",
        "# performance gives NA for the conditional R2 and the ICC of a singular fit (its tolerance check);",
        "# the dashboard follows the same rule (analysis.mixed.r2)",
        "r2 <- icc <- NULL",
        "if (requireNamespace(\"performance\", quietly = TRUE)) {",
        "  quiet <- function(expr) {  # performance may print notes on stdout, where the JSON goes",
        "    value <- NULL",
        "    utils::capture.output(value <- tryCatch(suppressMessages(suppressWarnings(expr)),",
        "                                            error = function(e) NULL))",
        "    value",
        "  }",
        "  r2 <- quiet(performance::r2_nakagawa(m))",
        "  icc <- quiet(performance::icc(m))",
        "}",
        "pick <- function(x, name) if (is.list(x) && length(x[[name]])) as.numeric(x[[name]][[1]]) else NA  # NA: "
        "singular fit",
        f"out <- list(analysis = \"mixed\", formula = {r_str(formula)}, family = {r_str(family)}, "
        f"method = {r_str(method)},",
        "            n_obs = nobs(m), groups = as.list(lme4::ngrps(m)), fixed = fixed, random = random,",
        "            residual_variance = " + ("NA" if binomial else "sigma(m)^2") + ",",
        "            loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),",
        "            npar = as.integer(attr(logLik(m), \"df\")),",
        "            r2_marginal = pick(r2, \"R2_marginal\"), r2_conditional = pick(r2, \"R2_conditional\"),",
        "            icc = pick(icc, \"ICC_adjusted\"), singular = lme4::isSingular(m))",
    ]
    return "\n".join(lines)
