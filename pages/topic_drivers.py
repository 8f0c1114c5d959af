"""Research topic 3: antecedents, drivers, challenges and outcomes of digital co-production.

Headless: ``python -m analysis topics sample_data/citizens.csv --instrument citizen --section divide --json``
and ``--section broaden`` (the screen prints the exact text for its file, filters and threshold).

The digital divide (who co-produces digitally, by age band, gender, education, urban/rural),
broaden or deepen (offline x digital participation, profiles, a multilevel logistic model),
barriers and enablers ranked, benefits and challenges along data, interaction, tailoring and
simplification, perceived outcomes, and the link between the two surveys: municipality
readiness (from public servants) as a level-2 predictor of citizens' digital co-production.
Every number comes from ``analysis.topics`` and ``analysis.mixed``; the filter bar
(``ui.filters``) applies to every chart and table.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

import streamlit as st

st.title("3 · Drivers, challenges and outcomes")
st.markdown(
    "Who takes part in digital co-production and who is left out? Do digital channels bring in people "
    "who do not take part offline (broadening) or mostly those who already do (deepening)? What holds "
    "citizens and administrations back, what do they expect from it, and does a ready administration "
    "go with more citizen participation?")

import pandas as pd  # noqa: E402
import plotly.express as px  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from analysis import topics  # noqa: E402
from analysis.formatting import num, p_text  # noqa: E402
from analysis.mixed import fit  # noqa: E402
from analysis.model_data import model_data  # noqa: E402
from ui import access, reproduce, state, tables  # noqa: E402
from ui.filters import filter_bar  # noqa: E402
from ui.widgets import (chart, cite, command_text, show_command, download_buttons, guarded,  # noqa: E402
                        plain, stop_unless_loaded, stop_without_roles)

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

CITIZEN, SERVANT = state.role_survey("citizen"), state.role_survey("public_servant")
# the citizens' municipality column, or an own study's first declared group
MUNICIPALITY = (state.instrument(CITIZEN).group_columns.get("municipality")
                or next(iter(state.instrument(CITIZEN).group_columns.values()), "municipality_id")) \
    if state.dataset(CITIZEN) is not None else "municipality_id"
CLIFTON = ("Clifton, Díaz-Fuentes & Llamosas García (forthcoming), ICT-enabled co-production of public "
           "services: barriers and enablers. A systematic review")
PALETTI = ("Paletti (2016), Co-production through ICT in the public sector: when citizens reframe the production "
           "of public services")
ELEMENTS = ("benefits and challenges of digital co-production for public administrations along four elements "
            "(data, interaction, tailoring, simplification)")
VARIABLE_LABELS = {"age_band": "Age band", "gender": "Gender", "education": "Education", "area": "Urban / rural"}


# ------------------------------------------------------------------ cached analysis calls
# Each takes a key naming its rows (a survey's ``ui.state.data_key``, a filtered view's
# ``FilterView.key``) and the rows themselves unhashed (``_data``...): a rerun neither redoes nor
# hashes work on a national survey's rows. What holds rows (a model's table, the linked data)
# is a shared read-only resource, not copied out of the cache at every rerun.
@st.cache_data(show_spinner=False, max_entries=32)
def _divide(key: str, min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    return topics.digital_divide(_data, state.instrument(CITIZEN), min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=32)
def _broaden(key: str, min_n: int, _data: pd.DataFrame):
    return topics.broaden_deepen(_data, state.instrument(CITIZEN), min_n=min_n)


@st.cache_resource(show_spinner=False, max_entries=8, ttl=3600)
def _participation_model(key: str, _data: pd.DataFrame):
    return topics.digital_participation_model(_data, state.instrument(CITIZEN))


@st.cache_data(show_spinner=False, max_entries=32)
def _ranked(key: str, iid: str, what: str, min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    fn = {"barriers": topics.barriers_enablers, "outcomes": topics.outcomes,
          "elements": topics.benefits_challenges}[what]
    return fn(_data, state.instrument(iid), min_n=min_n)


@st.cache_resource(show_spinner="Readiness per municipality...", max_entries=8, ttl=3600)
def _municipality_readiness(key: str, min_n: int, _servants: pd.DataFrame):
    """The servants' side of the link (named by the servants' data key): once per survey and
    threshold, not again at each change of the citizens' filters."""
    return topics.municipality_readiness(_servants, state.instrument(SERVANT), min_n=min_n)


