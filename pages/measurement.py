"""Measurement: is a scale reliable, does it measure one thing, do group members agree?

Reads the prepared study from ``ui.state``, calls ``analysis.reliability``, ``analysis.factor``
and ``analysis.aggregation`` (cached here on the data's content) and renders the results with a
plain-language reading, the source of each convention and the equivalent headless command.
"""
from __future__ import annotations

import json
import zlib

import streamlit as st

# The title first, so the page shows at once while the statistics libraries below load.
st.title("Scales: reliability, factor structure and agreement")
st.markdown(
    "Before a scale score is interpreted, check that its items hang together (**reliability**), that they "
    "measure one thing (**factor structure**) and, before a score is read as a property of an organisation "
    "or municipality, that its members agree (**aggregation**). The numbers reproduce R's psych, lavaan and "
    "multilevel packages; each block shows the command that prints them without the dashboard.")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import factor as factor_lib  # noqa: E402
from analysis.aggregation import aggregate  # noqa: E402
from analysis.commands.factor import scale_model  # noqa: E402
from analysis.errors import InputError  # noqa: E402
from analysis import privacy  # noqa: E402
from analysis.formatting import num, p_text  # noqa: E402
from analysis.reliability import reliability  # noqa: E402
from analysis.scoring import apply_reverse, numeric_items  # noqa: E402
from ui import access, charts, state, tables  # noqa: E402
from ui import reproduce  # noqa: E402
from ui.widgets import (chart, cite, command_text, download_buttons, guarded, plain, show_command,  # noqa: E402
                        stop_unless_loaded, warnings_of)

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

CUSTOM = "__custom__"
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 1
PARALLEL_ITER = 20
PARALLEL_SEED = 42


# ------------------------------------------------------------------ cached analysis calls

@st.cache_data(show_spinner="Computing reliability...", max_entries=64)
def _reliability(x: pd.DataFrame, reverse: tuple, scale_min, scale_max, missing: str, bootstrap: int):
    return reliability(x, list(x.columns), reverse=list(reverse), scale_min=scale_min, scale_max=scale_max,
                       missing=missing, bootstrap=bootstrap, seed=BOOTSTRAP_SEED if bootstrap else None)


@st.cache_data(show_spinner=False, max_entries=64)
def _keyed(x: pd.DataFrame, reverse: tuple, scale_min, scale_max) -> pd.DataFrame:
    """The items as numbers with the reverse-keyed ones recoded (what factor models and rwg see)."""
    return apply_reverse(numeric_items(x, list(x.columns), min_items=2), list(reverse), scale_min, scale_max)


@st.cache_data(show_spinner="Checking sampling adequacy...", max_entries=64)
def _adequacy(x: pd.DataFrame, missing: str):
    return factor_lib.sampling_adequacy(x, missing=missing)


@st.cache_data(show_spinner="Running parallel analysis...", max_entries=64)
def _parallel(x: pd.DataFrame, missing: str):
    return factor_lib.parallel_analysis(x, n_iter=PARALLEL_ITER, seed=PARALLEL_SEED, missing=missing)


@st.cache_data(show_spinner="Fitting the exploratory factor model...", max_entries=64)
def _efa(x: pd.DataFrame, n_factors: int, fm: str, rotate: str, missing: str):
    return factor_lib.efa(x, n_factors=n_factors, fm=fm, rotate=rotate, missing=missing)


@st.cache_data(show_spinner="Fitting the one-factor CFA...", max_entries=64)
def _cfa(x: pd.DataFrame):
    return factor_lib.cfa(x, {"F": list(x.columns)})


@st.cache_data(show_spinner="Fitting the confirmatory model...", max_entries=32)
def _cfa_model(x: pd.DataFrame, model_json: str):
    return factor_lib.cfa(x, json.loads(model_json))


@st.cache_data(show_spinner="Fitting the multi-group models...", max_entries=32)
def _invariance(x: pd.DataFrame, group: str):
    items = [c for c in x.columns if c != group]
    return factor_lib.invariance(x, {"F": items}, group)


