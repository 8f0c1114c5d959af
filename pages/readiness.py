"""Practitioners' readiness view: how ready is one organisation for digital co-production,
next to all the others, without showing anyone's answers.

Headless: ``python -m analysis readiness sample_data/public_servants.csv --instrument public_servant
--group org_id --by gender --benchmark all --lookup sample_data/organisations.csv --min-n 5 --json``
(the screen prints the exact text for its file, breakdown, benchmark and threshold).

Every number comes from ``analysis.readiness_view.practitioners_view`` (``analysis.readiness``:
index, dimension scores with CIs, agreement, benchmark, "where to start" with the literature's
enablers; ``analysis.readiness_questions``: shares favourable per question;
``analysis.readiness_breakdown``: cells by a demographic; ``analysis.organisations``: names and
types); privacy is enforced there (``analysis.privacy``). This page only picks the organisation
(in the URL as ``?org=<id>``, or its name), the benchmark and the breakdown, and renders what
the library returned. For a suppressed organisation it renders no score, chart, percentile, CI
or group size at all.
"""
from __future__ import annotations



import streamlit as st

st.title("How ready is your organisation for digital co-production?")
st.markdown(
    "This view is for managers and practitioners. Pick your organisation to see its **readiness "
    "index**, how it scores on each readiness dimension, whether its staff share a view, how it "
    "compares with all other organisations in the study, and **where to start**, with what the research "
    "literature reports about each dimension. Only averages of groups large enough to protect privacy "
    "are shown; nobody's individual answers are.")

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from analysis.organisations import organisations, read_lookup  # noqa: E402
from analysis.readiness import LOW_AGREEMENT  # noqa: E402
from analysis.readiness_breakdown import breakdown_columns  # noqa: E402
from analysis.readiness_questions import SHARES  # noqa: E402
from analysis.readiness_view import practitioners_view  # noqa: E402
from analysis.readiness_waves import WAVE, wave_values  # noqa: E402
from ui import access, reproduce, state, tables  # noqa: E402
from ui.widgets import (chart, cite, command_text, show_command, download_buttons, guarded,  # noqa: E402
                        page_link, plain, report_buttons)

access.enter()  # before any widget: navigation, the link's study and role (ui.access)

INSTRUMENT = "public_servant"
ORG_COLOUR, BAND_COLOUR, MEDIAN_COLOUR = "#2471a3", "rgba(127,127,127,0.25)", "#555555"
SHARE_COLOURS = {"favourable": "#1e8449", "neutral": "#b3b6b7", "unfavourable": "#c0392b"}
COMPARISONS = {"all": "All organisations", "type": "Same type of organisation", "parent": "Same parent"}


# ------------------------------------------------------------------ cached analysis call

# Each takes a key naming the survey's rows (``ui.state.data_key``: the file's digest and every
# decision that shaped the data) and the rows themselves unhashed (``_data``): a rerun neither
# redoes nor hashes work on a national survey's 600,000 rows.
@st.cache_data(show_spinner="Computing readiness per organisation...", max_entries=16)
def _view(key: str, instrument_id: str, group: str, min_n: int, comparison: str, by: str | None,
          lookup: tuple[str, bytes] | None, wave, _data: pd.DataFrame):
    names = read_lookup(lookup[1], filename=lookup[0]) if lookup else None
    return practitioners_view(_data, state.instrument(instrument_id), group, min_n=min_n, comparison=comparison,
                              by=by, lookup=names, lookup_file=lookup[0] if lookup else "organisations.csv", wave=wave)


@st.cache_data(show_spinner=False, max_entries=16)
def _choices(key: str, instrument_id: str, group: str, lookup: tuple[str, bytes] | None, _data: pd.DataFrame):
    """The columns an organisation can be broken down by and the organisations' names and types."""
    instrument_ = state.instrument(instrument_id)
    if group not in _data.columns:
        return [], None
    return (breakdown_columns(_data, instrument_, group),
            organisations(_data, group, instrument=instrument_,
                          lookup=read_lookup(lookup[1], filename=lookup[0]) if lookup else None))