@st.cache_resource(show_spinner="Linking the two surveys...", max_entries=8, ttl=3600)
def _link(keys: tuple[str, str], min_n: int, _servants: pd.DataFrame, _citizens: pd.DataFrame):
    return topics.link_readiness_to_municipalities(_servants, _citizens, state.instrument(SERVANT),
                                                   state.instrument(CITIZEN), min_n=min_n,
                                                   readiness=_municipality_readiness(keys[0], min_n, _servants))


@st.cache_resource(show_spinner="Fitting the multilevel logistic model...", max_entries=8, ttl=3600)
def _fit(key: str, formula: str, family: str, _data: pd.DataFrame):
    """The fit of ``formula`` on ``_data`` (the rows ``key`` names: a model's table)."""
    return fit(formula, _data, family=family)


@st.cache_data(show_spinner=False, max_entries=8)
def _models_columns(keys: tuple[str, str], min_n: int, _data: pd.DataFrame,
                    _servants: pd.DataFrame | None) -> tuple[str, ...]:
    """Columns the Models screen fits citizens on (its own table), to link only to models it can open:
    the citizens' model table and, with the servants loaded, their municipality's readiness
    (``readiness_muni``, which the Models screen links from the servants; not linked here again,
    a second pass over a national survey only for a column's name)."""
    columns = tuple(model_data(_data, state.instrument(CITIZEN)).columns)
    return columns + (("readiness_muni",) if _servants is not None and "readiness_muni" not in columns else ())


# ------------------------------------------------------------------ helpers
@st.cache_data(show_spinner=False, max_entries=16)
def _left_out(key: str, _used: pd.Index) -> pd.Index:
    """The citizens' rows outside ``_used`` (named by ``key``), for the reproduce panel."""
    prepared = state.dataset(CITIZEN)
    assert prepared is not None
    return prepared.data.index.difference(_used)


def _model_table(fixed: pd.DataFrame, key: str, file_name: str, formula: str, family: str) -> None:
    """A model's fixed effects (APA table, downloads) and the link that opens it in the Models screen."""
    tables.table(fixed, f"{key}_table", decimals=3)
    download_buttons(fixed, file_name, key=f"{key}_model" if key == "s3_link" else key)
    _models_link(formula, family, _models_columns(
        (state.data_key(CITIZEN), state.data_key(SERVANT) if frames.get(SERVANT) is not None else ""),
        state.min_n(), frames[CITIZEN], frames.get(SERVANT)), "Open this model in the Models screen")


def _models_link(formula: str, family: str, columns: tuple[str, ...], label: str) -> None:
    target = formula  # the topics' models use the Models screen's names (c_x, cwc_x, c_gm_x)
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", target.split("~", 1)[1])) - {"1"}
    usable = all(n in columns or (n.startswith("c_") and n[2:] in columns) for n in names)
    if usable:
        query = urlencode({"survey": CITIZEN, "formula": target, "family": family})
        st.markdown(f"[{label}](/models?{query}) (as `{target}`)")
    else:
        missing = sorted({n[2:] if n.startswith("c_") else n for n in names
                          if n not in columns and n[2:] not in columns})
        st.caption(f"The Models screen does not hold {', '.join(missing)} yet, so this model is fitted here; "
                   f"its formula for R or the Models screen: `{target}`")


def _multilevel(key: str, formula: str, data: pd.DataFrame, family: str, group: str):
    """Fit when the view holds at least two groups; otherwise say why not (an info, not an error).
    ``key`` names the rows of ``data`` (for the cache)."""
    groups = data[group].nunique() if group in data.columns else 0
    if groups < 2:
        st.info(f"This view holds {groups} municipalit{'y' if groups == 1 else 'ies'} with data; a multilevel "
                "model needs at least two. Widen the municipality filter to fit it.", icon=":material/info:")
        return None
    return _fit(key, formula, family, data)


