"""Research topic 2: strategic resources and organisational conditions.

Headless: ``python -m analysis readiness sample_data/public_servants.csv --instrument public_servant
--group org_id --json`` (the screen prints the exact text for its file, filters and threshold).

The readiness dimensions per organisation (privacy-suppressed groups named, never scored),
whether aggregating them to organisations is justified (rwg(j), ICC(1)/ICC(2)), how readiness
relates to public servants' engagement in digital co-production (organisation means and the
prepared multilevel model, openable in the Models screen), and resources/training vs skills.
Every number comes from ``analysis.readiness``, ``analysis.aggregation``, ``analysis.topics``
and ``analysis.mixed``; the filter bar (``ui.filters``) applies to all of them.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

st.title("2 · Strategic resources and organisational conditions")
st.markdown(
    "Is the organisation ready for digital co-production: a people-centred strategy, adaptive "
    "structures, flexible work, money, trained staff, supportive leaders and rules that fit? This "
    "screen compares the organisations on these readiness dimensions (answers of their public "
    "servants, 0-100), checks that colleagues agree enough to speak of an organisation's readiness, "
    "and asks whether more ready organisations have more engaged staff.")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.express as px  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from analysis import topics  # noqa: E402
from analysis.formatting import num, p_text  # noqa: E402
from analysis.mixed import fit  # noqa: E402
from analysis.readiness import LOW_AGREEMENT, readiness  # noqa: E402
from ui import access, reproduce, state, tables  # noqa: E402
from ui.filters import filter_bar, survey_partition, with_age_band  # noqa: E402
from ui.widgets import (chart, cite, command_text, show_command, download_buttons, guarded,  # noqa: E402
                        page_link, plain, stop_without_roles)

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

INSTRUMENT = state.role_survey("public_servant")  # the study's survey of public servants
SUPPRESSED_TEXT = "fewer than {min_n} respondents"


# ------------------------------------------------------------------ cached analysis calls
# Each takes a key naming its rows (the survey's ``ui.state.data_key``, or the filtered view's
# ``FilterView.key``) and the rows themselves unhashed (``_data``): a rerun neither redoes nor
# hashes work on a national survey's rows.
@st.cache_data(show_spinner="Computing readiness per organisation...", max_entries=32)
def _readiness(key: str, group: str, min_n: int, filters_json: str, _data: pd.DataFrame):
    return readiness(_data, state.instrument(INSTRUMENT), group, min_n=min_n, filters=json.loads(filters_json),
                     partition=survey_partition(key, INSTRUMENT, min_n, _data))  # the filter bar's


@st.cache_data(show_spinner=False, max_entries=32)
def _engagement_by_org(key: str, group: str, outcome: str, min_n: int, hidden: tuple, _data: pd.DataFrame):
    scale = state.instrument(INSTRUMENT).construct(outcome).scale
    return topics.organisation_means(_data, group, outcome, scale, min_n=min_n, hidden=hidden)


@st.cache_data(show_spinner=False, max_entries=32)
def _dimension_agreement(key: str, group: str, shown_groups: tuple, min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    return topics.dimension_agreement(_data, state.instrument(INSTRUMENT), group, shown_groups, min_n=min_n)


@st.cache_resource(show_spinner="Fitting the engagement model...", max_entries=8, ttl=3600)
def _engagement_model(key: str, group: str, min_n: int, _data: pd.DataFrame):
    """The model's spec (its table: one row per respondent used) and fit, shared read-only
    (a resource: not copied out of the cache at every rerun)."""
    spec = topics.engagement_model(_data, state.instrument(INSTRUMENT), group=group, min_n=min_n)
    return spec, fit(spec.formula, spec.data, family=spec.family)


@st.cache_data(show_spinner=False, max_entries=32)
def _correlations(key: str, columns: tuple[str, ...], min_n: int, _data: pd.DataFrame) -> pd.DataFrame:
    return topics.correlations(_data, list(columns), min_n=min_n)


@st.cache_data(show_spinner=False, max_entries=16)
def _left_out(key: str, _used: pd.Index) -> pd.Index:
    """The survey's rows outside ``_used`` (named by ``key``), for the reproduce panel."""
    prepared = state.dataset(INSTRUMENT)
    assert prepared is not None
    return prepared.data.index.difference(_used)