@st.cache_data(show_spinner="Applying the privacy rule...", max_entries=32)
def _agreement_rows(data_key: str, items: tuple, reverse: tuple, scale_min, scale_max, drop_careless: bool,
                    group: str, min_n: int, _data: pd.DataFrame, _instrument, _keyed: pd.DataFrame):
    """(rows answering every item, rows inside whole privacy blocks of one group): the survey's
    disclosure partition (analysis.privacy) on the full survey, so every screen uses the same blocks.
    Keyed on the survey's data key and the choices that make ``_keyed``, not on the frames."""
    answered = pd.Series(_data.index.isin(_keyed.index), index=_data.index)
    answered &= _keyed.notna().all(axis=1).reindex(_data.index, fill_value=False)  # rows rwg(j) uses
    return answered, privacy.grouped_rows(_data, group, min_n, instrument=_instrument, answered=answered)


@st.cache_data(show_spinner="Computing agreement and ICCs...", max_entries=64)
def _aggregate(x: pd.DataFrame, group: str, options: int):
    return aggregate(x, group, [c for c in x.columns if c != group], options)


# ------------------------------------------------------------------ small helpers (text only)

def command(name: str, **options) -> None:
    """Caption with the headless command that prints the same numbers as JSON (the command runs
    the same pipeline as the Data page for the survey: declared missing codes and out-of-range
    answers set to missing, columns renamed to item ids)."""
    show_command(command_text(name, survey, **options))


# ------------------------------------------------------------------ choices

loaded = [iid for iid in state.surveys() if state.dataset(iid) is not None]
stop_unless_loaded(loaded)

survey = st.segmented_control("Survey", loaded, format_func=state.survey_label, default=loaded[0],
                              key="m_survey", bind="query-params", required=True)
prepared = state.dataset(survey)
assert prepared is not None  # stop_unless_loaded above: every listed survey is loaded
instrument = state.instrument(survey)
source = state.sources()[survey]
data = prepared.data
id_column = instrument.id_column
group_columns = {level: col for level, col in instrument.group_columns.items() if col in data.columns}

constructs = [c for c in instrument.constructs if sum(i in data.columns for i in c.item_ids) >= 2]
scale_keys = [c.key for c in constructs] + [CUSTOM]
labels = {c.key: c.label for c in constructs} | {CUSTOM: "Custom columns..."}
default_scale = next((c.key for c in constructs if c.readiness_dimension), scale_keys[0])

left, right = st.columns([2, 1])
with left:
    scale_key = st.selectbox("Scale", scale_keys, index=scale_keys.index(default_scale),
                             format_func=lambda k: labels.get(k, k), key=f"m_scale_{survey}", bind="query-params",
                             help="A construct of the survey instrument, or any columns you pick.")
construct = None if scale_key == CUSTOM else instrument.construct(scale_key)

if construct is not None:
    items = [i for i in construct.item_ids if i in data.columns]
    default_reverse = [i for i in construct.reverse_items if i in items]
    scale_min, scale_max = construct.scale.min, construct.scale.max
    scale_labels = dict(construct.scale.labels)
    with left:
        st.caption(f"{construct.description} Source: {construct.source}." if construct.description
                   else f"Source: {construct.source}.")
else:
    candidates = [c for c in data.columns if c != id_column and c not in group_columns.values()
                  and c not in {c.key for c in instrument.constructs}]
    numeric_first = sorted(candidates, key=lambda c: not pd.api.types.is_numeric_dtype(data[c]))
    with left:
        items = st.multiselect("Columns of the scale", numeric_first, key=f"m_cols_{survey}",
                               bind="query-params", help="Pick two or more item columns.")
    known = {it.id: it for it in instrument.items}
    default_reverse = [i for i in items if i in known and known[i].reverse]
    scales = {known[i].scale for i in items if i in known}
    if items and len(scales) == 1 and all(i in known for i in items):
        only = next(iter(scales))
        scale_min, scale_max, scale_labels = only.min, only.max, dict(only.labels)
    else:  # columns outside the instrument: the observed range stands in for the scale
        scale_min = scale_max = None
        scale_labels = {}

with right:
    missing = st.segmented_control(
        "Missing answers", ["pairwise", "listwise"], default="pairwise", key="m_missing", bind="query-params",
        required=True, help="pairwise: every covariance uses everyone who answered both items (psych's default); "
                            "listwise: only respondents who answered every item")
    use_bootstrap = st.checkbox(f"Bootstrap interval ({BOOTSTRAP_RESAMPLES:,} resamples)", key="m_boot",
                                bind="query-params", help="Adds a percentile bootstrap interval for alpha "
                                                          "to the Feldt interval.")
