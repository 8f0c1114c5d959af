"""Names and types of organisations (issue 13, item 1): from a lookup file or the data's
columns; bad lookups (unknown or duplicate ids) reported by ``study check`` with the row and id;
the benchmark of organisations of the same type in the library, the command and the page; a
link may name the organisation."""
from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from analysis.errors import InputError
from analysis.organisations import lookup_problems, organisations, read_lookup
from analysis.readiness_view import practitioners_view
from conftest import ROOT
from ui import state

SAMPLE_DIR = ROOT / "sample_data"
LOOKUP = SAMPLE_DIR / "organisations.csv"
MIN_N = 5


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return state.prepare(state.sample_source("public_servant")).data


@pytest.fixture(scope="module")
def instrument():
    return state.instrument("public_servant")


def _cli(*argv: str) -> tuple[int, dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    from contextlib import redirect_stderr
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


def test_types_come_from_the_data_column_with_the_instrument_labels(data, instrument):
    orgs = organisations(data, "org_id", instrument=instrument)
    assert orgs.source == "column org_type"
    assert orgs.type_of(103) == "Municipal administration" and orgs.name(103) == "Organisation 103"
    assert len(orgs.table) == 60


def test_lookup_gives_names_and_types(data, instrument):
    orgs = organisations(data, "org_id", instrument=instrument, lookup=read_lookup(LOOKUP),
                         lookup_file="organisations.csv")
    assert orgs.name(103) == "Cindervale Town Hall" and orgs.name("103") == "Cindervale Town Hall"
    column = organisations(data, "org_id", instrument=instrument)
    assert orgs.types() == column.types()  # the lookup's types agree with the data's column


def test_lookup_problems_name_the_row_and_the_id():
    bad = pd.DataFrame({"id": [101, 102, 102, 999, None], "name": ["A", "B", "B again", "Ghost", "X"]})
    problems = lookup_problems(bad, [101, 102, 103], file="orgs.csv")
    found = [(p.row, p.message) for p in problems]
    assert (3, "id '102' is listed twice (rows 2 and 3)") in found
    assert (4, "id '999' is not an organisation of the data") in found
    assert (5, "empty id") in found
    assert all(p.file == "orgs.csv" for p in problems)
    with pytest.raises(InputError, match="listed twice"):
        organisations(pd.DataFrame({"org_id": [101, 102, 103]}), "org_id", lookup=bad)


def test_study_check_reports_bad_lookups(tmp_path):
    shutil.copy(SAMPLE_DIR / "public_servants.csv", tmp_path / "public_servants.csv")
    lookup = pd.read_csv(LOOKUP)
    rows = len(lookup)
    lookup = pd.concat([lookup, lookup.iloc[[2]], pd.DataFrame({"id": [999], "name": ["Nowhere"], "type": [None]})])
    lookup.to_csv(tmp_path / "organisations.csv", index=False)
    (tmp_path / "study.yaml").write_text((SAMPLE_DIR / "study.yaml").read_text())
    code, out, _ = _cli("study", "check", str(tmp_path / "study.yaml"), "--json")
    assert code == 2 and out is not None
    problems = [(p["key"], p["row"], p["message"]) for p in out["problems"]]
    key = "surveys[0] (public_servants).lookup"
    assert (key, rows + 1, f"id '103' is listed twice (rows 3 and {rows + 1})") in problems
    assert (key, rows + 2, "id '999' is not an organisation of the data") in problems
    (tmp_path / "organisations.csv").unlink()
    code, out, _ = _cli("study", "check", str(tmp_path / "study.yaml"), "--json")
    assert code == 2 and out["problems"][0]["key"] == key + ".file"


def test_sample_study_file_checks_clean():
    code, out, _ = _cli("study", "check", str(SAMPLE_DIR / "study.yaml"), "--json")
    assert code == 0 and out["ok"]


def test_same_type_benchmark_is_over_that_type(data, instrument):
    view = practitioners_view(data, instrument, "org_id", min_n=MIN_N, comparison="type")
    groups = view.readiness.groups
    types = view.organisations.types()
    same = groups[~groups["suppressed"] & groups["group"].map(types).eq("Municipal administration")]
    bench = view.benchmark_for(103).set_index("measure")
    assert bench.loc["index", "n_groups"] == len(same)
    q1, med, q3 = np.percentile(same["index"], [25, 50, 75])
    assert_allclose(bench.loc["index", ["q1", "median", "q3"]].to_numpy(float), [q1, med, q3], rtol=1e-12)
    score = groups.set_index("group").loc[103, "index"]
    pct = view.percentiles_for(103).set_index("measure").loc["index", "percentile"]
    expected = 100 * ((same["index"] < score).sum() + 0.5 * (same["index"] == score).sum()) / len(same)
    assert pct == pytest.approx(expected, rel=1e-12)
    every = practitioners_view(data, instrument, "org_id", min_n=MIN_N)
    assert_allclose(every.benchmark_for(103).set_index("measure")["median"],
                    every.readiness.benchmark.set_index("measure")["median"], rtol=1e-12)


def test_type_benchmark_needs_types(data, instrument):
    with pytest.raises(InputError, match="no type"):
        practitioners_view(data.drop(columns="org_type"), instrument, "org_id", min_n=MIN_N, comparison="type")


def test_command_with_the_sample_lookup_prints_names(data, instrument):
    code, out, _ = _cli("readiness", str(SAMPLE_DIR / "public_servants.csv"), "--instrument", "public_servant",
                        "--lookup", str(LOOKUP), "--benchmark", "type", "--json")
    assert code == 0
    names = {o["group"]: o["name"] for o in out["organisations"]["organisations"]}
    assert names[103] == "Cindervale Town Hall"
    view = practitioners_view(data, instrument, "org_id", min_n=MIN_N, comparison="type")
    rows = [b for b in out["comparison_benchmark"] if b["comparator"] == "Municipal administration"]
    lib = view.benchmark[view.benchmark["comparator"] == "Municipal administration"]
    assert_allclose([b["median"] for b in rows], lib["median"].to_numpy(float), rtol=1e-12)


def test_page_opens_an_organisation_by_name_and_compares_with_its_type(data, instrument):
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = "Cindervale Town Hall"
    at.run()
    assert not at.exception and at.selectbox(key="org").value == 103
    assert at.header[0].value == "Cindervale Town Hall"
    at.radio(key="benchmark").set_value("type").run()
    assert not at.exception
    assert any(s.value == "Benchmark against organisations of the same type (Municipal administration)"
               for s in at.subheader)
    view = practitioners_view(data, instrument, "org_id", min_n=MIN_N, comparison="type")
    table = next(d.value for d in at.dataframe if "95% CI low" in d.value.columns)
    bench = view.benchmark_for(103).set_index("measure")
    assert_allclose(table["median of organisations"].to_numpy(float),
                    bench.loc[view.readiness.dimensions, "median"].to_numpy(float), rtol=1e-12)
    assert any("--benchmark type" in c.value and "--lookup sample_data/organisations.csv" in c.value
               for c in at.code)


def test_lookup_key_round_trips_and_names_bad_keys():
    from analysis.study import load_study, parse_study, to_yaml

    study = load_study(SAMPLE_DIR / "study.yaml")
    assert study.surveys[0].lookup == {"file": "organisations.csv", "column": "org_id"}
    again = parse_study(to_yaml(study))
    assert again.surveys[0].lookup == study.surveys[0].lookup
    bad = ("title: t\nsurveys:\n- name: s\n  file: d.csv\n  groups: [org_id]\n  scales: [{name: A, items: [a1, a2]}]\n"
           "  lookup: {file: o.csv, column: team}\n")
    with pytest.raises(InputError) as err:
        parse_study(bad)
    assert err.value.key == "surveys[0] (s).lookup.column" and "not one of the survey's groups" in err.value.message
    with pytest.raises(InputError) as err:
        parse_study(bad.replace("column: team", "colour: red"))
    assert err.value.key == "surveys[0] (s).lookup.colour"


def test_hierarchy_parents_and_their_problems(data, instrument):
    orgs = organisations(data, "org_id", instrument=instrument, lookup=read_lookup(LOOKUP))
    parents = orgs.parents()
    assert parents[101] == "Northern Region Department" and parents[160] == "Southern Region Department"
    assert len(parents) == 60  # the two departments have no respondents: they are parents only
    bad = pd.DataFrame({"id": [1, 2, 3, 4, 5], "name": list("ABCDE"), "parent": [2, 3, 1, 9, None]})
    found = [(p.row, p.message) for p in lookup_problems(bad, [1, 2, 3, 4, 5])]
    assert (1, "the parents form a cycle: 1 -> 2 -> 3 -> 1") in found
    assert (4, "the parent '9' of id '4' is not in the lookup") in found
    assert sum("cycle" in m for _, m in found) == 1  # one cycle, reported once


def test_parent_benchmark_is_over_the_siblings(data, instrument):
    view = practitioners_view(data, instrument, "org_id", min_n=MIN_N, comparison="parent",
                              lookup=read_lookup(LOOKUP))
    groups = view.readiness.groups
    north = [g for g, p in view.organisations.parents().items() if p == "Northern Region Department"]
    same = groups[~groups["suppressed"] & groups["group"].isin(north)]
    bench = view.benchmark_for(101 if 101 in same["group"].tolist() else same["group"].iloc[0]).set_index("measure")
    assert bench.loc["index", "n_groups"] == len(same)
    assert bench.loc["index", "median"] == pytest.approx(np.median(same["index"]), rel=1e-12)
    code, out, _ = _cli("readiness", str(SAMPLE_DIR / "study.yaml"), "--benchmark", "parent", "--json")
    assert code == 0
    got = {b["comparator"]: b["median"] for b in out["comparison_benchmark"] if b["measure"] == "index"}
    assert got["Northern Region Department"] == pytest.approx(np.median(same["index"]), rel=1e-12)
    with pytest.raises(InputError, match="no parent"):
        practitioners_view(data, instrument, "org_id", min_n=MIN_N, comparison="parent")


def test_page_compares_with_the_same_parent():
    at = AppTest.from_file(str(ROOT / "pages" / "readiness.py"), default_timeout=120)
    at.query_params["org"] = "103"
    at.run()
    at.radio(key="benchmark").set_value("parent").run()
    assert not at.exception and not at.error
    assert any(s.value == "Benchmark against organisations under Northern Region Department" for s in at.subheader)
    assert any("--benchmark parent" in c.value for c in at.code)