# ------------------------------------------------------------------ helpers
def _listed(result) -> pd.Series:
    """Organisations listed: those with scores, and, without filters, those withheld."""
    has = result.groups["n"].fillna(0).astype(float) > 0
    return has | (result.groups["suppressed"] & (not result.filters))


def _short(label: str) -> str:
    text = label.split(":", 1)[1].strip() if ":" in label else label
    return text[:1].upper() + text[1:]


MAX_LABELLED_ROWS = 80  # organisations drawn with their names and numbers in the heatmap


def _heatmap(result, min_n: int) -> go.Figure:
    groups = result.groups[_listed(result)]  # organisations outside the filtered view have no row
    names = [_short(result.labels[k]) for k in ["index", *result.dimensions] if k != "index"]
    columns = ["index", *result.dimensions]
    z = groups[columns].to_numpy(dtype=float)
    text = np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.0f}")(np.nan_to_num(z)))
    hover = []  # one row per organisation (2,000 in a national survey): plain columns, not iterrows
    for row, name, suppressed, kind in zip(z, groups["group"].tolist(), groups["suppressed"].tolist(),
                                           groups["suppression"].tolist()):
        if suppressed:
            reason = (SUPPRESSED_TEXT.format(min_n=min_n) if kind == "primary"
                      else f"withheld to protect a group of {SUPPRESSED_TEXT.format(min_n=min_n)}")
            hover.append([f"organisation {name}: {reason}"] * len(columns))
        else:
            hover.append([f"organisation {name}: {v:.1f}" if np.isfinite(v) else
                          f"organisation {name}: too few answers" for v in row])
    labels = [f"{g} ({SUPPRESSED_TEXT.format(min_n=min_n)})" if s == "primary" else
              (f"{g} (withheld for privacy)" if s else f"{g}")
              for g, s in zip(groups["group"], groups["suppression"])]
    # Up to MAX_LABELLED_ROWS organisations: a row each with its numbers. More (a national survey's
    # 2,000): the cells without numbers and the rows without names in a fixed height, values on
    # hover; 14,000 cell labels in a 44,000-pixel figure took the browser seconds at every visit.
    labelled = len(groups) <= MAX_LABELLED_ROWS
    fig = go.Figure(go.Heatmap(z=z, x=["Readiness index", *names], y=labels,
                               text=text if labelled else None, texttemplate="%{text}" if labelled else None,
                               hovertext=hover, hoverinfo="text", zmin=0, zmax=100, colorscale="Blues",
                               colorbar=dict(title="0-100")))
    fig.update_layout(height=220 + 22 * len(groups) if labelled else 900,
                      yaxis=dict(autorange="reversed", type="category", showticklabels=labelled),
                      xaxis=dict(side="top", tickangle=-30), margin=dict(t=120, l=10))
    return fig


# ------------------------------------------------------------------ the page
stop_without_roles([INSTRUMENT])
prepared = state.dataset(INSTRUMENT)
if prepared is None:
    st.warning("No public-servant survey is loaded (or it could not be read). Load it on the Data page.",
               icon=":material/upload_file:")
    page_link("pages/data.py", "Load and check data", icon=":material/upload_file:")
    st.stop()
min_n = state.min_n()
instrument = state.instrument(INSTRUMENT)
# the organisation column, or an own study's first declared group (innermost level)
group = instrument.group_columns.get("organisation") or next(iter(instrument.group_columns.values()), "org_id")
full = with_age_band(prepared.data, state.data_key(INSTRUMENT))  # made once, then shared
view = filter_bar("s2", {INSTRUMENT: full}, ["org", "muni", "gender", "age", "role", "orgtype"], min_n=min_n)
data = view.get(INSTRUMENT)
if data is None:
    st.stop()