reverse = st.multiselect(
    "Reverse-keyed items (recoded as min + max - answer)", items,
    default=[i for i in default_reverse if i in items],
    # a custom scale's items are part of the key, so a new choice of columns is pre-filled afresh
    key=f"m_rev_{survey}_{scale_key}" + (f"_{zlib.crc32(' '.join(items).encode()):08x}" if construct is None else ""),
    help="Pre-filled from the instrument. Untick one to see what happens when a negatively worded item "
         "is not recoded.")

straight = next((p for p in prepared.report.problems if p.code == "STRAIGHT_LINING"), None)
flagged_rows = prepared.raw.index[straight.rows] if straight is not None else pd.Index([])
flagged_rows = flagged_rows.intersection(data.index)
drop_careless = False
if len(flagged_rows):
    drop_careless = st.checkbox(
        f"Leave out the {len(flagged_rows)} respondents flagged as straight-liners on the Data page", key="m_drop_sl",
        bind="query-params", help="They gave the same answer to every item of a block mixing forward- and "
                                  "reverse-keyed items (Curran 2016), which weakens the correlations.")
    if not drop_careless:
        st.caption(f"{len(flagged_rows)} likely careless respondents (same answer to forward- and reverse-keyed "
                   "items) are included; tick the box above to see how the results change without them.")
work = data.drop(index=flagged_rows) if drop_careless else data

if len(items) < 2:
    st.info("Pick at least two item columns to analyse a scale.", icon=":material/playlist_add:")
    if items:
        with guarded("checking the scale"):
            reliability(work, items)  # the library's own message says what is wrong
    st.stop()

raw_items = work[items]
scale_options = {"items": list(items), "reverse": list(reverse), "scale_min": scale_min, "scale_max": scale_max}
changed = []
for problem in prepared.report.problems:
    action = source.actions.get(f"{problem.code}:{problem.column}",
                                source.actions.get(problem.code, problem.default_action))
    if action != problem.default_action and (problem.column is None or problem.item in items):
        changed.append(f"{problem.code.replace('_', ' ').lower()}"
                       + (f" in {problem.item or problem.column}" if problem.column else "")
                       + f" ({action.replace('_', ' ')})")
if drop_careless:
    changed.append("straight-liners left out (this page)")
if changed:
    st.caption("The commands below apply the Data page's default choices, while this page uses your own: "
               + "; ".join(changed) + ". Apply the same choices to the file before running them to get the same "
               "numbers.")

# A scale that cannot be analysed at all (text codes, a constant item...) gets one clear message, not one per block.
keyed = rel = None
with guarded("preparing the items"):
    keyed = _keyed(raw_items, tuple(reverse), scale_min, scale_max)
    rel = _reliability(raw_items, tuple(reverse), scale_min, scale_max, missing,
                       BOOTSTRAP_RESAMPLES if use_bootstrap else 0)
if keyed is None or rel is None:
    st.stop()

# Lazy tabs (issue 15): only the chosen tab runs, so at a national survey's 600,000 respondents
# opening the page fits no factor model and finding agreement waits for its tab; the tab is part
# of the address, so a shared link reopens it.
tab_rel, tab_factor, tab_agg = st.tabs(["Reliability", "Factor structure", "Aggregation"], key="m_tab",
                                       bind="query-params")