def _odds_chart(fixed: pd.DataFrame, title: str) -> go.Figure:
    terms = fixed[fixed["term"] != "(Intercept)"]
    fig = go.Figure(go.Scatter(
        x=terms["odds_ratio"], y=terms["term"], mode="markers", marker=dict(size=11, color="#2471a3"),
        error_x=dict(type="data", symmetric=False, array=terms["or_ci_high"] - terms["odds_ratio"],
                     arrayminus=terms["odds_ratio"] - terms["or_ci_low"])))
    fig.add_vline(x=1, line_dash="dash", line_color="#888")
    fig.update_layout(title=title, xaxis=dict(type="log", title="odds ratio (log scale, 95% CI)"),
                      yaxis=dict(autorange="reversed"), height=120 + 42 * len(terms), margin=dict(t=60, l=10))
    return fig


def _short(label: str) -> str:
    """'Barrier: privacy worries' -> 'Privacy worries' (the chart title names the family)."""
    text = label.split(":", 1)[1].strip() if ":" in label else label
    return text[:1].upper() + text[1:]


def _ranked_chart(table: pd.DataFrame, title: str, colour: str = "#2471a3") -> go.Figure:
    fig = go.Figure(go.Bar(
        x=table["mean"], y=[_short(label) for label in table["label"]], orientation="h", marker_color=colour,
        error_x=dict(type="data", symmetric=False, array=table["ci_high"] - table["mean"],
                     arrayminus=table["mean"] - table["ci_low"])))
    fig.update_layout(title=title, xaxis=dict(range=[1, 5], title="mean agreement (1-5, 95% CI)"),
                      yaxis=dict(autorange="reversed"), height=120 + 45 * len(table), margin=dict(t=60, l=10))
    return fig


def _or_text(row: pd.Series, what: str) -> str:
    return (f"{what}: odds ratio {row['odds_ratio']:.2f} (95% CI {row['or_ci_low']:.2f} to {row['or_ci_high']:.2f}, "
            f"{p_text(row['p'])})")


def _ranked_block(ranked: pd.DataFrame, title: str, colour: str, name: str, reading: str, iid: str,
                  section: str) -> None:
    """A ranked construct list as a bar chart, its reading, the table, its downloads and command."""
    chart(_ranked_chart(ranked, title, colour), key=f"s3_{name}")
    plain(reading)
    _ranked_table(ranked, name, iid, section)


def _ranked_table(ranked: pd.DataFrame, name: str, iid: str, section: str) -> None:
    """The ranked table (its reading column left out), downloads and the ``topics --section`` command."""
    table = ranked.drop(columns=["reading"])
    tables.table(table, f"s3_{name}_table")
    download_buttons(table, name, key=f"s3_{name}")
    show_command(command_text("topics", iid, section=section, filters=view.filters.get(iid, {}), min_n=min_n))


# ------------------------------------------------------------------ the page
stop_without_roles([CITIZEN, SERVANT])
frames = {iid: (p.data if (p := state.dataset(iid)) is not None else None) for iid in (CITIZEN, SERVANT)}
stop_unless_loaded(frames)
min_n = state.min_n()
view = filter_bar("s3", frames, ["muni", "gender", "age", "edu", "area"], min_n=min_n)
citizens, servants = view.get(CITIZEN), view.get(SERVANT)