result = None
with guarded("computing readiness per organisation"):
    result = _readiness(state.data_key(INSTRUMENT), group, min_n,
                        json.dumps(view.filters.get(INSTRUMENT, {}), default=float, sort_keys=True), full)

# ---- 1. readiness per organisation
st.header("Readiness dimensions per organisation")
show_command(command_text("readiness", INSTRUMENT, group=group, filters=view.filters.get(INSTRUMENT, {}),
                          min_n=min_n))
if result is not None:
    shown = result.groups[~result.groups["suppressed"] & (_listed(result))]
    bench = result.benchmark.set_index("measure")
    st.caption("Readiness per organisation (0-100); blank rows are withheld for privacy."
               + (f" {int(_listed(result).sum()):,} organisations: hover over a row for its organisation and values; "
                  "the table below lists them all." if int(_listed(result).sum()) > MAX_LABELLED_ROWS else ""))
    chart(_heatmap(result, min_n), key="s2_heatmap")
    dims_sorted = bench.drop(index="index").sort_values("median")
    in_view = int((_listed(result)).sum())
    plain(f"{len(shown)} organisations can be shown (of {in_view} in view; the others have fewer than {min_n} "
          f"respondents in this view, or would let such a group be worked out, so they show no number). The median "
          f"organisation's readiness index is {bench.loc['index', 'median']:.0f} out of 100 (middle half "
          f"{bench.loc['index', 'q1']:.0f} to {bench.loc['index', 'q3']:.0f}). Organisations are weakest on "
          f"{_short(dims_sorted['label'].iloc[0]).lower()} (median {dims_sorted['median'].iloc[0]:.0f}) and strongest "
          f"on {_short(dims_sorted['label'].iloc[-1]).lower()} (median {dims_sorted['median'].iloc[-1]:.0f}). "
          "A score is the average answer moved to 0-100 (0 = lowest answer on every question).")
    keep = ["group", "n", "suppressed", "suppression", "index", *result.dimensions, "rwg", "low_agreement"]
    names = {"group": "organisation", **{k: _short(result.labels[k]) for k in result.dimensions}}
    table = result.groups.loc[_listed(result), keep].rename(columns=names)
    tables.table(table, "s2_table", decimals=1, digits={"rwg": 2})
    download_buttons(table, "readiness_per_organisation", key="s2_table")
    page_link("pages/readiness.py", "One organisation in detail: the practitioners' readiness view",
              icon=":material/speed:")

    # ---- 2. agreement
    st.header("Can readiness be read as an organisation's property?")
    icc = result.icc.copy()
    if len(shown) >= 2:
        with guarded("computing agreement per dimension"):
            per_dim = _dimension_agreement(view.key(INSTRUMENT), group, tuple(shown["group"].tolist()), min_n, data)
            icc = icc.merge(per_dim, on="dimension", how="left")
    rwg = shown["rwg"].dropna()
    low = int((rwg < LOW_AGREEMENT).sum())
    fig = go.Figure()
    fig.add_bar(x=[_short(l) for l in icc["label"]], y=icc["icc1"], name="ICC(1)")
    fig.add_bar(x=[_short(l) for l in icc["label"]], y=icc["icc2"], name="ICC(2)")
    fig.add_hline(y=0.70, line_dash="dash", line_color="#888", annotation_text="ICC(2) .70")
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1]), title="ICC(1) and ICC(2) per readiness dimension",
                      height=380, margin=dict(t=60))
    chart(fig, key="s2_icc_chart")
    agreement_text = (f"Agreement within organisations: median rwg(j) {rwg.median():.2f} over {len(rwg)} organisations "
                      f"shown; {low} below .70, where colleagues do not share a view (James, Demaree & Wolf 1984; "
                      "LeBreton & Senter 2008). " if len(rwg) else "No organisation in view has an agreement index. ")
    if "rwg_j_mean" in icc.columns and icc["rwg_j_mean"].notna().any():
        weakest = icc.loc[icc["rwg_j_mean"].idxmin()]
        agreement_text += (f"Per dimension, the mean rwg(j) ranges from {icc['rwg_j_mean'].min():.2f} "
                           f"({_short(weakest['label']).lower()}) to {icc['rwg_j_mean'].max():.2f}. ")
    if icc["icc1"].notna().any():
        agreement_text += (f"ICC(1) (share of the variance that lies between organisations) ranges from "
                           f"{icc['icc1'].min():.2f} to {icc['icc1'].max():.2f}; ICC(2) (reliability of an "
                           f"organisation's mean) from {icc['icc2'].min():.2f} to {icc['icc2'].max():.2f}. ICC(2) of "
                           ".70 or more means the organisation means can be compared (Bliese 2000).")
    else:
        agreement_text += "ICC(1) and ICC(2) compare organisations, so they need at least two in view."
    plain(agreement_text)
    tables.table(icc, "s2_icc_table")
    download_buttons(icc, "readiness_icc", key="s2_icc")
    cite("James, Demaree & Wolf (1984) rwg(j); Bliese (2000) ICC(1)/ICC(2); R: multilevel::rwg.j, multilevel::ICC1")