# ------------------------------------------------------------------ reliability
with tab_rel:
    if tab_rel.open:  # lazy: only the chosen tab is computed
        with guarded("showing the reliability"):
            cols = st.columns(6)
            cols[0].metric("Cronbach's alpha", num(rel.alpha, 3),
                           help=f"{rel.ci_level:.0%} Feldt interval [{rel.alpha_ci[0]:.3f}, {rel.alpha_ci[1]:.3f}]")
            cols[1].metric("Standardized alpha", num(rel.alpha_std, 3))
            cols[2].metric("Guttman lambda-2", num(rel.lambda2, 3))
            cols[3].metric("Guttman lambda-6", num(rel.lambda6, 3))
            cols[4].metric("Average inter-item r", num(rel.average_r, 3))
            cols[5].metric("Omega total", num(rel.omega_total, 3))
            interval = f"alpha {rel.ci_level:.0%} Feldt interval [{rel.alpha_ci[0]:.3f}, {rel.alpha_ci[1]:.3f}]"
            if rel.alpha_ci_bootstrap is not None:
                interval += (f"; bootstrap percentile interval [{rel.alpha_ci_bootstrap[0]:.3f}, "
                             f"{rel.alpha_ci_bootstrap[1]:.3f}] ({rel.bootstrap:,} resamples, seed {BOOTSTRAP_SEED})")
            st.caption(f"{interval}. n = {rel.n} of {rel.n_rows} respondents, {rel.missing} deletion"
                       + (f" (covariances on {rel.n_min_pairwise} to {rel.n} respondents)"
                          if rel.missing == "pairwise" and rel.n_min_pairwise < rel.n else "")
                       + f"; scale mean {rel.scale_mean:.2f} (SD {rel.scale_sd:.2f}).")
            plain(rel.reading())
            warnings_of(rel)
            cite("Cronbach (1951); Feldt (1965) interval; Guttman (1945) lambdas; McDonald (1999) omega total from a "
                 "one-factor minres model; Nunnally (1978) for the .70 convention. "
                 "R: psych::alpha(x, check.keys = FALSE), "
                 "psych::omega(x, nfactors = 1).")

            st.subheader("Items")
            texts = {it.id: it.text for it in instrument.items}
            table = rel.items.copy()
            table.insert(1, "reverse_keyed", table["item"].isin(reverse))
            table.insert(2, "text", table["item"].map(lambda i: texts.get(i, "")))
            tables.table(table, "m_item_table", decimals=3,
                         column_config={"text": st.column_config.TextColumn("Wording", width="large")},
                         note="Item-rest r: correlation of the item with the sum of the other items; corrected "
                              "item-total r: the same corrected for the item's overlap (psych::alpha's r.drop, r.cor).")
            download_buttons(table, f"reliability_items_{scale_key if construct else 'custom'}", key="m_items")
            plain("r_drop is the correlation of an item with the sum of the other items; items below about .30 add "
                  "little to the scale and a negative value usually means a reverse-worded item that is not recoded. "
                  "'alpha_if_deleted' higher than the scale's alpha "
                  f"({num(rel.alpha)}) marks an item the scale would be more consistent without.")
            cite("Nunnally & Bernstein (1994) for the .30 rule of thumb for corrected item-total correlations.")
            chart_left, chart_right = st.columns(2)
            with chart_left:
                chart(charts.item_rest_bars(rel.items, reverse), key="m_item_rest")
            with chart_right:
                chart(charts.correlation_heatmap(rel.correlations), key="m_corr_heatmap")
            corr_table = rel.correlations.reset_index(names="item")
            download_buttons(corr_table, "inter_item_correlations", key="m_corr")
            command("reliability", **scale_options, missing=missing,
                    **({"bootstrap": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED} if use_bootstrap else {}))
            reproduce.panel("reliability", survey, key="m_rep_rel", exclude=flagged_rows if drop_careless else None,
                            rows_note="straight-liners left out", items=items, reverse=reverse, scale_min=scale_min,
                            scale_max=scale_max, missing=missing)

        with guarded("drawing the answer distribution"):
            st.subheader("Answers as given")
            if scale_min is not None:
                codes = list(range(int(scale_min), int(scale_max) + 1))
            else:
                observed = numeric_items(raw_items, items).stack().unique()
                codes = sorted(int(v) for v in observed if float(v).is_integer())
            if len(codes) > 11:
                st.caption(f"The items take {len(codes)} different values; the stacked bars are drawn for scales of "
                           "up to 11 answer options.")
            else:
                shares = charts.likert_shares(raw_items, items, codes)
                # each item with its wording (the instrument's, or the question text of a Qualtrics/SPSS file)
                texts = {it.id: it.text for it in instrument.items if getattr(it, "text", None) and it.text != it.id}
                names = {i: (f"{i}: {texts[i][:57] + '...' if len(texts[i]) > 60 else texts[i]}" if i in texts else i)
                         + (" (R)" if i in reverse else "") for i in items}
                chart(charts.likert_diverging(shares, codes, scale_labels, names,
                                                        title="Answers before reverse-keying"),
                                key="m_likert")
                download_buttons(shares, "answer_distribution", key="m_shares")
                st.caption("(R) marks reverse-keyed items: their answers are shown as given, so agreement with them "
                           "means a low score. Bars: Robbins & Heiberger (2011) diverging stacked bar chart.")

