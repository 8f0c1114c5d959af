"""Research topic 1: knowledge, skills and attitudes of public servants and citizens.

Headless: ``python -m analysis topics sample_data/public_servants.csv --instrument public_servant
--section distributions --json`` (the screen prints the exact text for its file, filters and threshold).

Score distributions per construct, public servants vs citizens on the shared constructs,
group comparisons with the fitting test and an effect size with its CI, and the correlation
matrix of attitudes, skills and public service motivation. Every number comes from
``analysis.topics``; the filter bar (``ui.filters``) applies to every chart and table.
"""
from __future__ import annotations

import streamlit as st

st.title("1 · Knowledge, skills and attitudes")
st.markdown(
    "Do public servants and citizens have the digital skills and the attitudes that digital "
    "co-production asks of them, and who differs from whom? The research agenda on digital "
    "co-production asks about both sides: the public servants who open their services to citizens' "
    "input (their attitudes, skills and public service motivation) and the citizens who take part.")

import pandas as pd  # noqa: E402
import plotly.express as px  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from analysis import topics  # noqa: E402
from analysis.errors import InputError  # noqa: E402
from analysis.reproduce.correlations import withheld_rows  # noqa: E402
from analysis import instruments as instruments_lib  # noqa: E402
from ui import access, reproduce, state, tables  # noqa: E402
from ui.filters import filter_bar  # noqa: E402
from ui.widgets import (chart, cite, command_text, show_command, download_buttons, guarded,  # noqa: E402
                        survey_source, where_words,
                        plain, stop_unless_loaded, stop_without_roles)

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

SURVEYS = [state.role_survey(iid) for iid in state.SURVEYS]  # public servants, citizens
SERVANTS, CITIZENS = SURVEYS
CORRELATION_FAMILIES = ("attitudes", "skills", "public_service_motivation", "technology_acceptance", "willingness")
GROUPINGS = {"age_band": "Age band", "gender": "Gender", "education": "Education", "role": "Role",
             "org_type": "Organisation type", "area": "Urban / rural", "income": "Income"}


