"""Models: multilevel (mixed) regression in lme4's formula language.

Reads the prepared study from ``ui.state``, builds the respondent table and centred
predictors with ``ui.charts_models`` (through ``analysis.mixed.center`` / ``group_mean``),
fits with ``analysis.mixed.fit`` (cached here on the data's content, the formula and the
options), compares kept models with ``analysis.mixed.compare`` and renders tables, plain
readings, plots and the equivalent headless command. The formula box, the survey, the family
and ML are bound to the URL (``/models?survey=citizen&formula=...&family=binomial``), so other
screens can link to a prepared model.
"""
from __future__ import annotations

import json

import streamlit as st

st.title("Multilevel models")
st.markdown(
    "Respondents are nested: public servants in organisations, citizens in municipalities. A multilevel "
    "(mixed) model separates what differs **between** groups from what differs **within** them. Build a "
    "model by pointing and clicking, or type an lme4 formula such as `y ~ x * z + (1 + x | group)` in the "
    "formula box. The numbers reproduce R's lme4, lmerTest and performance packages.")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import privacy  # noqa: E402
from analysis.formatting import p_text  # noqa: E402
from analysis.errors import InputError  # noqa: E402
from analysis.mixed import compare, fit, null_model  # noqa: E402
from analysis.mixed import readings as model_readings  # noqa: E402
from analysis.mixed.result import SINGULAR_MESSAGE  # noqa: E402
from analysis.formatting import num  # noqa: E402
from analysis.mixed.formula import build_formula, is_categorical, parse_formula  # noqa: E402
from store import Store  # noqa: E402
from ui import charts_models as cm  # noqa: E402
from ui import access, state, tables  # noqa: E402
from ui import reproduce  # noqa: E402
from ui.widgets import chart, cite, command_text, download_buttons, guarded, page_link, plain, stop_unless_loaded  # noqa: E402

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

# The default model of each survey: the documented engagement model of the sample
# (sample_data/README.md) and a logistic model of any digital co-production.
DEFAULTS = {
    "public_servant": dict(outcome="dc_engagement", level1=["c_digital_skills"],
                           level2=["c_gm_readiness_index"], groups=["org_id"], slopes=[],
                           interactions=["c_gm_readiness_index:c_digital_skills"], family="gaussian"),
    "citizen": dict(outcome="any_digital", level1=["c_age10", "gender", "c_digital_skills"], level2=[],
                    groups=["municipality_id"], slopes=[], interactions=[], family="binomial"),
}
GENERIC_DEFAULT = dict(outcome=None, level1=[], level2=[], groups=[], slopes=[], interactions=[],
                       family="gaussian")
FAMILIES = {"gaussian": "Linear (gaussian)", "binomial": "Logistic (binomial, 0/1 outcome)"}
CENTRING = {"c_": "grand-mean centred (level 1)", "cwc_": "group-mean centred, within groups (level 1)",
            "gm_": "group mean (level-2 predictor)", "c_gm_": "group mean, grand-mean centred (level-2 predictor)"}


# ------------------------------------------------------------------ cached analysis calls
# The model table, its derived columns and the fits hold the survey's rows (600,000 at national
# scale): they are resources shared read-only by the sessions, not pickled and unpickled at each
# rerun as st.cache_data would (0.6 s of a first visit); each key names the content exactly. The
# bounds keep a national survey's kept fits to a few hundred MB (a fit holds its rows), and an
# hour without use frees them.
@st.cache_resource(show_spinner=False, max_entries=8, ttl=3600)
def _table(key: str, survey: str, min_n: int, _data: pd.DataFrame, _servants: pd.DataFrame | None) -> pd.DataFrame:
    return cm.model_data(_data, state.instrument(survey), servants=_servants,
                         servant_instrument=state.instrument("public_servant") if _servants is not None else None,
                         min_n=min_n)


def table_key(survey: str) -> str:
    """What the survey's model table is made of: its data key (ui.state.data_key), the public
    servants' for citizens, and the privacy threshold."""
    servants = state.data_key("public_servant") if survey == "citizen" else ""
    return f"{state.data_key(survey)}:{servants}:{state.min_n()}"


def table_for(data: pd.DataFrame, survey: str) -> pd.DataFrame:
    """The survey's model table; citizens also get their municipality's readiness from the
    public servants (readiness_muni) when that survey is loaded."""
    servants = state.dataset("public_servant") if survey == "citizen" else None
    return _table(table_key(survey), survey, state.min_n(), data, servants.data if servants is not None else None)