def _several_scales_cfa() -> None:
    """A CFA with one factor per chosen scale (each scale's reverse items recoded on its own
    range), the model ``python -m analysis factor ... --scale A B C`` fits."""
    st.subheader("Confirmatory model with several scales")
    if len(constructs) < 2:
        st.caption("A model with several factors needs at least two scales in this survey.")
        return
    chosen = st.multiselect("Scales, one factor each", [c.key for c in constructs], key=f"m_cfa_scales_{survey}",
                            default=[c.key for c in constructs[:3]], format_func=lambda k: labels.get(k, k),
                            bind="query-params", help="Each item loads on its own scale's factor only; the factors "
                                                      "correlate freely (lavaan's default).")
    if len(chosen) < 2:
        st.caption("Pick two or more scales.")
        return
    with guarded("fitting the model with several factors"):
        model, ranges = scale_model(instrument, chosen)
        model_items = [i for its in model.values() for i in its]
        x = numeric_items(data, model_items)
        for item, (lo, hi) in ranges.items():
            x[item] = apply_reverse(x[[item]], [item], lo, hi)[item]
        fitted = _cfa_model(x, json.dumps(model))
        cols = st.columns(6)
        cols[0].metric("chi2", f"{fitted.chi2:.2f}", help=f"df = {fitted.df}, {p_text(fitted.p)}, n = {fitted.n}")
        cols[1].metric("df", f"{fitted.df}")
        cols[2].metric("CFI", num(fitted.cfi, 3))
        cols[3].metric("TLI", num(fitted.tli, 3))
        cols[4].metric("RMSEA", num(fitted.rmsea, 3))
        cols[5].metric("SRMR", num(fitted.srmr, 3))
        plain(fitted.reading())
        table = fitted.loadings[["factor", "item", "loading", "se"]].rename(columns={"loading": "std_loading"})
        left, right = st.columns([3, 2])
        tables.table(table, "m_cfa_multi_loadings", decimals=3, container=left)
        tables.table(fitted.factor_correlations, "m_cfa_multi_phi", decimals=3, container=right, hide_index=False)
        right.caption("Factor correlations (standardised). Above about .85, two scales may measure one thing "
                      "(Brown 2015).")
        warnings_of(fitted)
        syntax = "; ".join(f"{f} =~ {' + '.join(its)}" for f, its in model.items())
        cite(f"R: lavaan::cfa('{syntax}', data, std.lv = TRUE) on the reverse-keyed items; fitMeasures(fit).")
        reproduce.panel("cfa", survey, key="m_rep_cfa_scales", scales=chosen, model=model, reverse=ranges)
        command("factor", scale=chosen)


