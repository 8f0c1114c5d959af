"""The practitioners' readiness view in AppTest: it renders on the sample, its numbers are
``analysis.readiness``'s (and the headless command's), a small organisation shows no score
anywhere on the page, and any organisation typed into the URL is handled cleanly."""
from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from analysis.readiness import readiness
from conftest import ROOT
from ui import state

PAGE = str(ROOT / "pages" / "readiness.py")
SAMPLE = ROOT / "sample_data" / "public_servants.csv"
MIN_N = 5
NAMES = pd.read_csv(ROOT / "sample_data" / "organisations.csv").set_index("id")["name"].to_dict()


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """The sample through the same pipeline as the page (ui.state's, outside a session)."""
    source = state.sample_source("public_servant")
    return state.prepare(source).data


@pytest.fixture(scope="module")
def result(sample):
    return readiness(sample, state.instrument("public_servant"), "org_id", min_n=MIN_N)


@pytest.fixture(scope="module")
def unprotected(sample):
    """What the small organisations' scores would be without protection (min_n = 1): the page
    must never show these."""
    return readiness(sample, state.instrument("public_servant"), "org_id", min_n=1)


@pytest.fixture(scope="module")
def small_orgs() -> list[int]:
    """Organisations with fewer than MIN_N respondents, found from the raw file."""
    counts = pd.read_csv(SAMPLE)["org_id"].value_counts()
    small = sorted(int(g) for g in counts[counts < MIN_N].index)
    assert small, "the sample should hold small organisations"
    return small


def _run(org=None, *, min_n: int | None = None, source: state.Source | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if org is not None:
        at.query_params["org"] = str(org)
    if min_n is not None:
        at.session_state["study_min_n"] = min_n
    if source is not None:
        at.session_state["study_sources"] = {"public_servant": source}
    at.run()
    assert not at.exception
    return at


def _elements(node):
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _elements(child)
    else:
        yield node


def _page_text(at: AppTest) -> str:
    """The text of every element on the page except the organisation picker's option list
    (all ids), with widget ids (hashes) removed."""
    parts = []
    for el in _elements(at.main):
        if getattr(el, "type", None) == "selectbox":
            continue
        parts.append(re.sub(r'id: "[^"]*"', "", str(el.proto)))
    return "\n".join(parts)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _dimension_table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "95% CI low" in d.value.columns)