if citizens is not None:
    # ---- 1. digital divide
    st.header("Who co-produces digitally? The digital divide")
    with guarded("computing the digital divide"):
        show_command(command_text("topics", CITIZEN, section="divide", filters=view.filters.get(CITIZEN, {}),
                                  min_n=min_n))
        divide = _divide(view.key(CITIZEN), min_n, citizens)
        shown = divide[~divide["suppressed"]].assign(
            variable=lambda d: d["variable"].map(lambda v: VARIABLE_LABELS.get(v, v)),
            plus=lambda d: d["ci_high"] - d["share"], minus=lambda d: d["share"] - d["ci_low"])
        fig = px.bar(shown, x="level", y="share", facet_col="variable", error_y="plus", error_y_minus="minus",
                     hover_data=["n", "participants"], labels={"share": "share co-producing digitally", "level": ""},
                     title="Share of citizens with any digital co-production (95% Wilson CI)")
        fig.update_xaxes(matches=None)
        fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
        fig.update_layout(height=430, margin=dict(t=80))
        chart(fig, key="s3_divide_chart")
        parts = []
        for var, sub in shown.groupby("variable", sort=False):
            hi, lo = sub.loc[sub["share"].idxmax()], sub.loc[sub["share"].idxmin()]
            p = sub["p"].iloc[0]
            if len(sub) == 1:
                parts.append(f"{var}: {hi['share']:.0%} ({hi['level']}, the only group in view)")
                continue
            parts.append(f"{var}: from {lo['share']:.0%} ({lo['level']}) to {hi['share']:.0%} ({hi['level']})"
                         + (f", chi-square {p_text(p)}" if pd.notna(p) else ""))
        plain("Share of citizens who did at least one digital co-production activity. " + "; ".join(parts)
              + ". A p below .05 means the shares differ more than chance would explain; the bars' whiskers "
                f"are 95% Wilson intervals (Wilson 1927). Groups of fewer than {min_n} people are not shown.")
        table = divide.drop(columns=["reading"])
        tables.table(table, "s3_divide_table")
        download_buttons(table, "digital_divide", key="s3_divide")

    # ---- 2. broaden or deepen
    st.header("Broaden or deepen?")
    with guarded("cross-tabulating offline and digital participation"):
        show_command(command_text("topics", CITIZEN, section="broaden", filters=view.filters.get(CITIZEN, {}),
                                  min_n=min_n))
        bd = _broaden(view.key(CITIZEN), min_n, citizens)
        names = {0: "no", 1: "yes"}
        counts = bd.counts.rename(index=names, columns=names)
        counts.index.name, counts.columns.name = "offline participation", "digital participation"
        row_pct = bd.row_percent.rename(index=names, columns=names)
        row_pct.index.name, row_pct.columns.name = counts.index.name, counts.columns.name
        left, right = st.columns(2)
        with left:
            st.markdown("**Citizens (counts)**: offline (rows) × digital (columns)")
            tables.table(counts.reset_index(), "s3_bd_counts")
            download_buttons(counts.reset_index(), "broaden_deepen_counts", key="s3_bd_counts")
        with right:
            st.markdown("**Row %**: of those who did / did not take part offline, how many took part digitally")
            tables.table(row_pct.reset_index(), "s3_bd_rowpct",
                         column_config={c: st.column_config.NumberColumn(c, format="%.1f %%") for c in ("no", "yes")})
            download_buttons(row_pct.reset_index(), "broaden_deepen_row_percent", key="s3_bd_rowpct")
        shares = bd.shares
        fig = go.Figure(go.Bar(x=shares["share"], y=["new: no offline participation", "already active offline"],
                               orientation="h", marker_color=["#27ae60", "#2471a3"],
                               error_x=dict(type="data", symmetric=False, array=shares["ci_high"] - shares["share"],
                                            arrayminus=shares["share"] - shares["ci_low"])))
        fig.update_layout(title="Digital participants: new to co-production or already active offline (95% CI)",
                          xaxis=dict(range=[0, 1], tickformat=".0%"), height=260, margin=dict(t=60, l=10))
        chart(fig, key="s3_bd_chart")
        plain(bd.reading + " Broadening would mean digital channels reach people the offline channels miss "
              "(the call for papers of the research panel asks exactly this).")
        tables.table(shares, "s3_bd_shares")
        download_buttons(shares, "broaden_deepen_shares", key="s3_bd_shares")
        st.markdown("**Who are they?** Profiles of the four participation patterns (shares of each group, or means)")
        # one row per (variable, level) that exists; suppressed cells stay empty
        profiles = (bd.profiles.set_index(["variable", "level", "pattern"])["value"]
                    .unstack("pattern").reindex(columns=[p for p in topics.PATTERNS if p in set(bd.profiles["pattern"])])
                    .reindex(pd.MultiIndex.from_frame(bd.profiles[["variable", "level"]].drop_duplicates()))
                    .reset_index())
        profiles.columns.name = None
        tables.table(profiles, "s3_bd_profiles",
                     note="Shares (0-1) of each pattern's members, or their mean score; an empty cell: fewer "
                          "respondents than the threshold.")
        download_buttons(bd.profiles, "broaden_deepen_profiles", key="s3_bd_profiles")

    model = None
    with guarded("fitting the multilevel logistic model of digital participation"):
        st.subheader("Multilevel logistic model of digital participation")
        spec = _participation_model(view.key(CITIZEN), citizens)
        model = _multilevel(f"participation:{view.key(CITIZEN)}", spec.formula, spec.data, spec.family, MUNICIPALITY)
    if model is not None:
        with guarded("showing the model"):
            fixed = model.fixed_table()
            chart(_odds_chart(fixed, "Odds of any digital co-production"), key="s3_model_chart")
            rows = fixed.set_index("term")
            text = [_or_text(rows.loc["any_offline"], "Taking part offline")] if "any_offline" in rows.index else []
            if "c_age10" in rows.index:
                text.append(_or_text(rows.loc["c_age10"], "each decade of age"))
            plain(f"`{spec.formula}` on {model.n_obs} citizens in {next(iter(model.groups.values()))} municipalities: "
                  + "; ".join(text) + ". An odds ratio above 1 means higher odds of digital co-production. "
                  + spec.note + (f" Municipalities differ: ICC {num(model.icc, 2)} on the latent scale." if model.icc
                                 is not None else " Municipalities do not differ beyond chance (variance at zero)."))
            _model_table(fixed, "s3_model", "digital_participation_model", spec.formula, spec.family)
            participation_command = command_text("topics", CITIZEN, section="participation",
                                                 filters=view.filters.get(CITIZEN, {}), min_n=min_n)
            show_command(participation_command)
            reproduce.panel("mixed", CITIZEN, key="s3_reproduce", formula=spec.formula, reml=False,
                            command=participation_command,
                            family=spec.family,  # the rows left out: only the open panel uses them
                            exclude=(_left_out(view.key(CITIZEN), citizens.index)
                                     if st.session_state.get("s3_reproduce_open") else None),
                            rows_note="the screen's filters")  # centred on the view; glmer drops missing rows
            cite("Multilevel logistic regression, Laplace approximation as lme4::glmer (Bates et al. 2015)")