# ------------------------------------------------------------------ factor structure
with tab_factor:
    if tab_factor.open:  # lazy: only the chosen tab is computed
        k = len(items)
        factor_cmd = {**scale_options, "missing": missing}

        st.subheader("Sampling adequacy")
        with guarded("computing KMO and Bartlett's test"):
            adequacy = _adequacy(keyed, missing)
            bart = adequacy.bartlett
            kmo_cols = st.columns(3)
            kmo_cols[0].metric("KMO (overall MSA)", num(adequacy.kmo, 3))
            kmo_cols[1].metric("Bartlett chi2", f"{bart['chi2']:.1f}", help=f"df = {bart['df']}, n = {bart['n']}")
            kmo_cols[2].metric("Bartlett p", p_text(bart["p"]).replace("p ", "").replace("= ", ""))
            plain(adequacy.reading())
            kmo_table = adequacy.kmo_items.rename("msa").rename_axis("item").reset_index()
            tables.table(kmo_table, "m_kmo_table", decimals=3,
                         note="MSA: measure of sampling adequacy of each item (Kaiser 1970).")
            download_buttons(kmo_table, "kmo_items", key="m_kmo")
            cite("Kaiser (1970); Kaiser & Rice (1974) MSA labels; Bartlett (1950). R: psych::KMO(x), "
                 "psych::cortest.bartlett(cor(x, use = 'pairwise'), n).")

        st.subheader("Number of factors")
        suggested = 1
        with guarded("running parallel analysis"):
            pa = _parallel(keyed, missing)
            suggested = max(1, min(pa.n_factors, k - 1))
            chart(charts.scree(pa.eigenvalues, pa.n_factors, pa.quantile), key="m_scree")
            plain(pa.reading())
            download_buttons(pa.eigenvalues, "parallel_analysis", key="m_pa")
            cite(f"Horn (1965). R: psych::fa.parallel(x, fm = 'minres', fa = 'both', n.iter = {PARALLEL_ITER}); "
                 f"the simulation uses seed {PARALLEL_SEED}, so values differ from R's random draws in the last "
                 "digits.")

        st.subheader("Exploratory factor analysis")
        if k < 3:
            st.info("Factor models need at least three items.")
        else:
            opts = st.columns(3)
            n_factors = opts[0].selectbox("Factors", list(range(1, k)), index=suggested - 1,
                                          key=f"m_nf_{survey}_{scale_key}_{k}",
                                          help="Pre-set to the number parallel analysis suggests.")
            fm = opts[1].selectbox("Method", ["minres", "ml"], key="m_fm", bind="query-params",
                                   format_func=lambda m: {"minres": "minimum residual", "ml": "maximum likelihood"}[m])
            rotate = opts[2].selectbox("Rotation", ["oblimin", "varimax", "none"], key="m_rot", bind="query-params",
                                       help="oblimin lets factors correlate; varimax keeps them uncorrelated")
            with guarded("fitting the exploratory factor model"):
                efa = _efa(keyed, n_factors, fm, rotate, missing)
                loads = efa.loadings.copy()
                loads["h2"] = efa.communalities
                loads["u2"] = efa.uniquenesses
                loadings_table = loads.reset_index(names="item")
                tables.table(loadings_table, "m_efa_table", decimals=3,
                             note="Loadings of the rotated solution; h²: communality; u²: uniqueness (1 - h²).")
                download_buttons(loadings_table, "efa_loadings", key="m_efa")
                chart(charts.loadings_heatmap(efa.loadings), key="m_efa_heatmap")
                plain(efa.reading())
                if n_factors > 1 and rotate == "oblimin":
                    phi = efa.factor_correlations.reset_index(names="factor")
                    st.caption("Factor correlations (oblimin)")
                    tables.table(phi, "m_phi", decimals=3)
                    download_buttons(phi, "efa_factor_correlations", key="m_phi_dl")
                warnings_of(efa)
                cite("Harman & Jones (1966) minres; Joreskog (1967) ML; Jennrich (2002) oblimin; "
                     "Kaiser (1958) varimax; "
                     "Stevens (2002) / Hair et al. (2019) for the .40 loading convention. "
                     f"R: psych::fa(x, nfactors = {n_factors}, fm = '{fm}', rotate = '{rotate}').")

            st.subheader("One-factor confirmatory model")
            with guarded("fitting the confirmatory factor model"):
                cfa = _cfa(keyed)
                cols = st.columns(6)
                cols[0].metric("chi2", f"{cfa.chi2:.2f}", help=f"df = {cfa.df}, {p_text(cfa.p)}, n = {cfa.n}")
                cols[1].metric("df", f"{cfa.df}")
                cols[2].metric("CFI", num(cfa.cfi, 3))
                cols[3].metric("TLI", num(cfa.tli, 3))
                cols[4].metric("RMSEA", num(cfa.rmsea, 3),
                               help=f"90% CI [{num(cfa.rmsea_ci[0], 3)}, {num(cfa.rmsea_ci[1], 3)}]")
                cols[5].metric("SRMR", num(cfa.srmr, 3))
                plain(cfa.reading())
                cfa_table = cfa.loadings.drop(columns=["factor"]).rename(columns={"loading": "std_loading"})
                tables.table(cfa_table, "m_cfa_table", decimals=3)
                download_buttons(cfa_table, "cfa_loadings", key="m_cfa")
                warnings_of(cfa)
                cite("Joreskog (1969) ML; Hu & Bentler (1999) cut-offs; Steiger & Lind (1980) RMSEA. "
                     "R: lavaan::cfa('F =~ " + " + ".join(items) + "', data, std.lv = TRUE) and "
                     "fitMeasures(fit, c('chisq', 'df', 'cfi', 'tli', 'rmsea', 'rmsea.ci.lower', 'rmsea.ci.upper', "
                     "'srmr')).")
                reproduce.panel("cfa", survey, key="m_rep_cfa", exclude=flagged_rows if drop_careless else None,
                                rows_note="straight-liners left out", model={"F": list(items)},
                                reverse={i: (scale_min, scale_max) for i in reverse})

            _several_scales_cfa()

            st.subheader("Measurement invariance")
            # Grouping candidates: categorical demographics, numeric ones split at the median, and the other
            # survey when it holds the very same item ids (a shared construct asked with the same items).
            group_options: dict[str, str] = {}
            for demo in instrument.demographics:
                if demo.id in work.columns:
                    group_options[demo.id] = demo.label + (" (split at the median)" if demo.type == "numeric" else "")
            other = next((iid for iid in state.surveys() if iid != survey), None)
            other_prepared = state.dataset(other) if other else None
            other_label = state.survey_label(other) if other else ""
            shared_ok = (construct is not None and construct.shared_key and other_prepared is not None
                         and all(i in other_prepared.data.columns for i in items))
            if shared_ok:
                group_options["__survey__"] = f"Survey: {state.survey_label(survey)} vs {other_label}"
            elif construct is not None and construct.shared_key and other:
                counterpart = state.instrument(other).shared_construct(construct.shared_key)
                if counterpart is not None:
                    st.caption(f"'{construct.label}' is also measured in the {other_label.lower()} survey "
                               f"('{counterpart.label}'), but with differently worded items "
                               f"({', '.join(counterpart.item_ids)}), "
                               "so the two surveys cannot be compared item by item; demographic groups only.")
            if not group_options:
                st.info("This survey has no background variable to compare groups on.")
            else:
                gcols = st.columns([1, 2])
                group_choice = gcols[0].selectbox("Compare groups of", list(group_options),
                                                  format_func=lambda g: group_options[g], key=f"m_inv_{survey}",
                                                  bind="query-params")
                if group_choice == "__survey__":
                    assert other_prepared is not None  # the choice exists only when the other survey is loaded
                    frame = pd.concat([
                        _keyed(raw_items, tuple(reverse), scale_min, scale_max)
                        .assign(_group=state.survey_label(survey)),
                        _keyed(other_prepared.data[items], tuple(reverse), scale_min, scale_max)
                        .assign(_group=other_label)], ignore_index=True)
                else:
                    demo = instrument.demographic(group_choice)
                    values = pd.to_numeric(work[group_choice], errors="coerce")
                    if demo.type == "numeric":
                        cut = float(values.median())
                        band = pd.Series(np.where(values < cut, f"under {cut:g}", f"{cut:g} or more"), index=work.index)
                        band = band.where(values.notna())
                    else:
                        levels = demo.levels or {}
                        names = {v: levels.get(int(v), f"{v:g}") for v in values.dropna().unique()}  # few codes
                        band = values.map(names)
                    frame = keyed.assign(_group=band)
                sizes = frame["_group"].value_counts()
                chosen = gcols[1].multiselect("Groups", list(sizes.index), default=list(sizes.index[:2]),
                                              format_func=lambda g: f"{g} (n = {sizes[g]})",
                                              key=f"m_inv_levels_{survey}_{group_choice}")
                frame = frame[frame["_group"].isin(chosen)].rename(columns={"_group": "group"})
                with guarded("fitting the multi-group models"):
                    if len(chosen) < 2:
                        raise InputError("measurement invariance compares at least two groups",
                                         hint="pick two or more groups above")
                    inv = _invariance(frame, "group")
                    steps = inv.steps.copy()
                    tables.table(steps, "m_inv_table", decimals=3,
                                 note="Each model adds equality constraints to the one above; Δ: change from it.")
                    download_buttons(steps, "measurement_invariance", key="m_inv_dl")
                    plain(inv.reading())
                    warnings_of(inv)
                    cite("Meredith (1993); Vandenberg & Lance (2000); Cheung & Rensvold (2002) for delta CFI. "
                         "R: lavaan::cfa(model, data, group = 'g', group.equal = c('loadings', 'intercepts')), "
                         "lavaan::anova(configural, metric, scalar).")
                if group_choice != "__survey__" and instrument.demographic(group_choice).type == "categorical" \
                        and set(chosen) == set(sizes.index):
                    factor_cmd["group"] = group_choice
            command("factor", **factor_cmd, efa_factors=n_factors, fm=fm, rotate=rotate)