# ---- 3. readiness and engagement
st.header("Readiness and public servants' engagement in digital co-production")
engagement = next((c for c in instrument.constructs if c.family == "engagement"), None)
if result is not None and engagement is not None and engagement.key in data.columns and data[group].nunique() < 2:
    st.info("This view holds a single organisation; relating readiness to engagement compares several. "
            "Widen the organisation filter.", icon=":material/info:")
elif result is not None and engagement is not None and engagement.key in data.columns:
    with guarded("relating readiness to engagement"):
        hidden = tuple(result.groups.loc[result.groups["suppressed"], "group"].tolist())
        eng = _engagement_by_org(view.key(INSTRUMENT), group, engagement.key, min_n, hidden, data)
        readiness_shown = result.groups.loc[~result.groups["suppressed"], ["group", "n", "index"]].astype({"n": float})
        both = (readiness_shown.assign(group=readiness_shown["group"].astype(str))
                .merge(eng.loc[~eng["suppressed"], ["group", "mean"]].astype({"group": str}), on="group")
                .rename(columns={"index": "readiness_index", "mean": f"mean_{engagement.key}"})
                .dropna())
        fig = px.scatter(both, x="readiness_index", y=f"mean_{engagement.key}", size="n", hover_name="group",
                         labels={"readiness_index": "readiness index (0-100)",
                                 f"mean_{engagement.key}": f"mean {engagement.label.lower()}"},
                         title="Organisation means (point size: respondents); organisations withheld for privacy "
                               "are left out")
        chart(fig, key="s2_scatter")
        plain(f"Each point is one of the {len(both)} organisations whose scores can be shown: its readiness index "
              f"(0-100) against its staff's mean {engagement.label.lower()} (1-5). Points rising to the right would "
              "mean that more ready organisations have more engaged staff; the model below tests this while "
              "separating differences between organisations from differences between colleagues.")
        download_buttons(both, "readiness_and_engagement_by_organisation", key="s2_scatter")
    with guarded("fitting the engagement model"):
        spec, model = _engagement_model(view.key(INSTRUMENT), group, min_n, data)
        fixed = model.fixed_table()
        tables.table(fixed, "s2_model_table", decimals=3)
        download_buttons(fixed, "engagement_model", key="s2_model")
        row = fixed.set_index("term")
        between, within = row.loc["c_gm_readiness_index"], row.loc["cwc_readiness_index"]
        plain(f"Multilevel model `{spec.formula}` on {model.n_obs} public servants in "
              f"{next(iter(model.groups.values()))} organisations: 10 points more readiness of the organisation go "
              f"with {10 * between['estimate']:+.2f} on the engagement scale (95% CI {10 * between['ci_low']:+.2f} to "
              f"{10 * between['ci_high']:+.2f}, {p_text(between['p'])}); a servant who sees the organisation as 10 "
              f"points more ready than the colleagues do reports {10 * within['estimate']:+.2f} (95% CI "
              f"{10 * within['ci_low']:+.2f} to {10 * within['ci_high']:+.2f}). ICC of the model: {num(model.icc, 2)}. "
              + spec.note)
        cite("Enders & Tofighi (2007) centring within and between organisations; lmerTest (Kuznetsova et al. 2017) "
             "Satterthwaite df. R: lmerTest::lmer")
        engagement_command = command_text("topics", INSTRUMENT, section="engagement", group=group,
                                          filters=view.filters.get(INSTRUMENT, {}), min_n=min_n)
        show_command(engagement_command)
        reproduce.panel("mixed", INSTRUMENT, key="s2_reproduce", formula=spec.formula, reml=True, family=spec.family,
                        command=engagement_command,
                        exclude=(_left_out(f"{view.key(INSTRUMENT)}:{group}:{min_n}", spec.data.index)
                                 if st.session_state.get("s2_reproduce_open") else None),  # only the open panel uses it
                        rows_note="the screen's filters, small organisations and respondents missing a variable")
        models_formula = f"{engagement.key} ~ cwc_readiness_index + c_gm_readiness_index + (1 | {group})"
        st.markdown(f"[Open this model in the Models screen](/models?"
                    f"{urlencode({'survey': INSTRUMENT, 'formula': models_formula, 'family': 'gaussian'})}) "
                    f"(as `{models_formula}`, the same 0-100 readiness index; there no organisation is left out).")