def _lookup(instrument_id: str) -> tuple[str, bytes] | None:
    """The survey's lookup of names and types: the study's own (its ``lookup`` key, the file saved
    or uploaded with it), else the bundled sample's (``sample_data/organisations.csv``)."""
    source = state.sources()[instrument_id]
    if source.lookup and source.lookup_content is not None:
        return source.lookup["file"], source.lookup_content
    path = state.SAMPLE_DIR / "organisations.csv"
    return (path.name, path.read_bytes()) if source.is_sample and path.is_file() else None


def _readiness_input(data: pd.DataFrame, instrument, group_column: str) -> pd.DataFrame:
    """Only the columns readiness needs, so the cache hashes less and nothing else travels: the
    items and the columns of the survey's disclosure partition (``analysis.privacy``), which
    must be the same as on every other screen, and the pipeline's readiness scores."""
    items = [it.id for c in instrument.readiness_dimensions for it in c.items if it.id in data.columns]
    items += [c.key for c in instrument.readiness_dimensions if c.key in data.columns]
    # the columns privacy.disclosure_columns may choose (groups, categorical demographics, the
    # age band) and age, taken as they are: the partition picks among them, so their levels
    # need not be counted here at every rerun
    demographics_ = [d.id for d in (getattr(instrument, "demographics", []) or [])
                     if getattr(d, "type", "categorical") != "numeric"]
    roles = [c for c in [*(getattr(instrument, "group_columns", {}) or {}).values(), *demographics_, "age_band", "age"]
             if c in data.columns]
    stem = group_column.removesuffix("_id")
    roles += [c for c in (f"{stem}_name", f"{stem}_type", WAVE) if c in data.columns]  # names, types, waves
    keep = list(dict.fromkeys(([group_column] if group_column in data.columns else []) + roles + items))
    return data[keep]


# ------------------------------------------------------------------ rendering helpers

def _fmt(value, digits: int = 1) -> str:
    return "not available" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _short(label: str) -> str:
    """'Readiness: staff training' -> 'Staff training' (the section already says readiness)."""
    text = label.split(":", 1)[1].strip() if ":" in label else label
    return text[:1].upper() + text[1:]


def _against(view, org) -> str:
    """'all organisations' or 'organisations of the same type (Municipal administration)'."""
    comparator = view.comparator(org)
    if view.comparison == "type" and comparator != "all organisations":
        return f"organisations of the same type ({comparator})"
    if view.comparison == "parent" and comparator != "all organisations":
        return f"organisations under {comparator}"
    return "all organisations"


def _dimension_table(view, row: pd.Series, org) -> pd.DataFrame:
    """One row per dimension of the organisation, with its benchmark (all from the library)."""
    result = view.readiness
    bench = view.benchmark_for(org).set_index("measure")
    pct = view.percentiles_for(org).set_index("measure")
    rows = []
    for key in result.dimensions:
        rows.append({
            "dimension": _short(result.labels[key]),
            "score": row[key], "ci_low": row[f"{key}_ci_low"], "ci_high": row[f"{key}_ci_high"],
            "n": int(row[f"{key}_n"]),
            "percentile": pct.loc[key, "percentile"] if key in pct.index else float("nan"),
            "median": bench.loc[key, "median"], "q1": bench.loc[key, "q1"], "q3": bench.loc[key, "q3"],
            "key": key,
        })
    return pd.DataFrame(rows)