# ------------------------------------------------------------------ aggregation
with tab_agg:
    if tab_agg.open:  # lazy: only the chosen tab is computed
        if not group_columns:
            st.info("This survey has no organisation or municipality column, so there is nothing to aggregate to.")
        else:
            acols = st.columns(2)
            level = acols[0].segmented_control("Aggregate to", list(group_columns), default=next(iter(group_columns)),
                                               key=f"m_level_{survey}", bind="query-params", required=True)
            group_col = group_columns[level]
            if scale_min is not None:
                options = int(scale_max - scale_min + 1)
                acols[1].metric("Response options A", options,
                                help=f"{scale_min:g}..{scale_max:g}: the uniform null "
                                     f"variance is (A^2 - 1)/12 = {(options ** 2 - 1) / 12:.2f}")
            else:
                options = int(acols[1].number_input("Response options A", min_value=2, max_value=101, value=5, step=1,
                                                    key="m_options",
                                                    help="number of answer options of these columns (uniform null)"))
            with guarded("computing agreement and ICCs"):
                min_n = state.min_n()
                # only whole blocks of the survey's disclosure partition inside one group (analysis.privacy),
                # on the full survey so every screen uses the same blocks
                answered, usable = _agreement_rows(state.data_key(survey), tuple(items), tuple(reverse), scale_min,
                                                   scale_max, drop_careless, group_col, min_n, data, instrument, keyed)
                agg_input = keyed.assign(**{group_col: work[group_col]}).loc[
                    usable.reindex(keyed.index, fill_value=False)]
                if agg_input.empty:
                    st.info(f"No {level} can be shown: in this survey the groups of at least {min_n} respondents that "
                            f"privacy protection keeps together do not fall within single {level}s (the survey's "
                            f"demographic breakdowns come first). The data owner can compute the full table with the "
                            f"command below and --all-groups.", icon=":material/lock:")
                    st.stop()
                agg = _aggregate(agg_input, group_col, options)
                agg_cols = st.columns(4)
                agg_cols[0].metric("ICC(1)", num(agg.icc1, 3))
                agg_cols[1].metric("ICC(2)", num(agg.icc2, 3))
                agg_cols[2].metric(f"Mean {agg.statistic}", num(agg.rwg_mean, 3))
                agg_cols[3].metric(f"Median {agg.statistic}", num(agg.rwg_median, 3))
                plain(agg.reading())
                shown = agg.groups
                hidden = int(work[group_col].nunique() - len(shown))
                st.subheader(f"Per {level}")
                if hidden > 0:
                    st.caption(f"{hidden} {level}(s) with fewer than {min_n} respondents (or pooled with such a "
                               "group so "
                               "that their values cannot be worked out from the rest) are left out of this table, of "
                               "ICC(1)/ICC(2) and of the summary.")
                left_col, right_col = st.columns([3, 2])
                with left_col:
                    tables.table(shown, "m_groups_table", digits={"rwg": 3}, labels={"rwg": agg.statistic})
                    download_buttons(shown, f"agreement_by_{level}", key="m_groups")
                with right_col:
                    chart(charts.rwg_histogram(shown["rwg"], agg.statistic), key="m_rwg_hist")
                for note in agg.notes[3:]:
                    st.caption(note)
                st.markdown("**How to read these numbers**\n\n" + "\n".join(f"- {note}" for note in agg.notes[:3]))
                cite("James, Demaree & Wolf (1984) rwg(j); LeBreton & Senter (2008) agreement bands; Bliese (2000) "
                     "ICC(1)/ICC(2). R: multilevel::rwg.j(x, grpid, ranvar = (A^2 - 1)/12), "
                     "multilevel::ICC1(aov(score ~ factor(grpid))), multilevel::ICC2(...).")
                reproduce.panel("aggregate", survey, key="m_rep_agg",  # left out: rows with every item answered
                                exclude=data.index[(answered & ~usable).to_numpy()].union(
                                    flagged_rows if drop_careless else []),
                                rows_note="privacy rule" + (", straight-liners" if drop_careless else ""),
                                min_n=min_n, group=group_col, items=items, reverse=reverse, scale_min=scale_min,
                                scale_max=scale_max, options=options)
                command("aggregate", group=group_col, **scale_options, options=options, min_n=min_n)