# ------------------------------------------------------------------ cached analysis calls
# Each takes the view's key (``FilterView.key``: data key, threshold, filters) and the view's rows
# unhashed (``_data``), so a rerun neither redoes nor hashes work on a national survey's rows.
@st.cache_data(show_spinner=False, max_entries=32)
def _describe(key: str, iid: str, min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    data = _data
    instrument = state.instrument(iid)
    # this screen's constructs: knowledge, skills and attitudes (research topic 1)
    keys = [c.key for c in instrument.constructs if str(c.topic) == "1"]
    if not keys:
        bundled = instruments_lib.load_instrument(next((i for i in state.SURVEYS if state.role_survey(i) == iid),
                                                       "public_servant"))
        wanted = ", ".join(f"`{c.key}`" for c in bundled.constructs if str(c.topic) == "1")
        raise InputError(f"this survey has none of research topic 1's constructs (knowledge, skills and attitudes: "
                         f"{wanted})", hint="name your scales with these keys on the Data page, or give a scale "
                                            "topic: 1 in the study file")
    return topics.describe_constructs(data, instrument, keys, min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=32)
def _compare_surveys(keys: tuple[str, str], parametric: bool, min_n: int, _servants: pd.DataFrame,
                     _citizens: pd.DataFrame) -> pd.DataFrame:
    return topics.compare_surveys(_servants, state.instrument(SERVANTS), _citizens,
                                  state.instrument(CITIZENS), parametric=parametric, min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=64)
def _compare_groups(key: str, iid: str, outcome: str, group: str, parametric: bool,
                    categorical: bool, min_n: int, _data: pd.DataFrame):
    return topics.compare_groups(_data, outcome, group, parametric=parametric, categorical=categorical,
                                 instrument=state.instrument(iid), min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=32)
def _correlations(key: str, columns: tuple[str, ...], method: str, min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    return topics.correlations(_data, list(columns), method=method, min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=8)
def _withheld(key: str, iid: str, columns: tuple[str, ...], min_n: int, _data: pd.DataFrame) -> dict:
    """The file rows each correlation pair leaves out (for the R script; ``withheld_rows``)."""
    return withheld_rows(state.dataset(iid), _data, list(columns), min_n)


@st.cache_data(show_spinner=False, max_entries=16)
def _left_out(key: str, iid: str, _used: pd.Index) -> pd.Index:
    """The survey's rows outside ``_used`` (named by ``key``), for the reproduce panel."""
    prepared = state.dataset(iid)
    assert prepared is not None
    return prepared.data.index.difference(_used)


def _panel_open(key: str) -> bool:
    """Whether a "Reproduce this analysis" panel is open (``ui.reproduce.panel``: ``{key}_open``);
    what only its script needs (rows left out, 600,000 at national scale) is made only then."""
    return bool(st.session_state.get(f"{key}_open"))


# ------------------------------------------------------------------ helpers
def _compare_command(filters: dict, min_n: int, parametric: bool) -> str:
    """``python -m analysis compare``: servants' survey as DATA, the citizens' beside it (the
    same study file's other survey, or its own data file)."""
    ct_path, ct_chosen = survey_source(CITIZENS)
    other = ({"citizens_survey": CITIZENS} if "survey" in ct_chosen
             else {"citizens": ct_path, "citizens_instrument": CITIZENS})
    return command_text("compare", SERVANTS, filters=filters.get(SERVANTS, {}), min_n=min_n,
                        citizens_where=where_words(filters.get(CITIZENS, {})), nonparametric=not parametric, **other)


def _label(iid: str, key: str) -> str:
    instrument = state.instrument(iid)
    for c in instrument.constructs:
        if c.key == key:
            return c.label
    for d in instrument.demographics:
        if d.id == key:
            return d.id.replace("_", " ").capitalize()
    return GROUPINGS.get(key, key)


def _distribution_chart(data: pd.DataFrame, table: pd.DataFrame, iid: str) -> go.Figure:
    # drawn from the published quartiles and mean only: no whisker or point is one person's score
    fig = go.Figure()
    for row in table[table["n"] > 0].itertuples():
        fig.add_trace(go.Box(y=[row.label], q1=[row.q1], median=[row.median], q3=[row.q3], mean=[row.mean],
                             lowerfence=[row.q1], upperfence=[row.q3], name=row.label, boxpoints=False,
                             orientation="h", marker_color="#2471a3", showlegend=False))
    lo, hi = table["scale_min"].min(), table["scale_max"].max()
    fig.update_layout(title=f"Score distributions, {state.survey_label(iid).lower()} (box: quartiles; "
                            "dashed: mean)", xaxis=dict(range=[lo - 0.1, hi + 0.1], dtick=1, title="scale score"),
                      yaxis=dict(autorange="reversed"), height=80 + 38 * len(table), margin=dict(l=10, t=50))
    return fig


def _effect_chart(table: pd.DataFrame, x: str, label: str, title: str) -> go.Figure:
    fig = go.Figure(go.Scatter(
        x=table["effect_size"], y=table[label], mode="markers", marker=dict(size=12, color="#2471a3"),
        error_x=dict(type="data", symmetric=False, array=table["ci_high"] - table["effect_size"],
                     arrayminus=table["effect_size"] - table["ci_low"])))
    fig.add_vline(x=0, line_dash="dash", line_color="#888")
    fig.update_layout(title=title, xaxis_title=x, height=120 + 60 * len(table), margin=dict(l=10, t=50),
                      yaxis=dict(autorange="reversed"))
    return fig


def _heatmap(table: pd.DataFrame, labels: dict) -> go.Figure:
    keys = list(dict.fromkeys(table["x"].tolist() + table["y"].tolist()))
    matrix = pd.DataFrame(1.0, index=keys, columns=keys)
    for row in table.itertuples():
        matrix.loc[row.x, row.y] = matrix.loc[row.y, row.x] = row.r
    names = [labels.get(k, k) for k in keys]
    fig = px.imshow(matrix.to_numpy(), x=names, y=names, zmin=-1, zmax=1, color_continuous_scale="RdBu",
                    text_auto=".2f", aspect="auto")
    fig.update_layout(height=220 + 45 * len(keys), margin=dict(t=30), coloraxis_colorbar=dict(title="r"))
    return fig


# ------------------------------------------------------------------ the page
prepared = {iid: state.dataset(iid) for iid in SURVEYS}
frames = {iid: (p.data if p is not None else None) for iid, p in prepared.items()}
stop_without_roles(SURVEYS)
stop_unless_loaded(frames)
min_n = state.min_n()
view = filter_bar("s1", frames, ["org", "muni", "gender", "age", "edu", "role", "orgtype", "area"], min_n=min_n)
available = [iid for iid in SURVEYS if view.get(iid) is not None]



def _survey_choice(where, key: str) -> str:
    """Which survey a section shows (kept in the address); the first one the view holds by default."""
    chosen = where.segmented_control("Survey", available, format_func=state.survey_label, key=key,
                                     bind="query-params", default=available[0], required=True)
    return chosen if chosen in available else available[0]


# ---- 1. distributions
st.header("Score distributions per construct")
if available:
    iid = _survey_choice(st, "s1_dist")
    with guarded("describing the scores"):
        data = view.get(iid)
        table = _describe(view.key(iid), iid, min_n, data)
        chart(_distribution_chart(data, table, iid), key="s1_dist_chart")
        if table["n"].max() == 0:
            st.info("Too few respondents to show in this view.", icon=":material/lock:")
            st.stop()
        top, low = table.loc[table["mean"].idxmax()], table.loc[table["mean"].idxmin()]
        plain(f"Among {state.survey_label(iid).lower()} ({int(table['n'].max())} respondents in view), the highest "
              f"mean is {top['label'].lower()} ({top['mean']:.2f} on {top['scale_min']}-{top['scale_max']}, middle "
              f"half {top['q1']:.2f} to {top['q3']:.2f}) and the lowest {low['label'].lower()} ({low['mean']:.2f}). "
              "Each box spans the middle half of the respondents (first to third quartile), the line is the "
              "median and the dashed line the mean; a scale's middle answer (3 on 1-5) is neither agreeing "
              "nor disagreeing.")
        shown = table.drop(columns=["reading"])
        tables.table(shown, "s1_dist_table", digits={"mean_0_100": 1})
        download_buttons(shown, f"score_distributions_{iid}", key="s1_dist")
        show_command(command_text("topics", iid, section="distributions", filters=view.filters.get(iid, {}),
                                  min_n=min_n))
else:
    st.info("No survey has a view to show with the current filters.", icon=":material/lock:")

test_kind = st.radio("Tests", ["parametric", "rank-based"], key="s1_test", bind="query-params", horizontal=True,
                     captions=["Welch t / Welch ANOVA with Hedges g / eta squared",
                               "Mann-Whitney U / Kruskal-Wallis with rank-biserial r / epsilon squared"],
                     help="Rank-based tests do not assume normally distributed scores; they compare "
                          "the ordering of the answers rather than the means.")
parametric = test_kind != "rank-based"

# ---- 2. servants vs citizens
st.header("Public servants and citizens on the shared constructs")
if view.get(SERVANTS) is not None and view.get(CITIZENS) is not None:
    with guarded("comparing public servants and citizens"):
        both = _compare_surveys((view.key(SERVANTS), view.key(CITIZENS)), parametric, min_n, view.get(SERVANTS),
                                view.get(CITIZENS))
        effect = both["effect"].iloc[0]
        chart(_effect_chart(both, f"{effect} (positive: public servants higher)", "label",
                                      f"Public servants vs citizens: {effect} with 95% CI"), key="s1_surveys_chart")
        plain(" ".join(both["reading"]) + (
            " Hedges g is the difference in means in standard deviations (about 0.2 small, 0.5 medium, "
            "0.8 large; Cohen 1988)." if parametric else
            " The rank-biserial r is the difference between the chance that a public servant scores higher "
            "than a citizen and the reverse (-1 to 1)."))
        shown = both.drop(columns=["reading"])
        tables.table(shown, "s1_surveys_table")
        download_buttons(shown, "servants_vs_citizens", key="s1_surveys")
        cite("Welch (1947) t test; Hedges & Olkin (1985) g with its CI; pingouin (Vallat 2018). "
             "R: t.test(var.equal = FALSE), effectsize::hedges_g")
        show_command(_compare_command(view.filters, min_n, parametric))
else:
    st.info("Both surveys are needed (and a view of each that the filters allow) to compare them.",
            icon=":material/info:")

# ---- 3. group comparisons
st.header("Group comparisons")
if available:
    cols = st.columns(3)
    cmp_iid = _survey_choice(cols[0], "s1_cmp_survey")
    data = view.get(cmp_iid)
    instrument = state.instrument(cmp_iid)
    scores = [c.key for c in instrument.constructs if c.key in data.columns and c.kind != "binary"]
    categorical_outcomes = [d.id for d in instrument.demographics if d.type == "categorical" and d.id in data.columns]
    groupings = [g for g in GROUPINGS if g in data.columns or (g == "age_band" and "age" in data.columns)]
    with cols[1]:
        outcome = st.selectbox("Outcome", scores + categorical_outcomes, key="s1_outcome", bind="query-params",
                               format_func=lambda k: _label(cmp_iid, k),
                               help="A scale score (compared by means or ranks) or a background category "
                                    "(compared with a chi-square test).")
    with cols[2]:
        by = st.selectbox("Compare by", groupings, key="s1_by", bind="query-params",
                          format_func=lambda g: GROUPINGS.get(g, g))
    with guarded("comparing the groups"):
        res = None
        if outcome == by:
            st.info("Pick a grouping different from the outcome.", icon=":material/info:")
        else:
            categorical = outcome in categorical_outcomes
            try:
                res = _compare_groups(view.key(cmp_iid), cmp_iid, outcome, by, parametric, categorical, min_n, data)
            except InputError as exc:  # e.g. the filters leave one group: a fact about the view, not a fault
                st.info(f"{exc}.", icon=":material/info:")
                res = None
        if res is not None:
            table = res.groups
            if categorical:
                long = table.melt(id_vars=[by], var_name=outcome, value_name="n")
                fig = px.bar(long, x=by, y="n", color=outcome, barmode="group",
                             title=f"{_label(cmp_iid, outcome)} by {GROUPINGS.get(by, by).lower()} (counts)")
            else:
                shown_groups = table[~table["suppressed"]]
                fig = px.bar(shown_groups, x=by, y="mean", text="n", hover_data=["sd", "median"],
                             title=f"Mean {_label(cmp_iid, outcome).lower()} by {GROUPINGS.get(by, by).lower()} "
                                   "(bar label: n)")
                scale = instrument.construct(outcome).scale
                fig.update_yaxes(range=[scale.min, scale.max])
            chart(fig, key="s1_groups_chart")
            note = " ".join(res.notes)
            plain(f"{_label(cmp_iid, outcome)} by {GROUPINGS.get(by, by).lower()}: {res.reading} "
                  + (f"{note}. " if note else "")
                  + "The test follows the outcome and the number of groups (two groups: Welch t or Mann-Whitney; "
                    "more: Welch ANOVA or Kruskal-Wallis; categories: chi-square with Cramer's V).")
            tables.table(table, "s1_groups_table")
            download_buttons(table, f"compare_{outcome}_by_{by}", key="s1_groups")
            compare_command = command_text("topics", cmp_iid, section="compare", outcome=outcome, by=by,
                                           nonparametric=not parametric, filters=view.filters.get(cmp_iid, {}),
                                           min_n=min_n)
            show_command(compare_command)
            levels_of = {d.id: d.levels for d in instrument.demographics if d.levels}
            compared = f"{view.key(cmp_iid)}:{outcome}:{by}:{parametric}:{categorical}:{min_n}"
            reproduce.panel("groups", cmp_iid, key="s1_groups_reproduce", command=compare_command, cli_script=False,
                            exclude=_left_out(compared, cmp_iid, res.rows) if _panel_open("s1_groups_reproduce")
                            else None, rows_note="the screen's filters and "
                            "groups too small to show", outcome=outcome, group=by, levels=res.levels,
                            parametric=parametric, categorical=categorical, group_labels=levels_of.get(by),
                            outcome_labels=levels_of.get(outcome) if categorical else None)
            cite("Welch (1951) ANOVA; Kruskal & Wallis (1952); Steiger (2004) CIs for eta squared; "
                 "Tomczak & Tomczak (2014) epsilon squared. R: oneway.test, kruskal.test, chisq.test")

# ---- 4. correlations
st.header("How attitudes, skills and motivation go together")
if available:
    cols = st.columns(2)
    cor_iid = _survey_choice(cols[0], "s1_cor_survey")
    with cols[1]:
        method = st.segmented_control("Correlation", ["pearson", "spearman"], key="s1_cor", default="pearson",
                                      bind="query-params",
                                      required=True, help="Spearman: on ranks, for skewed scores.")
    data = view.get(cor_iid)
    instrument = state.instrument(cor_iid)
    keys = [c.key for c in instrument.constructs if (c.family or "") in CORRELATION_FAMILIES and c.key in data.columns]
    labels = {c.key: c.label for c in instrument.constructs}
    with guarded("computing the correlations"):
        cor = _correlations(view.key(cor_iid), tuple(keys), method or "pearson", min_n, data)
        chart(_heatmap(cor, labels), key="s1_cor_chart")
        strongest = cor.loc[cor["r"].abs().idxmax()]
        plain(f"The strongest association is between {labels[strongest['x']].lower()} and "
              f"{labels[strongest['y']].lower()} (r = {strongest['r']:.2f}, 95% CI {strongest['ci_low']:.2f} to "
              f"{strongest['ci_high']:.2f}, n = {int(strongest['n'])}). r runs from -1 to 1; about .1 is small, "
              ".3 medium and .5 large (Cohen 1988). Red cells: higher on one goes with higher on the other.")
        shown = cor.drop(columns=["reading"])
        tables.table(shown, "s1_cor_table")
        download_buttons(shown, f"correlations_{cor_iid}", key="s1_cor")
        cor_command = command_text("topics", cor_iid, section="correlations", columns=keys,
                                   method=method or "pearson", filters=view.filters.get(cor_iid, {}), min_n=min_n)
        show_command(cor_command)
        panel_open = _panel_open("s1_reproduce")
        reproduce.panel("correlations", cor_iid, key="s1_reproduce", command=cor_command, columns=keys,
                        method=method or "pearson",
                        exclude=_left_out(view.key(cor_iid), cor_iid, data.index) if panel_open else None,
                        withheld=_withheld(view.key(cor_iid), cor_iid, tuple(keys), min_n, data) if panel_open else {},
                        rows_note="the screen's filters")
        cite("Perry (1996) public service motivation; pingouin pairwise_corr. R: cor.test")