def _radar(table: pd.DataFrame, name: str, against: str) -> go.Figure:
    theta = table["dimension"].tolist()
    closed = theta + theta[:1]

    def loop(values):
        v = list(values)
        return v + v[:1]

    fig = go.Figure()
    # The interquartile band as one ring: out along Q3, back along Q1 (opposite winding).
    fig.add_trace(go.Scatterpolar(r=loop(table["q3"]) + loop(table["q1"])[::-1], theta=closed + closed[::-1],
                                  mode="lines", fill="toself", fillcolor=BAND_COLOUR, line=dict(width=0),
                                  name="middle half of organisations (Q1-Q3)", hoverinfo="skip"))
    fig.add_trace(go.Scatterpolar(r=loop(table["median"]), theta=closed, name="median organisation",
                                  line=dict(color=MEDIAN_COLOUR, dash="dash")))
    fig.add_trace(go.Scatterpolar(r=loop(table["score"]), theta=closed, name=name,
                                  line=dict(color=ORG_COLOUR, width=3), marker=dict(size=7)))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 100], tickvals=[0, 25, 50, 75, 100], angle=90,
                                                 tickangle=90, tickfont=dict(size=10)),
                                 angularaxis=dict(rotation=90, direction="clockwise", tickfont=dict(size=11))),
                      title=f"Your organisation against {against}", height=520,
                      legend=dict(x=1.02, y=0.5), margin=dict(t=70, b=40, l=40, r=40))
    return fig


def _bars(table: pd.DataFrame, name: str) -> go.Figure:
    y = table["dimension"].tolist()
    fig = go.Figure()
    fig.add_bar(y=y, x=(table["q3"] - table["q1"]).tolist(), base=table["q1"].tolist(), orientation="h",
                marker_color=BAND_COLOUR, name="middle half of organisations (Q1-Q3)", hoverinfo="skip")
    fig.add_scatter(y=y, x=table["median"].tolist(), mode="markers", name="median organisation",
                    marker=dict(symbol="line-ns-open", size=22, color=MEDIAN_COLOUR, line=dict(width=3)))
    fig.add_scatter(y=y, x=table["score"].tolist(), mode="markers", name=f"{name} (95% CI)",
                    marker=dict(size=12, color=ORG_COLOUR),
                    error_x=dict(type="data", symmetric=False, array=(table["ci_high"] - table["score"]).tolist(),
                                 arrayminus=(table["score"] - table["ci_low"]).tolist(), color=ORG_COLOUR))
    fig.update_layout(xaxis=dict(range=[0, 100], tickvals=[0, 25, 50, 75, 100], title="score (0-100)"),
                      yaxis=dict(autorange="reversed"),
                      title="Each dimension: your score, the median and the middle half", height=420,
                      legend=dict(x=1.02, y=0.5), margin=dict(t=60, b=40), barmode="overlay")
    return fig


def _question_bars(table: pd.DataFrame) -> go.Figure:
    """Stacked shares per question (100% bars) with the benchmark's favourable share marked."""
    y = [f"{t[:60]}..." if len(t) > 60 else t for t in table["text"]]
    fig = go.Figure()
    for share in SHARES:
        fig.add_bar(y=y, x=table[share].tolist(), orientation="h", name=share, marker_color=SHARE_COLOURS[share],
                    hovertemplate="%{x:.0f}%<extra>" + share + "</extra>")
    fig.add_scatter(y=y, x=table["benchmark_favourable"].tolist(), mode="markers", name="benchmark favourable",
                    marker=dict(symbol="line-ns-open", size=18, color="black", line=dict(width=3)))
    fig.update_layout(barmode="stack", xaxis=dict(range=[0, 100], title="% of those who answered"),
                      yaxis=dict(autorange="reversed"), height=110 + 28 * len(table),
                      title="Each question: favourable, neutral, unfavourable", legend=dict(orientation="h", y=-0.1),
                      margin=dict(t=60, b=40))
    return fig


