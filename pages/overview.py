"""Overview: what is loaded, and where to go next."""
from __future__ import annotations

import plotly.express as px
import streamlit as st

from ui import access, state
from ui.widgets import chart, guarded, page_link, plain, report_buttons

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

PLURAL = {"organisation": "organisations", "municipality": "municipalities"}

st.title("Digital co-production survey dashboard")
st.markdown(
    "Public servants and citizens increasingly produce public services together through digital "
    "tools: reporting a broken streetlight in an app, joining an online citizen forum, voting in an "
    "e-referendum. This dashboard helps researchers check and analyse two surveys about it (one of "
    "**public servants**, nested in organisations, and one of **citizens**, nested in municipalities) "
    "and shows practitioners how ready their organisation is. The screens follow the three topics of "
    "the research agenda set out in the panel call on digital co-production: professionals' and "
    "citizens' knowledge, skills and attitudes; strategic resources and organisational conditions; "
    "and the antecedents, drivers, challenges and outcomes of digital co-production.")

sources = state.sources()
if any(s.is_sample for s in sources.values()):
    st.info("You are looking at the **bundled sample study** (simulated data from a documented "
            "population model; see `sample_data/README.md`). Load your own files on the Data page.",
            icon=":material/science:")

names = state.surveys() or list(state.SURVEYS)
columns = st.columns(len(names))
for column, instrument_id in zip(columns, names):
    label = state.survey_label(instrument_id)
    with column, guarded(f"summarising the {label.lower()} survey"):
        st.subheader(label)
        source = sources.get(instrument_id)
        if source is None:
            st.write("No file loaded yet.")
            continue
        prepared = state.prepare(source)
        instrument = state.instrument(instrument_id)
        data = prepared.data
        st.caption(f"File: `{source.filename}`")
        metrics = st.columns(3)
        metrics[0].metric("Respondents", f"{len(data):,}")
        for metric, (level, column_name) in zip(metrics[1:], instrument.group_columns.items()):
            if column_name in data.columns:
                metric.metric(PLURAL.get(level, level + "s").capitalize(), f"{data[column_name].nunique():,}")
        invited = st.session_state.get("study_invited", {}).get(instrument_id)
        if invited:
            st.metric("Response rate", f"{len(data) / invited:.0%}", help=f"{len(data):,} of {invited:,} invited")
        else:
            st.caption("Response rate: enter the number invited on the Data page to see it.")
        n_problems = len(prepared.report.problems)
        st.caption(f"Data checks: {n_problems} kind(s) of problem found; see the Data page.")
        group_column = next(iter(instrument.group_columns.values()), None)
        if group_column is not None and group_column in data.columns:
            sizes = data.groupby(group_column).size().rename("respondents").reset_index()
            level = next(iter(instrument.group_columns))
            fig = px.histogram(sizes, x="respondents", nbins=30,
                               labels={"respondents": f"respondents per {level}"},
                               title=f"Respondents per {level}")
            fig.update_layout(yaxis_title=f"number of {PLURAL.get(level, level + 's')}", height=300, margin=dict(t=40, b=10))
            chart(fig, key=f"sizes_{instrument_id}")
            small = int((sizes["respondents"] < state.min_n()).sum())
            plain(f"{len(sizes)} {PLURAL.get(level, level + 's')} with a median of {sizes['respondents'].median():.0f} respondents "
                  f"(smallest {sizes['respondents'].min()}, largest {sizes['respondents'].max()}). "
                  f"{small} {level}(s) have fewer than {state.min_n()} respondents: their scores are never "
                  "shown on their own, to protect respondents' privacy.")

st.subheader("Report of this study")
st.caption("One self-contained file with the data summary, the scales' reliability and agreement, and the "
           "research topics' results, in the agenda's order; small groups are left out as on the screens. "
           "Without the dashboard: `python -m analysis report study.yaml --out report.html` on the study file "
           "the Data page gives.")
with guarded("preparing the study report"):
    from analysis.report.study import load_surveys, study_report_bytes

    _study = state.current_study()
    _prepared = {k: p for k in state.surveys() if (p := state.dataset(k)) is not None}
    report_buttons("Download the study report",
                   lambda pdf: study_report_bytes(_study, pdf=pdf, study_path="study.yaml",
                                                  surveys=load_surveys(_study, study_path="study.yaml",
                                                                       prepared=_prepared)),
                   "study_report", key="overview_report")

st.subheader("Where to go next")
page_link("pages/data.py", "Load your own data, map columns and check them", icon=":material/upload_file:")
page_link("pages/measurement.py", "Check scales: reliability, factor structure, agreement",
          icon=":material/straighten:")
page_link("pages/models.py", "Fit multilevel models", icon=":material/account_tree:")
page_link("pages/topic_skills.py", "Topic 1: knowledge, skills and attitudes", icon=":material/psychology:")
page_link("pages/topic_resources.py", "Topic 2: strategic resources and organisational conditions",
          icon=":material/corporate_fare:")
page_link("pages/topic_drivers.py", "Topic 3: antecedents, drivers, challenges and outcomes",
          icon=":material/trending_up:")
page_link("pages/readiness.py", "Practitioners: your organisation's readiness", icon=":material/speed:")
