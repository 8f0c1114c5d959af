"""Within-group agreement and ICCs against multilevel::rwg, rwg.j, ICC1, ICC2 (shared/reference)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.aggregation import aggregate, icc1_icc2, null_variance, rwg, rwg_j
from analysis.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "reference"
TOL = 1e-6


def _cases(reference, kind):
    return [name for name, case in reference["cases"].items() if case["kind"] == kind]


def _cohesion(reference_data):
    # the reference case's group: paste(UNIT, PLATOON, sep = "_")
    d = reference_data("cohesion")
    d["UNIT_PLATOON"] = d["UNIT"] + "_" + d["PLATOON"]
    return d


def test_null_variance_is_uniform():
    assert null_variance(5) == 2.0
    assert_allclose(null_variance(6), 35 / 12)


def test_rwg_j_matches_multilevel_on_cohesion(reference, reference_data):
    case = reference["cases"]["cohesion_rwgj_COH"]
    out = case["outputs"]
    res = aggregate(_cohesion(reference_data), case["inputs"]["group"], case["inputs"]["items"],
                    case["inputs"]["n_response_options"])
    groups = res.groups.set_index("group")
    expected = pd.DataFrame(out["rwg_j_by_group"]).set_index("group")
    assert list(groups.index) == list(expected.index)
    assert groups["n"].tolist() == expected["gsize"].tolist()
    assert_allclose(groups["rwg"].to_numpy(), expected["rwg_j"].to_numpy(float), atol=TOL, rtol=0)
    assert_allclose([res.rwg_mean, res.rwg_median], [out["rwg_j_mean"], out["rwg_j_median"]], atol=TOL, rtol=0)
    assert res.statistic == "rwg(j)" and res.n_dropped == 1  # COH02 is missing once
    # 1044B_1ST: the mean item variance (2) equals the null variance, so rwg(j) is exactly 0
    assert groups.loc["1044B_1ST", "rwg"] == 0


@pytest.mark.parametrize("name", ["bh1996_rwg_LEAD", "bh1996_rwg_COHES", "bh1996_rwg_WBEING"])
def test_rwg_single_matches_multilevel(reference, reference_data, name):
    case = reference["cases"][name]
    inputs, out = case["inputs"], case["outputs"]
    res = aggregate(reference_data("bh1996"), inputs["group"], inputs["variable"], inputs["n_response_options"])
    expected = pd.DataFrame(out["rwg_by_group"]).set_index("group")
    groups = res.groups.set_index("group")
    assert list(groups.index) == list(expected.index)
    assert groups["n"].tolist() == expected["gsize"].tolist()
    assert_allclose(groups["rwg"].to_numpy(), expected["rwg"].to_numpy(float), atol=TOL, rtol=0)
    assert_allclose([res.rwg_mean, res.rwg_median], [out["rwg_mean"], out["rwg_median"]], atol=TOL, rtol=0)


def test_icc_cases_are_present(reference):
    assert len(_cases(reference, "icc1_icc2")) >= 6


@pytest.mark.parametrize("name", ["bh1996_icc_LEAD", "bh1996_icc_COHES", "bh1996_icc_WBEING", "bh1996_icc_HRS",
                                  "klein2000_icc_JOBSAT", "klein2000_icc_COHES"])
def test_icc1_icc2_match_multilevel(reference, reference_data, name):
    case = reference["cases"][name]
    inputs, out = case["inputs"], case["outputs"]
    data = reference_data(inputs["dataset"].split("/")[-1].removesuffix(".csv"))
    res = icc1_icc2(data, inputs["variable"], inputs["group"])
    assert_allclose([res.icc1, res.icc2], [out["ICC1_aov"], out["ICC2_aov"]], atol=TOL, rtol=0)
    assert_allclose([res.msb, res.msw], [out["MSB"], out["MSW"]], rtol=1e-9)
    assert (res.df_between, res.df_within, res.n_obs, res.n_groups) == (
        out["df_between"], out["df_within"], out["n_obs"], out["n_groups"])
    assert_allclose(res.mean_group_size, out["k_mean_group_size"], rtol=1e-12)
    # aggregate() on the single item gives the same ICCs
    agg = aggregate(data, inputs["group"], inputs["variable"], 5)
    assert_allclose([agg.icc1, agg.icc2], [out["ICC1_aov"], out["ICC2_aov"]], atol=TOL, rtol=0)


# multilevel 2.7 on a small data set with a group of one and listwise deletion:
# x <- data.frame(a = c(1,2,2,4,4,5,3,3,NA), b = c(2,2,3,5,4,4,3,2,1)); g <- c(1,1,1,2,2,2,3,3,3)
DATA = pd.DataFrame({"a": [1, 2, 2, 4, 4, 5, 3, 3, np.nan], "b": [2, 2, 3, 5, 4, 4, 3, 2, 1],
                     "g": [1, 1, 1, 2, 2, 2, 3, 3, 4]})


def test_rwg_formulas_by_hand():
    assert_allclose(rwg([1, 2, 3], 5), 1 - 1 / 2)          # s2 = 1, null 2
    assert rwg([1, 5, 1, 5], 5) == 0                        # s2 = 5.33 > 2: capped
    assert np.isnan(rwg([3], 5)) and np.isnan(rwg([3, np.nan], 5))
    s2 = (np.var([1, 2, 2], ddof=1) + np.var([2, 2, 3], ddof=1)) / 2
    j = 2 * (1 - s2 / 2) / (2 * (1 - s2 / 2) + s2 / 2)
    assert_allclose(rwg_j(DATA.loc[:2, ["a", "b"]], 5), j)
    assert rwg_j(pd.DataFrame({"a": [1, 5], "b": [5, 1]}), 5) == 0


def test_group_of_one_has_no_rwg_and_a_note():
    res = aggregate(DATA, "g", ["a", "b"], 5)
    groups = res.groups.set_index("group")
    assert list(groups.index) == ["1", "2", "3"]  # group 4's only row is incomplete
    single = aggregate(DATA, "g", "b", 5).groups.set_index("group")
    assert single.loc["4", "n"] == 1 and np.isnan(single.loc["4", "rwg"])
    assert any("fewer than 2 respondents" in n for n in aggregate(DATA, "g", "b", 5).notes)
    assert_allclose(groups.loc["1", "mean"], np.mean([1.5, 2, 2.5]))


def test_variance_above_the_null_is_capped_with_a_note():
    d = pd.DataFrame({"x": [1, 5, 1, 5, 3, 3, 4], "g": ["A", "A", "A", "A", "B", "B", "B"]})
    res = aggregate(d, "g", "x", 5)
    assert res.groups.set_index("group").loc["A", "rwg"] == 0
    assert any("set to 0" in note for note in res.notes)


def test_to_dict_is_the_command_json():
    d = aggregate(DATA, "g", ["a", "b"], 5).to_dict()
    assert list(d) == ["n_groups", "icc1", "icc2", "rwg_mean", "rwg_median", "groups"]
    assert set(d["groups"][0]) == {"group", "n", "mean", "rwg"}
    json.dumps(d)


def test_reading_quotes_numbers_and_sources(reference_data):
    res = aggregate(reference_data("bh1996"), "GRP", "LEAD", 5)
    text = res.reading()
    assert "mean rwg = .74" in text and "ICC(1) = .127" in text and "ICC(2) = .92" in text
    assert "James, Demaree & Wolf 1984" in text and "Bliese 2000" in text
    assert any("LeBreton & Senter (2008)" in n for n in res.notes)


@pytest.mark.parametrize("call, column, fragment", [
    (lambda: aggregate(DATA.assign(one=1), "one", ["a"], 5), "one", "1 group"),
    (lambda: aggregate(DATA.assign(id=range(9)), "id", ["a"], 5), "id", "single respondent"),
    (lambda: aggregate(DATA, "nope", ["a"], 5), "nope", "unknown grouping column"),
    (lambda: aggregate(DATA.assign(t=["x"] + [1] * 8), "g", ["t"], 5), "t", "non-numeric"),
    (lambda: aggregate(DATA, "g", ["a"], 1), None, "response options"),
    (lambda: aggregate(DATA.assign(e=np.nan), "g", ["e"], 5), "e", "no answers"),
    (lambda: icc1_icc2(DATA.assign(id=range(9)), "b", "id"), "id", "single respondent"),
])
def test_bad_input_raises_input_error(call, column, fragment):
    with pytest.raises(InputError) as err:
        call()
    assert fragment in str(err.value)
    assert err.value.column == column


def _command(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True)


def test_command_on_cohesion_prints_rwg_j(reference, reference_data, tmp_path):
    case = reference["cases"]["cohesion_rwgj_COH"]
    path = tmp_path / "cohesion.csv"
    _cohesion(reference_data).to_csv(path, index=False)
    # platoons of 2-3 soldiers: the owner's --all-groups view gives R's numbers for every one
    proc = _command("aggregate", str(path), "--group", "UNIT_PLATOON", "--items", *case["inputs"]["items"],
                    "--options", "5", "--all-groups", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n_groups"] == 4
    assert_allclose([g["rwg"] for g in out["groups"]], [g["rwg_j"] for g in case["outputs"]["rwg_j_by_group"]],
                    atol=TOL, rtol=0)
    lib = aggregate(_cohesion(reference_data), "UNIT_PLATOON", case["inputs"]["items"], 5)
    assert_allclose([out["icc1"], out["icc2"]], [lib.icc1, lib.icc2], atol=1e-12)


def test_command_on_bh1996_prints_rwg_and_icc(reference):
    rwg_case = reference["cases"]["bh1996_rwg_LEAD"]["outputs"]
    icc_case = reference["cases"]["bh1996_icc_LEAD"]["outputs"]
    proc = _command("aggregate", str(REFERENCE_DIR / "data" / "bh1996.csv"), "--group", "GRP", "--items", "LEAD",
                    "--options", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert_allclose([out["icc1"], out["icc2"], out["rwg_mean"], out["rwg_median"]],
                    [icc_case["ICC1_aov"], icc_case["ICC2_aov"], rwg_case["rwg_mean"], rwg_case["rwg_median"]],
                    atol=TOL, rtol=0)
    assert [g["group"] for g in out["groups"]] == [g["group"] for g in rwg_case["rwg_by_group"]]


def test_command_leaves_out_groups_under_the_threshold_by_default(reference_data, tmp_path):
    path = tmp_path / "cohesion.csv"
    _cohesion(reference_data).to_csv(path, index=False)
    proc = _command("aggregate", str(path), "--group", "UNIT_PLATOON", "--items", "COH01", "--options", "5", "--json")
    assert proc.returncode == 2 and proc.stdout == ""  # no rwg or mean of a platoon of 2 or 3
    assert "--all-groups" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    big = _command("aggregate", str(REFERENCE_DIR / "data" / "bh1996.csv"), "--group", "GRP", "--items", "LEAD",
                   "--options", "5", "--min-n", "60", "--json")
    out = json.loads(big.stdout)
    assert out["groups"] and all(g["n"] >= 60 for g in out["groups"])


def test_command_unknown_group_exits_2_with_one_line():
    proc = _command("aggregate", str(REFERENCE_DIR / "data" / "bh1996.csv"), "--group", "TEAM", "--items", "LEAD",
                    "--options", "5", "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "TEAM" in lines[0]