def _questions_section(view, org) -> None:
    st.subheader("Each question: favourable, neutral and unfavourable")
    st.markdown(view.questions.definition)
    table = view.questions.for_group(org)
    chart(_question_bars(table), key="rd_questions_chart")
    shown = table.rename(columns={"text": "question", "favourable": "% favourable", "neutral": "% neutral",
                                  "unfavourable": "% unfavourable", "benchmark_favourable": "benchmark % favourable",
                                  "difference": "difference (points)", "n_groups": "organisations compared"})
    shown["dimension"] = [_short(x) for x in shown["label"]]
    shown = shown[["dimension", "question", "n", "% favourable", "% neutral", "% unfavourable",
                   "benchmark % favourable", "difference (points)", "organisations compared"]]
    pct = st.column_config.NumberColumn(format="%.0f")
    tables.table(shown, "rd_questions", column_config={
        c: pct for c in ["% favourable", "% neutral", "% unfavourable", "benchmark % favourable"]} | {
        "difference (points)": st.column_config.NumberColumn(format="%+.0f"),
        "n": st.column_config.NumberColumn("n (answered)", format="%d")})
    download_buttons(shown, f"readiness_questions_org_{org}", key="rd_questions")
    st.caption(f"Benchmark: median share of {_against(view, org)} whose share can be shown. A question answered by "
               f"too few people here shows no shares.")
    cite("Cabinet Office (2023), Civil Service People Survey technical guide (percent positive = top two boxes); "
         "OPM (2023), Federal Employee Viewpoint Survey, percent positive")


def _breakdown_section(view, org, min_n: int) -> None:
    split = view.breakdown
    st.subheader("Inside the organisation: by group of staff")
    if split is None:
        st.caption("This survey has no staff characteristic to break the organisation down by.")
        return
    cells = split.for_group(org)
    dims = split.dimensions
    shown = cells[["label", "n", "index", *dims]].rename(
        columns={"label": split.by.replace("_", " "), "index": "readiness index",
                 **{k: _short(split.labels[k]) for k in dims}})
    shown.insert(2, "shown", ["not shown: fewer than " + str(min_n) if s == "primary" else
                              "not shown: protects a smaller group" if s == "complementary" else ""
                              for s in cells["suppression"]])
    tables.table(shown, "rd_breakdown", column_config={
        c: st.column_config.NumberColumn(format="%.1f") for c in shown.columns[3:]} | {
        "n": st.column_config.NumberColumn(format="%d")})
    st.caption(f"A group with fewer than {min_n} respondents is not shown, nor a group whose numbers would let it "
               "be worked out by subtraction from the organisation's total (complementary suppression), so the "
               "groups' n can add up to less than the organisation's. Scores are on the 0-100 scale above.")
    cite("Hundepool et al. (2012), Statistical Disclosure Control, sec. 4.4 (complementary suppression)")


def _trend(trend: pd.DataFrame, labels: dict) -> go.Figure:
    """The organisation's index and dimension scores over the waves (one line each)."""
    fig = go.Figure()
    for measure, sub in trend.groupby("measure", sort=False):
        name = "Readiness index" if measure == "index" else _short(labels.get(measure, measure))
        fig.add_scatter(x=[str(w) for w in sub["wave"]], y=sub["value"].tolist(), mode="lines+markers", name=name,
                        line=dict(width=4 if measure == "index" else 1.5))
    fig.update_layout(yaxis=dict(range=[0, 100], title="score (0-100)"), xaxis=dict(title="wave", type="category"),
                      title="Over the survey waves", height=420, legend=dict(x=1.02, y=0.5), margin=dict(t=60, b=40))
    return fig