def _command(*argv: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(list(argv)) == 0
    return json.loads(out.getvalue())


# ------------------------------------------------------------------ a normal organisation

def test_default_view_is_a_shown_organisation(result):
    at = _run()
    first_shown = result.groups.loc[~result.groups["suppressed"], "group"].iloc[0]
    assert at.selectbox(key="org").value == first_shown
    assert not at.error
    assert _metric(at, "Readiness index (0-100)") == f"{result.groups.set_index('group').loc[first_shown, 'index']:.1f}"
    assert len(at.get("plotly_chart")) == 3  # radar, bars and the questions' stacked bars
    # the share box's link: this page's address relative to the app (AppTest has no browser URL)
    assert any(c.value.endswith(f"?org={first_shown}") for c in at.code)
    how_to_read = next(e for e in at.expander if e.label == "How to read this")
    text = " ".join(m.value for m in how_to_read.markdown)
    assert "average of the organisation's dimension scores" in text
    assert f"fewer than {MIN_N} people answered" in text


@pytest.mark.parametrize("org", [103, 110])
def test_numbers_are_the_library_numbers(result, org):
    at = _run(org)
    assert at.selectbox(key="org").value == org
    row = result.groups.set_index("group").loc[org]
    assert not row["suppressed"]
    assert _metric(at, "Readiness index (0-100)") == f"{row['index']:.1f}"
    assert _metric(at, "Respondents") == str(int(row["n"]))
    assert _metric(at, "Agreement rwg(j)") == f"{row['rwg']:.2f}"
    pct = result.percentiles.query("group == @org and measure == 'index'")["percentile"].iloc[0]
    assert _metric(at, "Percentile among organisations") == f"{pct:.0f}"
    table = _dimension_table(at)
    keys = result.dimensions
    assert len(table) == len(keys)
    assert_allclose(table["score"].to_numpy(float), [row[k] for k in keys], rtol=1e-12)
    assert_allclose(table["95% CI low"].to_numpy(float), [row[f"{k}_ci_low"] for k in keys], rtol=1e-12)
    assert_allclose(table["95% CI high"].to_numpy(float), [row[f"{k}_ci_high"] for k in keys], rtol=1e-12)
    assert table["n"].tolist() == [int(row[f"{k}_n"]) for k in keys]
    bench = result.benchmark.set_index("measure")
    assert_allclose(table["median of organisations"].to_numpy(float), bench.loc[keys, "median"], rtol=1e-12)
    assert_allclose(table["Q1 of organisations"].to_numpy(float), bench.loc[keys, "q1"], rtol=1e-12)
    assert_allclose(table["Q3 of organisations"].to_numpy(float), bench.loc[keys, "q3"], rtol=1e-12)
    # "where to start" is the library's, with its evidence and sources
    start = result.where_to_start(org)
    text = _page_text(at)
    assert start.message in text
    for enablers in start.table["enablers"]:
        for e in enablers:
            assert e["text"] in text and e["source"] in text


def test_index_is_the_mean_of_the_dimension_scores_shown(result):
    at = _run(104)
    table = _dimension_table(at)
    assert _metric(at, "Readiness index (0-100)") == f"{table['score'].mean():.1f}"


def test_headless_command_gives_the_page_numbers():
    out = _command("readiness", str(SAMPLE), "--instrument", "public_servant", "--group", "org_id",
                   "--min-n", str(MIN_N), "--json")
    group = next(g for g in out["groups"] if g["group"] == 109)
    at = _run(109)
    assert _metric(at, "Readiness index (0-100)") == f"{group['index']:.1f}"
    table = _dimension_table(at)
    assert_allclose(table["score"].to_numpy(float), [group["dimensions"][k] for k in out["dimensions"]], rtol=1e-10)


def test_benchmark_table_holds_only_shown_organisations(result, small_orgs):
    at = _run(103)
    assert not any("organisation" in d.value.columns for d in at.dataframe)  # lazy: drawn when opened
    at.session_state["rd_benchmark_open"] = True  # the expander opened, as a click does
    at.run()
    bench = next(d.value for d in at.dataframe if "organisation" in d.value.columns)
    assert not set(small_orgs) & set(bench["organisation"])
    assert len(bench) == int((~result.groups["suppressed"]).sum())
    assert not any(c.endswith("_ci_low") for c in bench.columns)


def test_changing_organisation_rerenders(result):
    at = _run()
    at.selectbox(key="org").set_value(106).run()
    assert not at.exception
    row = result.groups.set_index("group").loc[106]
    assert _metric(at, "Readiness index (0-100)") == f"{row['index']:.1f}"


# ------------------------------------------------------------------ privacy

ALLOWED_NUMBERS = {"0", "100", "95", ".70", "0.70", "1984", "2008", "2012", str(MIN_N)}


def _assert_nothing_shown(at: AppTest, org, unprotected) -> None:
    """No metric, chart, table or download, and no number on the page but the conventions,
    the threshold and the organisation's id; none of its unprotected values either."""
    assert at.selectbox(key="org").value == org
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.get("download_button")
    text = _page_text(at)
    numbers = set(re.findall(r"(?<![\w.])\d*\.?\d+", text))
    assert numbers <= ALLOWED_NUMBERS | {str(org)}, numbers - ALLOWED_NUMBERS
    raw = unprotected.groups.set_index("group")
    values = [raw.loc[org, "index"]] + [raw.loc[org, k] for k in unprotected.dimensions]
    assert np.isfinite(values).all()
    values += [raw.loc[org, "rwg"]] if np.isfinite(raw.loc[org, "rwg"]) else []  # rwg(j) is undefined for tiny groups
    for v in values:
        assert f"{v:.1f}" not in text and f"{v:.2f}" not in text and f"{v:.0f} out of 100" not in text
    assert f"{int(raw.loc[org, 'n'])} respondents" not in text


def test_small_organisation_shows_no_score_anywhere(small_orgs, unprotected):
    for org in small_orgs:
        at = _run(org)
        assert any(f"Fewer than {MIN_N} respondents answered in organisation {NAMES[org]}" in w.value
                   for w in at.warning)
        _assert_nothing_shown(at, org, unprotected)


def test_small_organisation_is_pooled_so_totals_cannot_give_it_away():
    """With 105 (3 respondents) the only small organisation, its score could be recovered from
    the total minus the organisations shown, unless its respondents are pooled with a block of
    at least min_n others that is withheld too (analysis.privacy): the page shows nothing for
    105, and what the shown organisations leave out of the total is at least min_n people."""
    raw = pd.read_csv(SAMPLE)
    kept = raw[~raw["org_id"].isin([101, 123, 135])]
    source = state.Source("public_servant", "one_small_org.csv", kept.to_csv(index=False).encode())
    data = state.prepare(source).data
    protected = readiness(data, state.instrument("public_servant"), "org_id", min_n=MIN_N)
    unprotected = readiness(data, state.instrument("public_servant"), "org_id", min_n=1)
    hidden = protected.groups.set_index("group").loc[lambda g: g["suppressed"], "suppression"]
    assert hidden.to_dict() == {105: "primary"}
    shown_n = protected.groups.loc[~protected.groups["suppressed"], "n"].sum()
    assert len(data) - shown_n >= MIN_N
    at = _run(105, source=source)
    _assert_nothing_shown(at, 105, unprotected)
    shown = _run(103, source=source)
    shown.session_state["rd_benchmark_open"] = True  # the benchmark table, opened
    shown.run()
    bench = next(d.value for d in shown.dataframe if "organisation" in d.value.columns)
    assert 105 not in set(bench["organisation"])


def test_switching_from_a_small_to_a_normal_organisation(small_orgs):
    """From a withheld organisation to a shown one: the full view comes back, with no error."""
    at = _run(small_orgs[0])
    at.selectbox(key="org").set_value(102).run()
    assert not at.exception and not at.error
    assert at.header[0].value == NAMES[102]
    assert _metric(at, "Respondents") == "10"


def test_study_threshold_applies(result):
    """With the study's minimum raised to 15, an organisation of 10 respondents is withheld."""
    row = result.groups.set_index("group").loc[102]
    assert int(row["n"]) == 10
    at = _run(102, min_n=15)
    assert at.selectbox(key="org").value == 102
    assert not at.metric and not at.get("plotly_chart")
    assert any("Fewer than 15 respondents" in w.value for w in at.warning)


# ------------------------------------------------------------------ URLs a user can type

@pytest.mark.parametrize("bad", ["zzz", "999", "101.5", "<script>"])
def test_invalid_org_in_url_says_so_and_shows_no_other_organisation(result, bad):
    at = _run(bad)
    assert at.selectbox(key="org").value is None
    assert not at.error and not at.metric
    assert any(f"no organisation “{bad}”" in w.value for w in at.warning)


def test_empty_org_in_url_gives_the_default_view(result):
    at = _run("")
    first_shown = result.groups.loc[~result.groups["suppressed"], "group"].iloc[0]
    assert at.selectbox(key="org").value == first_shown
    assert not at.error
    assert at.header[0].value == NAMES[first_shown]


def test_low_agreement_is_flagged_in_plain_words():
    """Half of organisation 103 answers 1 and half 5 to every readiness question: rwg(j) falls
    below .70 and the page says the average hides different experiences."""
    raw = pd.read_csv(SAMPLE)
    items = [it.id for c in state.instrument("public_servant").readiness_dimensions for it in c.items]
    rows = raw.index[raw["org_id"] == 103]
    raw.loc[rows[::2], items] = 1
    raw.loc[rows[1::2], items] = 5
    source = state.Source("public_servant", "split_org.csv", raw.to_csv(index=False).encode())
    result = readiness(state.prepare(source).data, state.instrument("public_servant"), "org_id", min_n=MIN_N)
    rwg = result.groups.set_index("group").loc[103, "rwg"]
    assert rwg < 0.70
    at = _run(103, source=source)
    assert _metric(at, "Agreement rwg(j)") == f"{rwg:.2f}"
    warning = next(w.value for w in at.warning if "disagree" in w.value)
    assert f"People in organisation {103} disagree" in warning and f"rwg(j) = {rwg:.2f}" in warning
    assert "average" in warning and "different" in warning
    assert not any("disagree" in w.value for w in _run(104, source=source).warning)


def test_page_numbers_equal_a_hand_computation_from_the_file():
    """Organisation 103 straight from the CSV: answers 1..5 (-99 = missing), reverse-keyed items
    as 6 - x, a person's dimension score the mean of the answered items when at least half are
    answered, rescaled (score - 1) / 4 * 100; the organisation's score is the mean with a
    t-based 95% CI; the index the mean over its respondents of their own index, the mean of
    their seven 0-100 scores when all seven are there (``analysis.readiness_index``; with one of
    the 41 respondents lacking a score this is 71.2, where the mean of the dimension scores
    the page showed before issue 10 was 71.4)."""
    from scipy import stats

    raw = pd.read_csv(SAMPLE)
    org = raw[raw["org_id"] == 103]
    expected, people = [], []
    for c in state.instrument("public_servant").readiness_dimensions:
        x = org[[it.id for it in c.items]].apply(pd.to_numeric, errors="coerce")
        x = x.where((x >= 1) & (x <= 5))
        for it in c.items:
            if it.reverse:
                x[it.id] = 6 - x[it.id]
        person = x.mean(axis=1).where(x.notna().sum(axis=1) >= 0.5 * len(c.items))
        people.append((person - 1) / 4 * 100)
        person = people[-1].dropna()
        half = stats.t.ppf(0.975, len(person) - 1) * person.std(ddof=1) / np.sqrt(len(person))
        expected.append((person.mean(), person.mean() - half, person.mean() + half, len(person)))
    expected = np.array(expected)
    at = _run(103)
    table = _dimension_table(at)
    assert_allclose(table[["score", "95% CI low", "95% CI high", "n"]].to_numpy(float), expected, rtol=1e-10)
    own = pd.concat(people, axis=1).mean(axis=1, skipna=False)
    assert _metric(at, "Readiness index (0-100)") == f"{own.mean():.1f}"


def test_threshold_cannot_be_lowered_below_the_server_floor(small_orgs):
    """On a hosted dashboard any visitor can open the Data page; a study threshold below the
    server's floor (COPROD_MIN_N_FLOOR, default 5) is ignored, so small groups stay hidden."""
    at = _run(small_orgs[0], min_n=2)
    assert not at.metric
    assert any("protect" in w.value for w in at.warning)


def test_server_floor_can_be_lowered_by_whoever_runs_it(monkeypatch, small_orgs):
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "2")
    assert state.min_n_floor() == 2
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "not a number")
    with pytest.raises(Exception, match="COPROD_MIN_N_FLOOR"):  # never silently another value
        state.min_n_floor()