# ---- 3. barriers and enablers
st.header("Barriers and enablers, ranked")
cols = st.columns(2)
for col, iid, data, title in ((cols[0], CITIZEN, citizens, "Citizens' barriers"),
                              (cols[1], SERVANT, servants, "Administrations' barriers and challenges")):
    if data is None:
        continue
    with col, guarded("ranking barriers and enablers"):
        ranked = _ranked(view.key(iid), iid, "barriers", min_n, data)
        if ranked.empty:
            st.caption(f"The {state.survey_label(iid).lower()} survey asks no barrier questions.")
            continue
        top = ranked.iloc[0]
        _ranked_block(ranked, title, "#c0392b", f"barriers_{iid}",
                      f"{state.survey_label(iid)}: the most endorsed is {top['label'].lower()} ({top['agree_share']:.0%} "
                      f"lean towards agreeing, mean {top['mean']:.2f}, 95% CI {top['ci_low']:.2f} to "
                      f"{top['ci_high']:.2f}); the least {ranked.iloc[-1]['label'].lower()} "
                      f"({ranked.iloc[-1]['agree_share']:.0%}).", iid, "barriers")
cite(CLIFTON + ": citizens' skills, access and trust, and administrations' resistance, resources and "
     "rules are the barriers the review names; training, low-cost ICT and fitting regulation the enablers.")

# ---- 4. benefits and challenges along the four elements
st.header("Benefits and challenges: data, interaction, tailoring, simplification")
if servants is not None:
    with guarded("comparing benefits and challenges"):
        elements = _ranked(view.key(SERVANT), SERVANT, "elements", min_n, servants)
        fig = px.bar(elements.assign(plus=elements["ci_high"] - elements["mean"],
                                     minus=elements["mean"] - elements["ci_low"]),
                     x="element", y="mean", color="kind", barmode="group", error_y="plus", error_y_minus="minus",
                     color_discrete_map={"benefit": "#27ae60", "challenge": "#c0392b"},
                     title="Public servants: perceived benefits and challenges per element (mean, 95% CI)")
        fig.update_layout(yaxis=dict(range=[1, 5], title="mean agreement (1-5)"), height=400, margin=dict(t=60))
        chart(fig, key="s3_elements_chart")
        wide = elements.pivot_table(index="element", columns="kind", values="mean", sort=False)
        if {"benefit", "challenge"} <= set(wide.columns):
            gap = (wide["benefit"] - wide["challenge"]).sort_values()
            plain("Public servants see more benefit than challenge on every element where the green bar is higher: "
                  + "; ".join(f"{e} benefit {wide.loc[e, 'benefit']:.2f} vs challenge {wide.loc[e, 'challenge']:.2f}"
                              for e in wide.index)
                  + f". The balance is narrowest for {gap.index[0]}. Answers run from 1 (disagree) to 5 (agree).")
        _ranked_table(elements, "elements", SERVANT, "elements")