def _waves_section(view, org) -> None:
    waves = view.waves
    if waves is None:
        return
    st.subheader(f"Change since the previous wave ({waves.previous} to {waves.current})"
                 if waves.previous is not None else f"Survey wave {waves.current}")
    trend = waves.trend[waves.trend["group"].astype(str) == str(org)]
    if trend["value"].notna().any():
        chart(_trend(trend, view.readiness.labels), key="rd_trend")
    if waves.previous is None:
        st.caption("This is the first wave: there is no earlier one to compare with.")
        return
    table = waves.for_group(org)
    texts = dict(zip(view.questions.items["item"], view.questions.items["text"]))
    labels = {"index": "Readiness index", **{k: _short(v) for k, v in view.readiness.labels.items()}}
    shown = pd.DataFrame({
        "measure": [labels.get(m) or texts.get(m, m) for m in table["measure"]],
        "what": ["score (0-100)" if k == "score" else "% favourable" for k in table["kind"]],
        str(waves.previous): table["before"], str(waves.current): table["after"],
        "change": table["change"], "p": table["p"],
        "significant (p < .05)": ["" if s is None else ("yes" if s else "no") for s in table["significant"]],
        "test": table["test"]})
    tables.table(shown, "rd_waves", column_config={
        c: st.column_config.NumberColumn(format="%.1f") for c in (str(waves.previous), str(waves.current))} | {
        "change": st.column_config.NumberColumn(format="%+.1f"), "p": st.column_config.NumberColumn(format="%.3f")})
    moved = shown[shown["significant (p < .05)"] == "yes"]
    plain("Significant changes since the last wave: " + "; ".join(
        f"{m} ({w}, {c:+.1f})" for m, w, c in zip(moved["measure"], moved["what"], moved["change"])) + "."
          if len(moved) else "No score or share changed significantly since the last wave (p < .05).")
    st.caption("Each wave is a separate sample: scores are compared with Welch's t-test, shares favourable with the "
               "two-proportion z-test; a blank row had too few respondents in one of the waves.")
    cite("Welch (1947), Biometrika; Agresti (2013), Categorical Data Analysis, sec. 2.1")


def _how_to_read(min_n: int) -> None:
    with st.expander("How to read this", expanded=False):
        st.markdown(
            f"""
- **Dimension score (0-100)**: each person's average answer on the dimension's questions (after
  turning round the negatively worded ones), moved from the answer scale to 0-100, then averaged
  over the organisation's respondents. 0 is the lowest possible answer on every question, 100 the highest.
- **Readiness index (0-100)**: the average of the organisation's dimension scores, so it sits in the
  middle of the bars.
- **Favourable (%)**: the share of the people who answered a question who chose one of its two most
  positive answers (People Survey convention); unfavourable the two most negative, neutral the middle.
- **95% confidence interval (CI)**: the range in which the organisation's true average most likely
  lies, given how many people answered and how much they differ (t-interval). Wide intervals mean
  few respondents or very different answers.
- **Agreement, rwg(j)**: whether the staff of an organisation give similar answers (James, Demaree &
  Wolf 1984). Below .70 they do not share a view, and the average hides different experiences
  (LeBreton & Senter 2008).
- **Benchmark**: the median organisation and the middle half of all organisations, or of the
  organisations of the same type (from the first to the third quartile), over the organisations whose
  scores can be shown. The **percentile** says which share of these organisations score lower (ties
  count half).
- **Privacy**: no score is shown for an organisation where fewer than {min_n} people answered, nor for
  an organisation whose scores would let such a small group be worked out from the totals. These
  organisations are also left out of the benchmark. No individual answers are shown or downloadable.
""")
        cite("James, Demaree & Wolf (1984), Journal of Applied Psychology; LeBreton & Senter (2008), "
             "Organizational Research Methods; Hundepool et al. (2012), Statistical Disclosure Control")


def _share_box(org) -> None:
    st.subheader("Share this view")
    # the study (or the viewer's token), the organisation and the page's choices: ui.access
    st.code(access.view_link(), language=None)
    st.caption("A colleague who opens this link sees the same study and organisation, with the same privacy rules. "
               "For a viewer link that opens only the aggregated screens, use the sidebar's *Make a viewer link*.")


def _suppressed_view(row: pd.Series, name: str, min_n: int) -> None:
    if row["suppression"] == "primary":
        text = (f"Fewer than {min_n} respondents answered in organisation {name}, so no scores are shown "
                "to protect their privacy.")
    else:
        text = (f"No scores are shown for organisation {name}: together with the published totals they would "
                f"let the answers of an organisation where fewer than {min_n} people answered be worked out, "
                "so they are withheld to protect those respondents' privacy.")
    st.warning(text, icon=":material/lock:")
    st.markdown("Ask colleagues to take part in the next round of the survey, or pick another organisation above.")