@st.cache_data(show_spinner=False, max_entries=32)
def _categorical_levels(key: str, formula: str, _frame: pd.DataFrame) -> dict[str, list[str]]:
    """Each categorical predictor of ``formula`` (not a grouping column) with its levels as text,
    sorted: the reference-level choices. Raises ``InputError`` for a derived name it cannot make.
    Read from the formula's own columns (``_fit_data``, which the fit then reuses)."""
    derived, _ = _fit_data(key, formula, _frame)
    parsed = parse_formula(formula)
    grouping = {g for r in parsed.random for g in r.group}
    return {v: sorted(map(str, derived[v].dropna().unique())) for v in parsed.variables
            if v != parsed.outcome and v in derived.columns and v not in grouping and is_categorical(derived[v])}


@st.cache_data(show_spinner=False, max_entries=16)
def _level2_columns(key: str, columns: tuple, group: str, _frame: pd.DataFrame) -> list[str]:
    """The model table's columns constant within ``group`` (level-2 predictor candidates)."""
    return cm.constant_columns(_frame, list(columns), group)


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _fit_data(key: str, formula: str, _frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The model table ``key`` with the formula's derived columns, cut to the formula's columns
    when all exist (made once per formula, not by each fit). The derived columns are made on the
    formula's columns and their bases only, not on a copy of the whole table (40 columns of
    600,000 rows at national scale)."""
    variables = parse_formula(formula).variables
    bases = [parts[1] for name in cm.derived_names(formula)
             if (parts := cm.split_derived(name, _frame.columns)) is not None]
    used = [c for c in dict.fromkeys([*variables, *bases]) if c in _frame.columns]
    derived, notes = cm.with_derived(_frame[used], formula)
    if all(v in derived.columns for v in variables):
        derived = derived[variables]
    return derived, notes


@st.cache_resource(show_spinner="Fitting the model...", max_entries=16, ttl=3600)
def fit_model(key: str, formula: str, reml: bool, family: str, references: str, _frame: pd.DataFrame):
    data, notes = _fit_data(key, formula, _frame)
    return fit(formula, data, reml=reml, family=family, reference_levels=json.loads(references) or None), notes


@st.cache_resource(show_spinner="Fitting the null model...", max_entries=16, ttl=3600)
def fit_null(key: str, formula: str, family: str, _frame: pd.DataFrame):
    """The empty model ``outcome ~ 1 + (1 | group)`` on the rows the full model uses."""
    data, _ = _fit_data(key, formula, _frame)
    parsed = parse_formula(formula)
    group = cm.first_group(formula)
    if group is None:
        raise InputError("the null model needs a grouping column: add a term such as (1 | group)")
    rows = data[[v for v in parsed.variables if v in data.columns]].dropna().index
    used = data.loc[rows]
    if family == "binomial":
        return fit(f"{parsed.outcome} ~ 1 + (1 | {group})", used, family="binomial")
    return null_model(used, parsed.outcome, group)


@st.cache_data(show_spinner="Comparing the models...", max_entries=32)
def compare_models(key: str, specs_json: str, refit: bool,
                   _frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], int]:
    """Fit the kept models on the rows complete for all of them, then ``compare`` (LRT)."""
    specs = json.loads(specs_json)
    data = _frame
    for spec in specs:
        data, _ = cm.with_derived(data, spec["formula"])
    variables = list(dict.fromkeys(v for s in specs for v in parse_formula(s["formula"]).variables))
    unknown = [v for v in variables if v not in data.columns]
    if unknown:
        raise InputError(f"unknown column(s) in a kept model: {', '.join(unknown)}")
    common = data[variables].dropna()
    results = [fit(s["formula"], common, reml=s["reml"], family=s["family"],
                   reference_levels=s["references"] or None) for s in specs]
    table = compare(results, refit=refit, names=[s["name"] for s in specs])
    return table, list(table.attrs.get("messages", [])), len(common)


def builder_key(survey: str, name: str) -> str:
    return f"mdl_{name}_{survey}"


def defaults_for(survey: str) -> dict:
    return DEFAULTS.get(survey, GENERIC_DEFAULT)


def init_builder(survey: str, columns) -> None:
    """The builder's first state: the survey's default model, minus what the data lack."""
    default = defaults_for(survey)
    available = lambda name: name in columns or cm.split_derived(name, columns) is not None  # noqa: E731
    chosen = {name: [v for v in default[name] if available(v)] for name in ("level1", "level2", "groups", "slopes")}
    chosen["interactions"] = [i for i in default["interactions"]
                              if all(p in chosen["level1"] + chosen["level2"] for p in i.split(":"))]
    chosen["outcome"] = default["outcome"] if default["outcome"] in columns else None
    for name, value in chosen.items():
        st.session_state.setdefault(builder_key(survey, name), value)
    st.session_state.setdefault(builder_key(survey, "uncorr"), False)
    st.session_state.setdefault(builder_key(survey, "derived"), cm.derived_names(
        " ".join(chosen["level1"] + chosen["level2"])))


def builder_formula(survey: str) -> str:
    get = lambda name: st.session_state.get(builder_key(survey, name))  # noqa: E731
    return build_formula(get("outcome"), get("level1") or [], get("level2") or [], get("groups") or [],
                         [s for s in (get("slopes") or []) if s in (get("level1") or [])],
                         bool(get("uncorr")),
                         [i for i in (get("interactions") or [])
                          if all(p in (get("level1") or []) + (get("level2") or []) for p in i.split(":"))])


def rebuild(survey: str) -> None:
    """Builder changed: it writes the formula box (the box keeps any later hand edit)."""
    formula = builder_formula(survey)
    if formula:
        st.session_state["formula"] = formula


def on_survey_change() -> None:
    survey = st.session_state.get("survey")
    if survey is None:
        return
    st.session_state["mdl_linked_survey"] = survey
    st.query_params["survey"] = survey
    for name in ("outcome", "level1", "level2", "groups", "slopes", "interactions", "uncorr", "derived"):
        st.session_state.pop(builder_key(survey, name), None)
    prepared = state.dataset(survey)
    init_builder(survey, table_for(prepared.data, survey).columns if prepared is not None else [])
    st.session_state["family"] = defaults_for(survey)["family"]
    rebuild(survey)


def add_centred(survey: str) -> None:
    base = st.session_state.get("mdl_centre_var")
    kind = st.session_state.get("mdl_centre_kind")
    if not base or not kind:
        return
    name = f"{kind}{base}"
    derived = st.session_state.setdefault(builder_key(survey, "derived"), [])
    if name not in derived:
        derived.append(name)
    target = builder_key(survey, "level2" if kind in ("gm_", "c_gm_") else "level1")
    if name not in st.session_state.get(target, []):
        st.session_state[target] = [*st.session_state.get(target, []), name]
    rebuild(survey)


def keep_model(spec: dict) -> None:
    kept = st.session_state.setdefault("mdl_kept", [])
    if not any(k["survey"] == spec["survey"] and k["formula"] == spec["formula"] and k["family"] == spec["family"]
               and k["reml"] == spec["reml"] and k["references"] == spec["references"] for k in kept):
        spec = dict(spec, name=f"m{len(kept) + 1}")
        kept.append(spec)


# ------------------------------------------------------------------ survey and data
loaded = [iid for iid in state.surveys() if state.dataset(iid) is not None]
stop_unless_loaded(loaded)

# The survey is kept in the URL by its id (?survey=citizen), the form other screens link with;
# a widget bound to the URL would write its on-screen label there instead.
link = st.query_params.get("survey")
link = next((iid for iid in loaded if link in (iid, state.survey_label(iid))), None)
if link is not None and st.session_state.get("mdl_linked_survey") != link:
    st.session_state["survey"] = link
    st.session_state["mdl_linked_survey"] = link  # once per link, so the user can switch afterwards
if st.session_state.get("survey") not in loaded:
    st.session_state["survey"] = loaded[0]
survey = st.segmented_control("Survey", loaded, format_func=state.survey_label, key="survey", required=True,
                              on_change=on_survey_change)
if survey not in loaded:
    survey = loaded[0]
instrument = state.instrument(survey)
frame = table_for(state.dataset(survey).data, survey)
group_columns = [c for c in instrument.group_columns.values() if c in frame.columns]
group_noun = {col: level for level, col in instrument.group_columns.items()}
init_builder(survey, frame.columns)

id_like = {instrument.id_column, *group_columns}
numeric_columns = [c for c in frame.columns if c not in id_like and pd.api.types.is_numeric_dtype(frame[c])]
categorical_columns = [c for c in frame.columns if c not in id_like and c not in numeric_columns]

# ------------------------------------------------------------------ builder
st.subheader("1 · Build the model")
derived = st.session_state[builder_key(survey, "derived")]
with st.container(border=True):
    left, right = st.columns(2)
    with left:
        outcome_options = numeric_columns
        if st.session_state[builder_key(survey, "outcome")] not in outcome_options:
            st.session_state[builder_key(survey, "outcome")] = None
        st.selectbox("Outcome", outcome_options, key=builder_key(survey, "outcome"), on_change=rebuild, args=(survey,),
                     index=None, help="Pick the outcome. "
                     "A scale score, or a 0/1 variable such as any_digital for a logistic model.")
        level1_options = list(dict.fromkeys(
            [n for n in derived if not n.startswith(("gm_", "c_gm_"))] + numeric_columns + categorical_columns
            + st.session_state[builder_key(survey, "level1")]))
        st.multiselect("Level-1 predictors (respondents)", level1_options, key=builder_key(survey, "level1"),
                       on_change=rebuild, args=(survey,))
        level2_candidates = _level2_columns(table_key(survey), tuple(numeric_columns + categorical_columns),
                                            group_columns[0], frame) if group_columns else []
        level2_options = list(dict.fromkeys([n for n in derived if n.startswith(("gm_", "c_gm_"))] + level2_candidates
                                            + st.session_state[builder_key(survey, "level2")]))
        st.multiselect("Level-2 predictors (groups)", level2_options, key=builder_key(survey, "level2"),
                       on_change=rebuild, args=(survey,),
                       help="Variables constant within a group, e.g. group means added below.")
    with right:
        group_options = list(dict.fromkeys(group_columns + st.session_state[builder_key(survey, "groups")]))
        st.multiselect("Grouping column(s)", group_options, key=builder_key(survey, "groups"), on_change=rebuild,
                       args=(survey,), format_func=lambda c: f"{c} ({group_noun[c]})" if c in group_noun else c,
                       help="Each gets a random intercept; random slopes go on the first one.")
        level1_now = st.session_state[builder_key(survey, "level1")]
        st.multiselect("Random slopes (vary by the first grouping column)",
                       list(dict.fromkeys(level1_now + st.session_state[builder_key(survey, "slopes")])),
                       key=builder_key(survey, "slopes"), on_change=rebuild, args=(survey,))
        st.checkbox("Uncorrelated random slopes (||)", key=builder_key(survey, "uncorr"), on_change=rebuild,
                    args=(survey,))
        chosen = level1_now + st.session_state[builder_key(survey, "level2")]
        level2_now = set(st.session_state[builder_key(survey, "level2")])
        pairs = [f"{b}:{a}" if a not in level2_now and b in level2_now else f"{a}:{b}"
                 for i, a in enumerate(chosen) for b in chosen[i + 1:]]
        st.multiselect("Interactions", list(dict.fromkeys(pairs + st.session_state[builder_key(survey, "interactions")])),
                       key=builder_key(survey, "interactions"), on_change=rebuild, args=(survey,),
                       format_func=lambda p: p + ("  (cross-level)" if len(set(p.split(":")) & level2_now) == 1
                                                  else ""))
    with st.expander("Centring helpers: centred predictors and group means", expanded=False):
        st.markdown(
            "Adds a predictor named after its rule, so the formula shows what was done: `c_x` = x minus its grand "
            "mean; `cwc_x` = x minus its group mean (the pure within-group effect); `gm_x` = the group mean of x "
            "(a level-2 predictor for the between-group effect); `c_gm_x` = the group mean minus the grand mean. "
            "Group means use the formula's first grouping column. You can also type these names in the formula.")
        cols = st.columns([2, 2, 1])
        cols[0].selectbox("Variable", numeric_columns, key="mdl_centre_var")
        cols[1].selectbox("Kind", list(CENTRING), format_func=CENTRING.get, key="mdl_centre_kind")
        cols[2].button("Add", key="mdl_centre_add", on_click=add_centred, args=(survey,), width="stretch")
        cite("Enders, C. K., & Tofighi, D. (2007). Centering predictor variables in cross-sectional multilevel "
             "models. Psychological Methods, 12(2), 121-138.")

# First visit without a ?formula= link: the builder's formula. Later the builder's callbacks
# write the box; a hand edit or a link wins until the next builder change.
if "formula" not in st.session_state and "formula" not in st.query_params:
    st.session_state["formula"] = builder_formula(survey)
if "family" not in st.session_state and "family" not in st.query_params:
    st.session_state["family"] = defaults_for(survey)["family"]
formula = st.text_input("lme4 formula (edit freely; the builder above rewrites it when you change a choice)",
                        key="formula", bind="query-params") or ""
opts = st.columns([2, 2, 3])
with opts[0]:
    family = st.segmented_control("Family", list(FAMILIES), key="family", bind="query-params", required=True,
                                  help="; ".join(f"{k}: {v}" for k, v in FAMILIES.items()))
with opts[1]:
    ml = st.checkbox("ML instead of REML", key="ml", bind="query-params",
                     disabled=family == "binomial",
                     help="REML is the default for variance components; ML is needed to compare models that "
                          "differ in their fixed effects (the comparison below refits with ML itself).")
reml = not ml
family = family or "gaussian"

if not formula.strip():
    st.info("Pick an outcome and a grouping column above, or type a formula such as "
            "`y ~ x + (1 | group)`.", icon=":material/edit:")
    st.stop()

references: dict[str, str] = {}
parsed = None
with guarded("reading the formula"):
    parsed = parse_formula(formula)
if parsed is None:
    st.info("Fix the formula above (or use the builder) to see the model.", icon=":material/edit:")
    st.stop()
derived_ok = False
with guarded("reading the formula"):
    categorical_levels = _categorical_levels(table_key(survey), formula, frame)
    derived_ok = True
    if categorical_levels:
        with opts[2]:
            for var, levels in categorical_levels.items():
                choice = st.selectbox(f"Reference level of {var}", levels, key=f"mdl_ref_{survey}_{var}",
                                      help="Treatment coding: each other level is compared with this one.")
                if choice != levels[0]:
                    references[var] = choice
references_json = json.dumps(references, sort_keys=True)
if not derived_ok:
    st.stop()

# ------------------------------------------------------------------ fit
result, notes = None, []
with guarded("fitting the model"):
    result, notes = fit_model(table_key(survey), formula, reml, family, references_json, frame)
if result is None:
    st.info("Fix the formula above (or use the builder) to see the model.", icon=":material/edit:")
    st.stop()

for note in notes:
    st.caption(f"Created {note}.")
group = cm.first_group(result.formula)
noun = group_noun.get(group, group or "group")
outcome = parse_formula(result.formula).outcome
binomial = result.family == "binomial"

# ------------------------------------------------------------------ null model
st.subheader("2 · How much do groups differ? (null model)")
null = None
with guarded("fitting the null model"):
    null = fit_null(table_key(survey), formula, family, frame)
if null is not None:
    summary = model_readings.null_model_summary(null, group)
    cols = st.columns(4)
    cols[0].metric("ICC (null model)", num(summary["icc"], 3))
    cols[1].metric("Design effect", num(summary["design_effect"], 2))
    cols[2].metric("tau00 (between-group variance)", num(summary["tau00"], 4))
    cols[3].metric("sigma2 (within-group variance)", "pi^2/3 = 3.29" if binomial else num(summary["sigma2"], 4))
    plain(model_readings.null_model_reading(null, group, outcome, noun))
    cite("Snijders, T. A. B., & Bosker, R. J. (2012). Multilevel analysis (2nd ed.), sec. 3.3 (ICC, design "
         "effect 1 + (n - 1) ICC); R: performance::icc(lmer(y ~ 1 + (1 | g))).")

# ------------------------------------------------------------------ model results
st.subheader("3 · The model")
problems = [m for m in result.messages if "missing value" not in m]
for m in result.messages:
    if "missing value" in m:
        st.caption(m[0].upper() + m[1:] + f"; {result.n_obs} rows used.")
for advice in (model_readings.singular_advice(result, outcome), model_readings.convergence_advice(result)):
    if advice:
        st.warning(advice, icon=":material/warning:")
# the singular-fit and convergence messages are said above in plainer words
for m in problems:
    if m == SINGULAR_MESSAGE or "may not have converged" in m:
        continue
    st.warning(m[0].upper() + m[1:], icon=":material/info:")

fixed = result.fixed_table()
if binomial:
    fixed_view = fixed[["term", "estimate", "se", "z", "p", "ci_low", "ci_high", "odds_ratio", "or_ci_low",
                        "or_ci_high"]]
else:
    fixed_view = fixed[["term", "estimate", "se", "df", "t", "p", "ci_low", "ci_high"]]
st.markdown("**Fixed effects** " + ("(log-odds; odds ratios with 95% CIs on the right)" if binomial else
                                    "(Satterthwaite degrees of freedom, as lmerTest)"))
tables.table(fixed_view, "mdl_fixed_table", decimals=3,
             note=("z and p from the Wald test; OR: odds ratio, exp(estimate)." if binomial else
                   "df: Satterthwaite's approximation (lmerTest); CI: Wald 95% interval with those df."))
download_buttons(fixed_view, f"fixed_effects_{survey}", key="mdl_fixed")

random = pd.DataFrame(result.random)
if not binomial:
    random = pd.concat([random, pd.DataFrame([{"group": "Residual", "term": "", "variance": result.residual_variance,
                                               "sd": float(np.sqrt(result.residual_variance))}])],
                       ignore_index=True)
st.markdown("**Random effects** (variances and standard deviations)")
tables.table(random, "mdl_random_table", decimals=3)
download_buttons(random, f"random_effects_{survey}", key="mdl_random")
if result.random_corr:
    corr = pd.DataFrame(result.random_corr)
    st.markdown("**Correlations of the random effects**")
    tables.table(corr, "mdl_corr_table", decimals=3)
    download_buttons(corr, f"random_correlations_{survey}", key="mdl_corr")

fit_stats = pd.DataFrame([{
    "method": result.method, "n_obs": result.n_obs, **{f"groups_{k}": v for k, v in result.groups.items()},
    "logLik": result.loglik, "deviance": result.deviance, "AIC": result.aic, "BIC": result.bic,
    "npar": result.npar, "R2_marginal": result.r2_marginal, "R2_conditional": result.r2_conditional,
    "ICC_adjusted": result.icc, "residual_variance": result.residual_variance,
    "converged": result.converged, "singular": result.singular}])
cols = st.columns(6)
cols[0].metric("logLik", num(result.loglik, 2))
cols[1].metric("AIC", num(result.aic, 1))
cols[2].metric("BIC", num(result.bic, 1))
cols[3].metric("R² marginal", num(result.r2_marginal, 3))
cols[4].metric("R² conditional", num(result.r2_conditional, 3))
cols[5].metric("ICC (adjusted)", num(result.icc, 3) if result.icc is not None else "n/a")
tables.table(fit_stats, "mdl_fit_table", decimals=3)
download_buttons(fit_stats, f"model_fit_{survey}", key="mdl_fit")

# plain reading of the fixed effects
readings = []
for row in result.fixed:
    if row["term"] == "(Intercept)" or not np.isfinite(row["p"]) or row["p"] >= 0.05:
        continue
    if binomial:
        readings.append(f"`{row['term']}`: odds ratio {num(row['odds_ratio'])} [{num(row['or_ci'][0])}, "
                        f"{num(row['or_ci'][1])}], {p_text(row['p'])}")
    else:
        readings.append(f"`{row['term']}`: b = {num(row['estimate'], 3)} [{num(row['ci'][0], 3)}, "
                        f"{num(row['ci'][1], 3)}], {p_text(row['p'])}")
if binomial:
    effect = ("An odds ratio above 1 means higher odds of " f"{outcome} = 1 per unit of the predictor "
              "(or against the reference level), below 1 lower odds")
else:
    effect = f"A coefficient b is the expected change in {outcome} per unit of the predictor, the others held equal"
text = (f"{effect}. Effects whose 95% interval excludes zero: " + ("; ".join(readings) if readings else "none")
        + f". The fixed effects explain {num((result.r2_marginal or 0) * 100, 0)}% of the variance (marginal R²)"
        + (f", fixed and random effects together {num(result.r2_conditional * 100, 0)}% (conditional R², "
           "Nakagawa & Schielzeth 2013)." if result.r2_conditional is not None else
           "; with a variance of the random part at zero (singular fit) there is no conditional R² or ICC, "
           "as R's performance package reports NA (Nakagawa & Schielzeth 2013)."))
inter = cm.interactions(result)
cross = [i for i in inter if i.cross_level]
if cross:
    i = cross[0]
    row = next(r for r in result.fixed if r["term"] == i.term)
    text += (f" Cross-level interaction `{i.term}`: the slope of {i.focal} changes by {num(row['estimate'], 3)} "
             f"per unit of {i.moderator} ({p_text(row['p'])}); see the simple slopes below.")
plain(text)
cite("Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models using lme4. "
     "Journal of Statistical Software, 67(1). Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). "
     "lmerTest package: tests in linear mixed effects models. JSS, 82(13). Nakagawa, S., & Schielzeth, H. (2013). "
     "A general and simple method for obtaining R² from generalized linear mixed-effects models. Methods in "
     "Ecology and Evolution, 4(2), 133-142.")

model_columns = [v for v in parse_formula(result.formula).variables]
model_table = result.data[[c for c in model_columns if c in result.data.columns]]
data_name = f"model_data_{survey}"
command: dict = {"formula": result.formula, "ml": not reml and not binomial,
                 "family": "binomial" if binomial else None,
                 "reference": [f"{var}={level}" for var, level in references.items()]}
if "readiness_muni" in result.formula:
    servants_source = state.sources()["public_servant"]
    command |= {"servants": f"sample_data/{servants_source.filename}" if servants_source.is_sample
                else servants_source.filename, "min_n": state.min_n()}
rows_allowed = not access.is_viewer()  # a viewer link never reaches respondent-level values
st.caption("Same numbers without the dashboard (the command runs the Data page's pipeline with its default "
           "choices" + ("; the model's own columns can be downloaded below):" if rows_allowed else "):"))
st.code(command_text("mixed", survey, **command), language="bash", wrap_lines=True)
if rows_allowed:
    download_buttons(model_table, data_name, key="mdl_data")
reproduce.panel("mixed", survey, key="mdl_reproduce", formula=result.formula, reml=reml, family=result.family,
                references=references)

# ------------------------------------------------------------------ plots
st.subheader("4 · Plots")
tab_names = ["Coefficients", "Group effects", "Predicted lines per group"]
if cross:
    tab_names.append("Simple slopes")
tab_names += ["Residuals vs fitted", "QQ plots"] if rows_allowed else ["QQ plots"]
# Lazy tabs (issue 15): only the chosen plot is drawn (at 600,000 respondents each costs a
# prediction or a pass over the residuals); the tab is part of the address.
tabs = dict(zip(tab_names, st.tabs(tab_names, key="mdl_plot", bind="query-params")))
with tabs["Coefficients"]:
    if tabs["Coefficients"].open:  # lazy: only the chosen tab is drawn
        with guarded("drawing the coefficient plot"):
            chart(cm.forest(result), key="mdl_forest")
with tabs["Group effects"]:
    if tabs["Group effects"].open:  # lazy: only the chosen tab is drawn
        with guarded("drawing the group effects"):
            # groups of fewer than the study's threshold are not listed (analysis.privacy)
            effects = privacy.published_group_effects(result.ranef(), state.min_n())
            if effects.empty:
                st.info(f"No group has {state.min_n()} or more observations, so no group effect is shown.")
            else:
                combos = list(dict.fromkeys(zip(effects["group"], effects["term"])))
                chosen_combo = st.selectbox("Random effect", combos, format_func=lambda c: f"{c[0]}: {c[1]}",
                                            key="mdl_cat_term") if len(combos) > 1 else combos[0]
                chart(cm.caterpillar(result, term=chosen_combo[1], group=chosen_combo[0], effects=effects),
                                key="mdl_caterpillar")
                st.caption("Each dot is a group's deviation from the average (conditional mode, BLUP) with a 95% interval "
                           "from its conditional SD, as lme4's ranef(condVar = TRUE). Groups with fewer than "
                           f"{state.min_n()} observations are not shown.")
                download_buttons(effects, f"group_effects_{survey}", key="mdl_ranef")
with tabs["Predicted lines per group"]:
    if tabs["Predicted lines per group"].open:  # lazy: only the chosen tab is drawn
        with guarded("drawing the predicted lines"):
            xs = cm.numeric_predictors(result)
            xs = [x for x in xs if x not in set(sum((list(r.group) for r in parse_formula(result.formula).random), []))]
            if xs:
                x = st.selectbox("Predictor on the x axis", xs, key="mdl_lines_x")
                chart(cm.predicted_lines(result, x, state.min_n()), key="mdl_lines")
                st.caption("Thin lines: each group's predictions (fixed effects plus its random effects); thick line: the "
                           "average. Other predictors at their mean or reference level; level-2 predictors at the "
                           "group's own value.")
            else:
                st.info("The model has no numeric predictor to draw lines for.")
if cross:
    with tabs["Simple slopes"]:
        if tabs["Simple slopes"].open:  # lazy: only the chosen tab is drawn
            with guarded("drawing the simple slopes"):
                which = st.selectbox("Interaction", cross, format_func=lambda i: i.term, key="mdl_slopes_term") \
                    if len(cross) > 1 else cross[0]
                chart(cm.simple_slopes(result, which), key="mdl_simple_slopes")
                slopes = cm.simple_slopes_table(result, which)
                tables.table(slopes, "mdl_slopes_table", decimals=3)
                download_buttons(slopes, f"simple_slopes_{survey}", key="mdl_slopes")
                cite("Aiken, L. S., & West, S. G. (1991). Multiple regression: testing and interpreting interactions; "
                     "Preacher, Curran & Bauer (2006). Slopes at the moderator's mean and ± 1 SD.")
if rows_allowed:
    with tabs["Residuals vs fitted"]:
        if tabs["Residuals vs fitted"].open:  # lazy: only the chosen tab is drawn
            with guarded("drawing the residuals"):
                chart(cm.residuals_vs_fitted(result), key="mdl_resid")
                st.caption("Look for a funnel (unequal variance) or a curve (a missing non-linear term)."
                           + (" For a 0/1 outcome the points fall on two bands; that is expected." if binomial else ""))
with tabs["QQ plots"]:
    if tabs["QQ plots"].open:  # lazy: only the chosen tab is drawn
        with guarded("drawing the QQ plots"):
            left, right = st.columns(2)
            with left:
                if not rows_allowed:
                    st.info("Residuals are respondent-level values; they are shown to the study's owner only.")
                elif not binomial:
                    chart(cm.qq(result.residuals, "Residuals"), key="mdl_qq_resid")
                else:
                    st.info("Residuals of a logistic model are not expected to be normal; see the group effects instead.")
            with right:
                effects = privacy.published_group_effects(result.ranef(), state.min_n())
                if not effects.empty:
                    first = effects[(effects["group"] == effects["group"].iloc[0]) & (effects["term"] == effects["term"].iloc[0])]
                    chart(cm.qq(first["estimate"], f"Group effects: {first['group'].iloc[0]} {first['term'].iloc[0]}"),
                                    key="mdl_qq_ranef")

# ------------------------------------------------------------------ comparison
st.subheader("5 · Compare models")
spec = {"survey": survey, "formula": result.formula, "family": result.family, "reml": reml,
        "references": references}
cols = st.columns(3)
cols[0].button("Keep this model", key="mdl_keep", on_click=keep_model, args=(spec,),
               icon=":material/add:")
null_spec = dict(spec, formula=f"{outcome} ~ 1 + (1 | {group})", references={}) if group else None
if null_spec:
    cols[1].button("Keep the null model too", key="mdl_keep_null", on_click=keep_model, args=(null_spec,))
cols[2].button("Clear the list", key="mdl_clear", on_click=lambda: st.session_state.pop("mdl_kept", None))
kept = [k for k in st.session_state.get("mdl_kept", []) if k["survey"] == survey and k["family"] == family]
if kept:
    kept_table = pd.DataFrame([{"model": k["name"], "formula": k["formula"], "family": k["family"],
                                "method": "REML" if k["reml"] and k["family"] == "gaussian" else "ML",
                                "reference_levels": json.dumps(k["references"])} for k in kept])
    tables.table(kept_table, "mdl_kept_table")
    download_buttons(kept_table, f"kept_models_{survey}", key="mdl_kept")
if len(kept) >= 2:
    refit = st.checkbox("Refit REML models with ML before the likelihood-ratio test (as lme4's anova)", value=True,
                        key="mdl_refit", help="Needed when the models differ in their fixed effects.")
    with guarded("comparing the models"):
        table, compare_messages, n_rows = compare_models(table_key(survey), json.dumps(kept, sort_keys=True), refit, frame)
        tables.table(table, "mdl_compare_table", decimals=3)
        download_buttons(table, f"model_comparison_{survey}", key="mdl_compare")
        for m in compare_messages:
            st.caption(m[0].upper() + m[1:] + ".")
        best = table.loc[table["AIC"].idxmin(), "model"]
        tested = table.dropna(subset=["p"])
        lrt = "; ".join(f"{r.model} against the model above it: chi2({int(r.df)}) = {r.chisq:.2f}, {p_text(r.p)}"
                        for r in tested.itertuples()) or "no nested pair to test"
        plain(f"All models were fitted on the same {n_rows} rows. Lower AIC/BIC is better: "
              f"{best} has the lowest AIC. Likelihood-ratio tests: {lrt}. A small p means the extra parameters "
              "improve the fit; for a variance tested at zero the p is conservative (p_boundary halves it, "
              "Self & Liang 1987).")
else:
    st.caption("Keep two or more models of this survey and family to compare them with likelihood-ratio tests, "
               "AIC and BIC (R: anova(m0, m1)).")

# ------------------------------------------------------------------ save
with st.expander("Save this model with a saved study"):
    with guarded("listing saved studies"):
        studies = Store().list_studies()
        if not studies:
            st.caption("No saved study yet: save the study on the Data page first.")
            page_link("pages/data.py", "Load and check data")
        else:
            study_slug = st.selectbox("Study", [s.slug for s in studies], key="mdl_save_study",
                                      format_func=lambda slug: next(f"{s.name} (v{s.version})" for s in studies
                                                                    if s.slug == slug))
            name = st.text_input("Model name", value="", key="mdl_save_name", help="For example: engagement model")
            if st.button("Save model", key="mdl_save"):
                with guarded("saving the model"):
                    model_id = Store().save_model(study_slug, result.formula,
                                                  {"survey": survey, "family": result.family, "reml": reml,
                                                   "references": references, "name": name.strip() or None},
                                                  result.to_dict())
                    st.success(f"Saved (model {model_id}).")