if citizens is not None:
    with guarded("citizens' perceived benefits"), st.expander("Citizens' perceived benefits per element"):
        _ranked_table(_ranked(view.key(CITIZEN), CITIZEN, "elements", min_n, citizens), "elements_citizens", CITIZEN,
                      "elements")
cite("The framing of " + ELEMENTS + " follows the table of benefits and challenges for public administrations "
     "in the research this dashboard builds on (see the project's research documents).")

# ---- 5. outcomes
st.header("Outcomes: public value and service quality")
cols = st.columns(2)
for col, iid, data in ((cols[0], SERVANT, servants), (cols[1], CITIZEN, citizens)):
    if data is None:
        continue
    with col, guarded("ranking the perceived outcomes"):
        ranked = _ranked(view.key(iid), iid, "outcomes", min_n, data)
        if ranked.empty:
            continue
        _ranked_block(ranked, f"{state.survey_label(iid)}: perceived outcomes", "#8e44ad", f"outcomes_{iid}",
                      "; ".join(ranked["reading"]) + ".", iid, "outcomes")
cite(PALETTI + ": co-production through ICT can create public value and better services, while critics "
     "warn of losing the human touch.")

# ---- 6. linking the two surveys
st.header("Linking the two surveys: does a ready administration go with more citizen participation?")
if citizens is None or frames[SERVANT] is None:
    st.info("Both surveys are needed (and a citizen view the filters allow) to link them.", icon=":material/info:")
else:
    link_model = None
    with guarded("linking municipality readiness to citizens' digital co-production"):
        # municipality readiness comes from all public servants (privacy inside the library);
        # the filters choose the citizens it is related to
        link = _link((state.data_key(SERVANT), view.key(CITIZEN)), min_n, frames[SERVANT], citizens)
        agreement = link.agreement
        m = st.columns(4)
        m[0].metric("Municipalities with readiness", agreement["n_municipalities"])
        m[1].metric("Mean rwg(j)", f"{agreement['mean_rwg']:.2f}")
        m[2].metric("ICC(1)", f"{agreement['icc1']:.2f}")
        m[3].metric("ICC(2)", f"{agreement['icc2']:.2f}")
        plain(link.reading + " rwg(j) of .70 or more: servants within a municipality agree (James, Demaree & Wolf "
              "1984); ICC(2) of .70 or more: the municipality mean is reliable (Bliese 2000).")
        munis = link.municipalities
        tables.table(munis, "s3_link_munis", digits={"readiness": 1}, labels={"readiness": "Readiness (0-100)"})
        download_buttons(munis, "municipality_readiness", key="s3_link_munis")
        link_model = _multilevel(f"link:{state.data_key(SERVANT)}:{view.key(CITIZEN)}:{min_n}", link.formula,
                                 link.data.dropna(subset=["c_readiness_muni"]), link.family, MUNICIPALITY)
    if link_model is not None:
        with guarded("showing the model"):
            fixed = link_model.fixed_table()
            chart(_odds_chart(fixed, "Citizens' odds of digital co-production, municipality readiness as a "
                                               "level-2 predictor"), key="s3_link_chart")
            row = fixed.set_index("term").loc["c_readiness_muni"]
            per10 = row["odds_ratio"] ** 10
            plain(f"`{link.formula}` on {link_model.n_obs} citizens in {next(iter(link_model.groups.values()))} "
                  f"municipalities: {_or_text(row, 'each point of municipality readiness (0-100)')}; per 10 points "
                  f"the odds change by a factor {per10:.2f}. "
                  + ("A ready administration goes with more digital co-production of its citizens, other things equal."
                     if row["or_ci_low"] > 1 else
                     "A ready administration goes with less digital co-production, other things equal."
                     if row["or_ci_high"] < 1 else
                     "The data do not show a clear link between an administration's readiness and its citizens' "
                     "digital co-production (the CI includes 1).")
                  + " Municipalities whose readiness is withheld for privacy are left out of the model.")
            _model_table(fixed, "s3_link", "readiness_and_citizen_participation_model", link.formula, link.family)
            cite("Bliese (2000) aggregation; Enders & Tofighi (2007) centring; lme4::glmer (Bates et al. 2015)")