def _agreement_panel(view) -> None:
    """The R script for the organisations' rwg(j) over all readiness items (``multilevel::rwg.j``
    with the uniform null) on the respondents the view's numbers use (its privacy rule, the wave
    shown). Dimensions on different response ranges get the mean of per-dimension rwg(j) here,
    which that one call does not give, so no script is offered then."""
    dims = [c for c in instrument.readiness_dimensions if any(it.id in data.columns for it in c.items)]
    ranges = {(c.scale.min, c.scale.max) for c in dims}
    if len(ranges) != 1 or view.readiness.rows is None:
        return
    lo, hi = ranges.pop()
    items = [it.id for c in dims for it in c.items if it.id in data.columns]
    reproduce.panel("aggregate", INSTRUMENT, key="rd_reproduce", min_n=min_n, group=group_column, items=items,
                    command=readiness_command,
                    reverse=[], scale_min=lo, scale_max=hi, options=int(hi - lo + 1),
                    exclude=data.index.difference(view.readiness.rows),
                    rows_note="privacy rule" + (", the other waves" if wave is not None else ""))


def _organisation_view(view, row: pd.Series, org, min_n: int) -> None:
    result = view.readiness
    name = view.organisations.name(org)
    against = _against(view, org)
    table = _dimension_table(view, row, org)
    bench = view.benchmark_for(org).set_index("measure")
    pct = view.percentiles_for(org).set_index("measure")
    index_pct = pct.loc["index", "percentile"] if "index" in pct.index else float("nan")

    st.header(name)
    kind = view.organisations.type_of(org)
    st.caption(" · ".join([f"Type: {kind}"] if kind else []) + (" · " if kind else "") + f"id {org}")
    cols = st.columns(4)
    cols[0].metric("Readiness index (0-100)", _fmt(row["index"]),
                   help="Average of the dimension scores below.")
    cols[1].metric("Respondents", f"{int(row['n'])}")
    cols[2].metric("Percentile among organisations", _fmt(index_pct, 0),
                   help=f"Share of {against} with a lower index (ties count half).")
    cols[3].metric("Agreement rwg(j)", _fmt(row["rwg"], 2),
                   help=f"Below {LOW_AGREEMENT:.2f} staff do not share a view (James, Demaree & Wolf 1984).")
    if {"index_ci_low", "index_ci_high"} <= set(row.index) and pd.notna(row["index_ci_low"]):
        st.caption(f"Readiness index 95% CI {_fmt(row['index_ci_low'])} to {_fmt(row['index_ci_high'])}, "
                   f"n = {int(row['n'])} respondents.")
    else:
        st.caption(f"n = {int(row['n'])} respondents. Each dimension's 95% confidence interval is in the "
                   "table below.")
    plain(result.reading(org))
    if pd.notna(row["rwg"]) and row["rwg"] < LOW_AGREEMENT:
        st.warning(f"People in organisation {org} disagree about how ready their organisation is "
                   f"(rwg(j) = {row['rwg']:.2f}, below {LOW_AGREEMENT:.2f}), so the averages hide different "
                   "experiences: read them as an average of different views, not as a shared one.",
                   icon=":material/groups:")
    _agreement_panel(view)
    if pd.isna(row["index"]):
        st.info("Some dimension was answered by too few people here, so that dimension and the index are "
                "withheld; the other dimensions are shown.", icon=":material/lock:")

    st.subheader("Each readiness dimension")
    st.markdown("**Readiness index** = the average of the seven dimension scores; a **dimension score** is the "
                "average of the respondents' mean answers to the dimension's questions (negatively worded ones "
                "turned round), moved from the answer scale to 0-100.")
    shown = table.rename(columns={"ci_low": "95% CI low", "ci_high": "95% CI high",
                                  "median": "median of organisations", "q1": "Q1 of organisations",
                                  "q3": "Q3 of organisations"}).drop(columns="key")
    number = st.column_config.NumberColumn(format="%.1f")
    tables.table(shown, "rd_dimensions", column_config={
        c: number for c in ["score", "95% CI low", "95% CI high", "median of organisations",
                            "Q1 of organisations", "Q3 of organisations"]} | {
        "percentile": st.column_config.NumberColumn(format="%.0f"),
        "n": st.column_config.NumberColumn("n (answered)", format="%d")})
    download_buttons(shown, f"readiness_org_{org}", key="rd_dimensions")

    st.subheader(f"Benchmark against {against}")
    chart(_radar(table, name, against), key="rd_radar")
    chart(_bars(table, name), key="rd_bars")
    n_groups = int(bench.loc["index", "n_groups"])
    best = table.dropna(subset=["score"]).sort_values("percentile", ascending=False)
    if not best.empty:
        top, low = best.iloc[0], best.iloc[-1]
        plain(f"Compared with {n_groups} {against} whose scores can be shown, {name} is "
              f"strongest on {top['dimension'].lower()} ({_fmt(top['score'])}, percentile {_fmt(top['percentile'], 0)}; "
              f"median {_fmt(top['median'])}) and weakest on {low['dimension'].lower()} ({_fmt(low['score'])}, "
              f"percentile {_fmt(low['percentile'], 0)}; median {_fmt(low['median'])}). The grey band is the "
              "middle half of the organisations (first to third quartile, R quantile type 7); a score inside "
              "it is ordinary, not a problem.")

    _waves_section(view, org)
    _questions_section(view, org)
    _breakdown_section(view, org, min_n)

    st.subheader("Where to start")
    start = result.where_to_start(org)
    plain(start.message)
    for item in start.table.itertuples():
        with st.container(border=True):
            st.markdown(f"**{_short(item.label)}**: {item.score:.1f} against a median of {item.median:.1f} "
                        f"({item.gap:+.1f} points; percentile {_fmt(item.percentile, 0)}).")
            st.markdown("What the literature reports about this dimension:")
            st.markdown("\n".join(f"- {e['text']} *({e['kind']}; {e['source']})*" for e in item.enablers))
    if not start.table.empty:
        st.caption("These statements summarise published research on digital co-production; they are "
                   "evidence to weigh for your organisation, not advice made up by this dashboard. The gaps are "
                   "to the median of all organisations.")

    # lazy (issue 15): a national survey's table has 2,000 rows to format, for a panel most never open
    with st.expander("All organisations whose scores can be shown (benchmark table)", key="rd_benchmark_open",
                     on_change="rerun") as benchmark_panel:
        if not benchmark_panel.open:
            return
        keep = ["group", "n", "index", *result.dimensions, "rwg"]
        public = result.groups.loc[~result.groups["suppressed"], keep].rename(
            columns={"group": "organisation", **{k: _short(result.labels[k]) for k in result.dimensions}})
        public.insert(1, "name", [view.organisations.name(g) for g in public["organisation"]])
        public.insert(2, "type", [view.organisations.type_of(g) for g in public["organisation"]])
        tables.table(public, "rd_benchmark", column_config={
            c: st.column_config.NumberColumn(format="%.1f") for c in public.columns
            if c not in ("organisation", "name", "type", "n", "rwg")})
        download_buttons(public, "readiness_benchmark", key="rd_benchmark")
        st.caption("Organisations withheld for privacy are not in this table or in the benchmark.")