# ---- 4. resources and training vs skills
st.header("Resources and training vs digital skills")
skills = [c.key for c in instrument.constructs if c.family == "skills" and c.key in data.columns]
resources = [c.key for c in instrument.readiness_dimensions
             if any(w in c.key for w in ("training", "finance")) and c.key in data.columns]
if skills and resources:
    with guarded("relating resources and training to skills"):
        labels = {c.key: c.label for c in instrument.constructs}
        cor = _correlations(view.key(INSTRUMENT), tuple(resources + skills), min_n, data)
        pairs = cor[cor["y"].isin(skills) & cor["x"].isin(resources)].reset_index(drop=True)
        fig = go.Figure(go.Bar(x=[_short(labels[k]) for k in pairs["x"]], y=pairs["r"],
                               error_y=dict(type="data", symmetric=False, array=pairs["ci_high"] - pairs["r"],
                                            arrayminus=pairs["r"] - pairs["ci_low"])))
        fig.update_layout(title=f"Correlation with {labels[skills[0]].lower()} (r, 95% CI)", yaxis=dict(range=[-1, 1]),
                          height=360, margin=dict(t=60))
        chart(fig, key="s2_skills_chart")
        plain(" ".join(f"{_short(labels[r.x])} and {labels[r.y].lower()}: r = {r.r:.2f} (95% CI {r.ci_low:.2f} to "
                       f"{r.ci_high:.2f}, n = {r.n})." for r in pairs.itertuples())
              + " Servants who see more training and resources in their organisation rate their own digital "
                "skills accordingly only where r is clearly above 0 (about .1 small, .3 medium; Cohen 1988). "
                "A correlation between individuals says nothing about cause.")
        shown = pairs.drop(columns=["reading"])
        tables.table(shown, "s2_skills_table")
        download_buttons(shown, "resources_training_vs_skills", key="s2_skills")
        show_command(command_text("topics", INSTRUMENT, section="correlations", columns=resources + skills,
                                  filters=view.filters.get(INSTRUMENT, {}), min_n=min_n))