def test_printed_command_with_breakdown_and_same_type_benchmark_gives_the_screen():
    """With the benchmark on the same type and a breakdown by gender, the command the page prints,
    run as printed, and the sample study file's command give the numbers on the screen."""
    import shlex
    import subprocess
    import sys

    at = _run(103)
    at.radio(key="benchmark").set_value("type").run()
    at.selectbox(key="by").set_value("gender").run()
    assert not at.exception
    # one command, printed under the view and in its Reproduce panel
    (text,) = {c.value for c in at.code if c.value.startswith("python -m analysis ")}
    assert "--by gender" in text and "--benchmark type" in text
    done = subprocess.run([sys.executable, *shlex.split(text)[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    study = _command("readiness", str(ROOT / "sample_data" / "study.yaml"), "--survey", "public_servants",
                     "--by", "gender", "--benchmark", "type", "--min-n", str(MIN_N), "--json")
    for key in ("questions", "breakdown", "comparison_benchmark", "organisations", "groups"):
        assert study[key] == out[key], key
    questions = next(d.value for d in at.dataframe if "% favourable" in d.value.columns)
    mine = [q for q in out["questions"]["groups"] if q["group"] == 103]
    assert_allclose(questions["% favourable"].to_numpy(float), [q["favourable"] for q in mine], rtol=1e-12)
    bench = {b["item"]: b["favourable"] for b in out["questions"]["benchmarks"]
             if b["comparator"] == "Municipal administration"}
    assert_allclose(questions["benchmark % favourable"].to_numpy(float), [bench[q["item"]] for q in mine],
                    rtol=1e-12)
    cells = [c for c in out["breakdown"]["cells"] if c["group"] == 103]
    split = next(d.value for d in at.dataframe if "readiness index" in d.value.columns)
    assert_allclose(split["readiness index"].to_numpy(float),
                    [np.nan if c["index"] is None else c["index"] for c in cells], rtol=1e-12)
    medians = {b["measure"]: b["median"] for b in out["comparison_benchmark"]
               if b["comparator"] == "Municipal administration"}
    table = _dimension_table(at)
    assert_allclose(table["median of organisations"].to_numpy(float), [medians[k] for k in out["dimensions"]],
                    rtol=1e-12)