def _pick_organisation(groups: pd.DataFrame, names) -> object:
    """The organisation picker, in the URL as ``?org=<id>`` (a name is accepted too)."""
    options = groups["group"].tolist()
    ids = {str(o): o for o in options}
    by_name = {names.name(o).casefold(): o for o in options}
    shown_rows = groups.index[~groups["suppressed"]]
    # Land on an organisation with scores, so the default view is a complete example.
    default = options[int(groups.index.get_loc(shown_rows[0]))] if len(shown_rows) else options[0]
    if "org" not in st.session_state:
        asked = st.query_params.get("org")
        if asked in (None, ""):
            st.session_state["org"] = default
        elif asked in ids or asked.strip().casefold() in by_name:
            st.session_state["org"] = ids.get(asked, by_name.get(asked.strip().casefold()))
        else:
            # a link to an organisation this study does not have: say so, never show another one
            st.warning(f"There is no organisation “{asked}” in this study. Choose one from the list.",
                       icon=":material/search_off:")
            st.session_state["org"] = None
    org = st.selectbox("Organisation", options, format_func=names.name, key="org",
                       help="Your organisation (type its name to find it).", placeholder="Choose an organisation")
    if org is None:
        st.query_params.pop("org", None)
    else:
        st.query_params["org"] = str(org)
    return org


