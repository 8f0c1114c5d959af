"""Validation finds each problem with the right count and rows; actions do what they say;
the ``validate`` command's exit codes and JSON."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.instruments import load_instrument, parse_instrument
from analysis.io import read_data
from analysis.scoring import score_instrument
from analysis.validate import ValidationReport, apply_actions, clean, validate

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ITEMS = ["ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4", "ps_att1", "ps_att2", "ps_att3"]

_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)


@pytest.fixture(scope="module")
def mini():
    return load_instrument(FIXTURES / "mini_instrument.yaml")


def crafted() -> pd.DataFrame:
    """Ten respondents, each problem planted in known rows (1-based row numbers in comments)."""
    rows = [
        # id, org, dsk1, dsk2, dsk3, dsk4, att1, att2, att3
        [1, 101, 4, 4, 5, 2, 4, 4, 2],             # 1 clean
        [2, 101, 7, 3, 4, 3, 5, 4, 1],             # 2 dsk1 out of range
        [3, 101, 3, "Agree", 4, 2, 4, 4, 2],       # 3 dsk2 text (a scale label)
        [4, 102, -99, "NA", 3, 3, 3, 4, 3],        # 4 dsk1 -99, dsk2 "NA": missing codes
        [5, 102, 4, 4, 4, 4, 4, 4, 4],             # 5 straight-liner (dsk4, att3 reverse-keyed)
        [1, 102, 5, 4, 4, 1, 5, 4, 2],             # 6 repeats id 1
        [7, None, 2, 2, 3, 4, 2, 4, 4],            # 7 no organisation
        [8, 103, 3, None, None, None, None, 4, None],  # 8 answered 2 of 7
        [9, 103, 12, "x", 2, 5, 1, 4, 5],          # 9 dsk1 out of range, dsk2 text
        [10, 103, 2, "refused", 3, 4, 2, 4, 4],    # 10 instrument's text missing code
    ]
    frame = pd.DataFrame(rows, columns=["respondent_id", "org_id", *ITEMS])
    frame["ps_dsk2"] = frame["ps_dsk2"].astype(object)
    return frame


def by_code(report: ValidationReport, code: str, column=None):
    found = [p for p in report.problems if p.code == code and (column is None or p.column == column)]
    assert len(found) == 1, (code, column, [p.to_dict() for p in report.problems])
    return found[0]


def test_each_problem_found_with_count_and_rows(mini):
    report = validate(crafted(), mini, source="crafted.csv")
    assert report.n_rows == 10 and report.n_items == 7 and report.n_items_mapped == 7
    assert report.id_column == "respondent_id"
    oor = by_code(report, "OUT_OF_RANGE", "ps_dsk1")
    assert (oor.count, oor.example_rows, oor.item) == (2, [2, 9], "ps_dsk1")
    assert "1..5" in oor.message and "7" in oor.message and "12" in oor.message
    text = by_code(report, "NON_NUMERIC", "ps_dsk2")
    assert (text.count, text.example_rows) == (2, [3, 9])
    assert "labels instead of codes" in text.suggestion  # "Agree" is a label of the scale
    code1 = by_code(report, "MISSING_CODE", "ps_dsk1")
    assert (code1.count, code1.example_rows) == (1, [4])
    code2 = by_code(report, "MISSING_CODE", "ps_dsk2")
    assert (code2.count, code2.example_rows) == (2, [4, 10])  # "NA" and the declared "refused"
    const = by_code(report, "CONSTANT_ITEM", "ps_att2")
    assert const.count == 10 and const.example_rows == []
    dup = by_code(report, "DUPLICATE_ID", "respondent_id")
    assert (dup.count, dup.example_rows) == (1, [6])
    assert "rows 1 and 6" in dup.message
    group = by_code(report, "MISSING_GROUP_ID", "org_id")
    assert (group.count, group.example_rows) == (1, [7])
    few = by_code(report, "TOO_FEW_ANSWERED")
    assert (few.count, few.example_rows) == (1, [8])
    straight = by_code(report, "STRAIGHT_LINING")
    assert (straight.count, straight.example_rows) == (1, [5])
    assert not report.by_code("UNMAPPED_ITEMS")
    assert report.codes == ["MISSING_GROUP_ID", "DUPLICATE_ID", "NON_NUMERIC", "MISSING_CODE",
                            "OUT_OF_RANGE", "CONSTANT_ITEM", "TOO_FEW_ANSWERED", "STRAIGHT_LINING"]


def test_report_serialises_and_tabulates(mini):
    report = validate(crafted(), mini, source="crafted.csv")
    d = report.to_dict()
    assert d["source"] == "crafted.csv" and d["n_rows"] == 10
    assert {"code", "column", "count", "example_rows", "message", "suggestion"} <= set(d["problems"][0])
    json.dumps(d)  # plain JSON, no numpy types
    frame = report.to_frame()
    assert len(frame) == len(report.problems)
    assert frame.loc[frame["code"] == "OUT_OF_RANGE", "example_rows"].iloc[0] == "2, 9"
    assert report.default_actions()["OUT_OF_RANGE"] == "set_missing"
    assert report.default_actions()["STRAIGHT_LINING"] == "keep"


def test_example_rows_are_capped_at_five_and_follow_the_index(mini):
    frame = crafted()
    frame = pd.concat([frame] * 4, ignore_index=True)
    frame["respondent_id"] = range(1, 41)
    report = validate(frame, mini)
    oor = by_code(report, "OUT_OF_RANGE", "ps_dsk1")
    assert oor.count == 8 and oor.example_rows == [2, 9, 12, 19, 22]
    # after rows were dropped, row numbers still point into the file
    report = validate(crafted().drop(index=[0, 1]), mini)
    assert by_code(report, "OUT_OF_RANGE", "ps_dsk1").example_rows == [9]


def test_unmapped_items_and_missing_group_column(mini):
    frame = crafted().drop(columns=["ps_att1", "ps_att2", "org_id"])
    report = validate(frame, mini)
    unmapped = by_code(report, "UNMAPPED_ITEMS")
    assert unmapped.count == 2 and "ps_att1, ps_att2" in unmapped.message
    assert report.unmapped_items == ["ps_att1", "ps_att2"]
    group = by_code(report, "MISSING_GROUP_ID", "org_id")
    assert group.count == 10 and "not in the data" in group.message
    frame["ps_dsk3"] = ["n/a"] * 10  # mapped, but not one usable answer
    empty = by_code(validate(frame, mini), "EMPTY_ITEM", "ps_dsk3")
    assert empty.count == 10 and "no valid answers" in empty.message


def test_explicit_mapping_also_maps_group_and_id_columns(mini):
    frame = crafted().rename(columns={"ps_dsk1": "Q1_1", "org_id": "Organisation", "respondent_id": "ResponseId"})
    report = validate(frame, mini, {"ps_dsk1": "Q1_1", "org_id": "Organisation"})
    assert by_code(report, "OUT_OF_RANGE", "Q1_1").item == "ps_dsk1"
    assert by_code(report, "MISSING_GROUP_ID", "Organisation").count == 1
    assert report.id_column == "ResponseId"  # found by its Qualtrics name
    assert by_code(report, "DUPLICATE_ID", "ResponseId").count == 1
    with pytest.raises(InputError, match="not in the data"):
        validate(frame, mini, {"ps_dsk1": "nope"})


def test_codes_inside_the_scale_are_answers_unless_declared():
    inst = parse_instrument("""