# ------------------------------------------------------------------ the page

prepared = state.dataset(INSTRUMENT)
min_n = state.min_n()
if prepared is None:
    st.warning("No public-servant survey is loaded (or it could not be read). Load it on the Data page.",
               icon=":material/upload_file:")
    page_link("pages/data.py", "Load and check data", icon=":material/upload_file:")
    st.stop()

instrument = state.instrument(INSTRUMENT)
group_column = instrument.group_columns.get("organisation", "org_id")
data = _readiness_input(prepared.data, instrument, group_column)
data_key = state.data_key(INSTRUMENT)
lookup = _lookup(INSTRUMENT)
splits, names = _choices(data_key, INSTRUMENT, group_column, lookup, data)
picker = st.container()  # the organisation first, filled once names are known
left, right = st.columns(2)
choices = [c for c in COMPARISONS if c != "parent" or (names is not None and names.has_parents)]
comparison = left.radio("Compare with", choices, format_func=COMPARISONS.get, key="benchmark",
                        bind="query-params", horizontal=True,
                        help="All organisations, only those of the same type as yours, or those under the same "
                             "parent (units of one department).")
demographics = {d.id: d.label for d in instrument.demographics}
by = right.selectbox("Break down by", splits, format_func=lambda c: demographics.get(c, c.replace("_", " ").capitalize()),
                     key="by",
                     bind="query-params", help="A staff characteristic to show inside the organisation.") \
    if splits else None
wave = None
if WAVE in data.columns:
    waves = wave_values(data)
    wave = st.selectbox("Survey wave", waves, index=len(waves) - 1, key="wave", bind="query-params",
                        format_func=str, help="The wave shown; changes are since the wave before it.")
view = None
with guarded("computing readiness per organisation"):
    view = _view(data_key, INSTRUMENT, group_column, min_n, comparison or "all", by, lookup, wave, data)
_source = state.sources()[INSTRUMENT]
# the command giving this screen's numbers (a study file, study.yaml --survey, names its own lookup)
readiness_command = command_text(
    "readiness", INSTRUMENT, group=group_column, benchmark=comparison or "all", by=by, wave=wave, min_n=min_n,
    lookup=((f"sample_data/{lookup[0]}" if _source.is_sample else lookup[0])
            if lookup and _source.definition is None else None))

if view is not None:
    groups = view.readiness.groups
    with picker:
        org = _pick_organisation(groups, view.organisations)
    if org is None:
        st.stop()
    row = groups.iloc[groups["group"].tolist().index(org)]
    if bool(row["suppressed"]):
        _suppressed_view(row, view.organisations.name(org), min_n)
    else:
        with guarded("showing the organisation's readiness"):
            _organisation_view(view, row, org, min_n)
    _how_to_read(min_n)
    if not bool(row["suppressed"]):  # a suppressed organisation: nothing to download at all
        with guarded("preparing the organisation's report"):
            from analysis.report.organisation import organisation_report_bytes

            st.subheader("This organisation's report")
            st.caption("The readiness index and dimensions with their intervals, the benchmark, agreement and where to "
                       "start, on one page to take to a meeting; an organisation under the threshold gets no numbers. "
                       "For every organisation at once: `python -m analysis org-reports study.yaml --out reports/`.")
            _study = state.current_study()
            _ready = {INSTRUMENT: prepared}
            report_buttons("Download the organisation report",
                           lambda pdf: organisation_report_bytes(_study, org, pdf=pdf, survey=INSTRUMENT, group=group_column,
                                                                 min_n=min_n, prepared=_ready),
                           f"readiness_{org}", key="rd_report")
    _share_box(org)
    show_command(readiness_command)