id: thermo
title: Feeling thermometer
respondent: citizen
id_column: rid
constructs:
  - key: warmth
    label: Warmth
    topic: 1
    source: Test (2020)
    scale: {min: 0, max: 100}
    items:
      - {id: t1, text: Warmth towards the council}
      - {id: t2, text: Warmth towards the police}
""")
    frame = pd.DataFrame({"rid": [1, 2, 3, 4], "t1": [99, 50, 100, -99], "t2": [10, 20, 30, 40]})
    report = validate(frame, inst)
    assert by_code(report, "MISSING_CODE", "t1").example_rows == [4]  # -99 outside 0..100
    assert not report.by_code("OUT_OF_RANGE")                         # 99 is an answer here
    report = validate(frame, inst, missing_codes={"t1": [99]})         # ... unless the file declares it
    assert by_code(report, "MISSING_CODE", "t1").example_rows == [1, 4]


def test_straight_lining_needs_both_keying_directions_and_enough_items(mini):
    frame = crafted()
    report = validate(frame, mini, straightline_min_items=8)  # block of 7 is too short
    assert not report.by_code("STRAIGHT_LINING")
    no_reverse = parse_instrument((FIXTURES / "mini_instrument.yaml").read_text().replace(", reverse: true", ""))
    assert not validate(frame, no_reverse).by_code("STRAIGHT_LINING")
    # answering only the forward-keyed items identically is not flagged
    only_forward = frame.copy()
    only_forward.loc[4, ["ps_dsk4", "ps_att3"]] = np.nan
    assert not validate(only_forward, mini, straightline_min_items=5).by_code("STRAIGHT_LINING")


def test_apply_actions_defaults(mini):
    frame = crafted()
    report = validate(frame, mini)
    clean = apply_actions(frame, report)
    assert len(clean) == 10  # respondent-level flags are kept by default
    assert np.isnan(clean.loc[1, "ps_dsk1"]) and np.isnan(clean.loc[8, "ps_dsk1"])  # out of range
    assert np.isnan(clean.loc[3, "ps_dsk1"])  # -99
    assert clean["ps_dsk2"].isna().tolist() == [False, False, True, True, False, False, False, True, True, True]
    assert pd.api.types.is_float_dtype(clean["ps_dsk2"])  # numeric once the text is gone
    assert clean.loc[0, "ps_dsk2"] == 4.0
    assert frame.loc[1, "ps_dsk1"] == 7  # the input is not changed
    scored = score_instrument(clean, mini)  # the cleaned data score without errors
    assert scored["digital_skills"].notna().sum() >= 8


def test_apply_actions_drop_respondents_and_per_column_choices(mini):
    frame = crafted()
    report = validate(frame, mini)
    out = apply_actions(frame, report, {"STRAIGHT_LINING": "drop_respondents", "DUPLICATE_ID": "drop_respondents",
                                        "TOO_FEW_ANSWERED": "drop_respondents",
                                        "OUT_OF_RANGE:ps_dsk1": "keep", "NON_NUMERIC": "drop_respondents",
                                        "CONSTANT_ITEM": "set_missing"})
    assert out.index.tolist() == [0, 1, 3, 6, 9]  # rows 5, 6, 8 and the text rows 3, 9 dropped
    assert out.loc[1, "ps_dsk1"] == 7            # kept as asked
    assert out["ps_att2"].isna().all()           # constant item left out
    assert np.isnan(out.loc[9, "ps_dsk2"])       # "refused" still set to missing by default


def test_apply_actions_refuses_unknown_or_impossible_actions(mini):
    frame = crafted()
    report = validate(frame, mini)
    with pytest.raises(InputError, match="unknown action 'delete'"):
        apply_actions(frame, report, {"OUT_OF_RANGE": "delete"})
    with pytest.raises(InputError, match="'set_missing' is not possible for DUPLICATE_ID"):
        apply_actions(frame, report, {"DUPLICATE_ID": "set_missing"})
    with pytest.raises(InputError, match="validate the data again"):
        apply_actions(frame.iloc[:5], report)


def test_sample_data_straight_liners_are_found():
    params = json.loads((ROOT / "sample_data" / "parameters.json").read_text())
    truth = params["truth"]["straight_liners"]["public_servants"]
    data = read_data(ROOT / "sample_data" / "public_servants.csv").data
    report = validate(data, load_instrument("public_servant"))
    flagged = data["respondent_id"].to_numpy()[report.by_code("STRAIGHT_LINING")[0].rows]
    assert set(truth) <= set(flagged.tolist())
    assert len(flagged) <= len(truth) * 1.2
    assert {p.column for p in report.by_code("MISSING_CODE")} == {"ps_psm_ss2", "ps_rdy_fin2", "ps_eng3"}


# --------------------------------------------------------------------------- command

def _run(*args: str):
    return subprocess.run([sys.executable, "-m", "analysis", "validate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_command_prints_report_json_on_a_readable_file(tmp_path, mini):
    path = tmp_path / "crafted.csv"
    crafted().to_csv(path, index=False)
    done = _run(str(path), "--instrument", str(FIXTURES / "mini_instrument.yaml"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == "crafted.csv" and report["n_rows"] == 10
    assert report["row_numbering"] == "row 1 is the first respondent (line 2 of the file)"
    oor = [p for p in report["problems"] if p["code"] == "OUT_OF_RANGE"]
    assert oor == [{**oor[0], "column": "ps_dsk1", "count": 2, "example_rows": [2, 9]}]
    assert {p["code"] for p in report["problems"]} >= {"NON_NUMERIC", "MISSING_CODE", "DUPLICATE_ID",
                                                       "STRAIGHT_LINING", "TOO_FEW_ANSWERED"}


def test_command_on_the_bundled_sample_sheet_and_sav():
    done = _run("sample_data/public_servants.xlsx", "--instrument", "public_servant", "--sheet", "1", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n_rows"] > 1000 and report["format"] == "xlsx"
    done = _run("sample_data/citizens.sav", "--instrument", "citizen", "--json")
    assert done.returncode == 0, done.stderr
    assert not [p for p in json.loads(done.stdout)["problems"] if p["code"] == "MISSING_CODE"]


def test_command_with_a_mapping(tmp_path):
    path = tmp_path / "renamed.csv"
    crafted().rename(columns={"ps_dsk1": "Q1"}).to_csv(path, index=False)
    done = _run(str(path), "--instrument", str(FIXTURES / "mini_instrument.yaml"),
                "--mapping", '{"ps_dsk1": "Q1"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mapping"]["ps_dsk1"] == "Q1"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return make_fixtures.make_all(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("key, message", [
    ("empty", "the file is empty"), ("binary_csv", "not a text/CSV file"),
    ("truncated_xlsx", "damaged or incomplete"), ("sav_empty", "no respondents"),
    ("xlsx_formulas", "formulas without saved values"), ("wide", "10,000 columns"),
])
def test_command_exits_2_with_one_line_on_unreadable_files(bad_files, key, message):
    done = _run(str(bad_files[key]), "--instrument", "public_servant", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr


def test_command_exits_2_on_unknown_instrument_or_bad_mapping(tmp_path):
    path = tmp_path / "ok.csv"
    crafted().to_csv(path, index=False)
    done = _run(str(path), "--instrument", "no_such_survey")
    assert done.returncode == 2 and "no instrument called 'no_such_survey'" in done.stderr
    done = _run(str(path), "--instrument", str(FIXTURES / "mini_instrument.yaml"), "--mapping", "{not json")
    assert done.returncode == 2 and "cannot read the mapping" in done.stderr
    done = _run(str(tmp_path / "missing.csv"), "--instrument", "public_servant")
    assert done.returncode == 2 and "file not found" in done.stderr


def test_clean_gives_analysis_ready_data(mini):
    frame = crafted().rename(columns={"ps_dsk1": "PS.DSK1"})
    cleaned, report = clean(frame, mini)
    assert report.mapping["ps_dsk1"] == "PS.DSK1"
    assert "ps_dsk1" in cleaned.columns and "PS.DSK1" not in cleaned.columns
    assert cleaned["ps_dsk1"].isna().tolist() == [False, True, False, True, False, False, False, False, True, False]
    assert all(pd.api.types.is_float_dtype(cleaned[i]) or pd.api.types.is_integer_dtype(cleaned[i]) for i in ITEMS)


def test_command_on_a_limesurvey_export():
    done = _run(str(FIXTURES / "limesurvey_export.csv"), "--instrument", str(FIXTURES / "mini_instrument.yaml"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format"] == "limesurvey" and report["n_items_mapped"] == 7
    assert report["id_column"] == "id"
    # respondent 3 stopped on page 2: two of seven items answered
    assert [(p["code"], p["example_rows"]) for p in report["problems"]] == [
        ("MISSING_GROUP_ID", []), ("TOO_FEW_ANSWERED", [3])]  # no org_id column: ORG is not mapped
