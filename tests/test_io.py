"""Reading real survey files of every supported format, and refusing bad ones clearly."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.io import read_data
from analysis.mapping import apply_mapping, auto_map, mapping_table, normalise

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = ROOT / "sample_data"

_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_fixtures.make_all(tmp_path_factory.mktemp("import"))


@pytest.fixture(scope="module")
def mini():
    return load_instrument(FIXTURES / "mini_instrument.yaml")


# --------------------------------------------------------------------------- formats

def test_qualtrics_export_drops_header_rows_and_keeps_question_texts():
    result = read_data(FIXTURES / "qualtrics_export.csv")
    data, meta = result.data, result.meta
    assert meta["format"] == "qualtrics"
    assert meta["header_rows"] == 3
    assert len(data) == 4
    assert data["ResponseId"].tolist()[0] == "R_1a2B3c4D5e6F7g8"
    assert data["Q1_1"].tolist() == [4, 3, 5, 2]
    assert pd.api.types.is_numeric_dtype(data["Q1_2"]) and np.isnan(data["Q1_2"].iloc[3])
    # question texts with commas and a line break survive as labels
    assert meta["variable_labels"]["Q1_2"].endswith("I can judge online information, mostly.")
    assert "digital applications" in meta["variable_labels"]["Q1_4"]
    assert not any(str(v).startswith('{"ImportId"') for v in data.astype(str).to_numpy().ravel())
    assert any("Qualtrics" in n for n in meta["notes"])


def test_limesurvey_export_renames_subquestions_and_converts_answer_codes(mini):
    result = read_data(FIXTURES / "limesurvey_export.csv")
    data, meta = result.data, result.meta
    assert meta["format"] == "limesurvey"
    assert "DSK_ps_dsk1" in data.columns and "DSK[ps_dsk1]" not in data.columns
    assert meta["variable_labels"]["DSK_ps_dsk1"] == "DSK[ps_dsk1]"
    assert data["DSK_ps_dsk1"].tolist() == [4, 3, 5, 2]
    assert data["DSK_ps_dsk3"].iloc[2] != data["DSK_ps_dsk3"].iloc[2]  # blank answer -> NaN
    assert data["ATT_ps_att3"].tolist()[:2] == [2, 3]
    assert data["COMMENT"].iloc[0] == "fine"  # free text stays text
    mapping = auto_map(data.columns, mini)
    assert mapping == {i: f"{'DSK' if i.startswith('ps_dsk') else 'ATT'}_{i}" for i in
                       ["ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4", "ps_att1", "ps_att2", "ps_att3"]}


def test_semicolon_csv_with_decimal_comma():
    result = read_data(FIXTURES / "semicolon_decimal_comma.csv")
    assert result.meta["delimiter"] == ";" and result.meta["decimal"] == ","
    np.testing.assert_allclose(result.data["weight"], [1.25, 0.75, 1.5])
    assert result.data["ps_dsk1"].tolist() == [4, 3, 5]
    assert any("decimal comma" in n for n in result.meta["notes"])


def test_tab_separated_keeps_commas_and_semicolons_in_text():
    result = read_data(FIXTURES / "tab_separated.tsv")
    assert result.meta["delimiter"] == "\t"
    assert result.data["comment"].iloc[0] == "ok, fine"
    assert result.data["comment"].iloc[2] == "good; really"
    assert result.data.shape == (3, 5)


def test_pipe_delimited_and_utf8_bom_from_bytes():
    content = "\ufeffrespondent_id|ps_dsk1|name\n1|4|Åsa\n2|NA|Zoë\n".encode("utf-8")
    result = read_data(content, filename="export.txt")
    assert result.meta["encoding"] == "utf-8-sig"
    assert list(result.data.columns) == ["respondent_id", "ps_dsk1", "name"]
    assert result.data["name"].tolist() == ["Åsa", "Zoë"]
    assert np.isnan(result.data["ps_dsk1"].iloc[1])


def test_excel_sep_line_and_blank_rows():
    result = read_data(b"sep=;\r\nrespondent_id;ps_dsk1\r\n1;4\r\n;\r\n2;5\r\n", filename="excel.csv")
    assert result.data["ps_dsk1"].tolist() == [4, 5]
    assert any("sep=" in n for n in result.meta["notes"]) and any("empty rows" in n for n in result.meta["notes"])


def test_utf16_tab_text_from_excel():
    content = "respondent_id\tps_dsk1\tOrt\n1\t4\tZürich\n2\t5\tGenève\n".encode("utf-16")
    result = read_data(content, filename="unicode.txt")
    assert result.meta["encoding"] == "utf-16" and result.meta["delimiter"] == "\t"
    assert result.data["Ort"].tolist() == ["Zürich", "Genève"]


def test_html_saved_as_csv_is_refused():
    with pytest.raises(InputError, match="web page"):
        read_data(b"<!DOCTYPE html>\n<html><body>Please log in</body></html>\n", filename="export.csv")


def test_latin1_text_is_decoded_and_said(files):
    result = read_data(files["latin1"])
    assert result.data["Gemeinde"].tolist() == ["Köln", "Münster", "Gießen"]
    assert result.data["Kommentar"].iloc[2] == "ça va"
    assert result.meta["encoding"] in ("cp1252", "latin-1")
    assert any("not UTF-8" in n for n in result.meta["notes"])


def test_xlsx_sheet_choice(files):
    default = read_data(files["xlsx_two_sheets"])
    assert default.meta["sheets"] == ["About", "Responses"]
    assert default.meta["sheet"] == "Responses"  # the notes sheet is passed over
    assert default.data.shape == (8, 10)
    assert np.isnan(default.data["ps_dsk1"].iloc[1])
    by_number = read_data(files["xlsx_two_sheets"], sheet=2)
    pd.testing.assert_frame_equal(by_number.data, default.data)
    about = read_data(files["xlsx_two_sheets"], sheet="about")
    assert about.data.shape == (1, 1)
    with pytest.raises(InputError, match="no sheet 'Answers'.*About, Responses"):
        read_data(files["xlsx_two_sheets"], sheet="Answers")


def test_xlsx_upload_as_bytes_and_file_object(files):
    content = files["xlsx_two_sheets"].read_bytes()
    from_bytes = read_data(content, filename="upload.xlsx")
    from_buffer = read_data(io.BytesIO(content), filename="upload.xlsx")
    unnamed = read_data(content)  # no name: the ZIP signature says it is a workbook
    assert from_bytes.meta["source"] == "upload.xlsx"
    pd.testing.assert_frame_equal(from_bytes.data, from_buffer.data)
    pd.testing.assert_frame_equal(from_bytes.data, unnamed.data)


def test_sav_keeps_labels_and_turns_user_missing_codes_into_nan(files):
    result = read_data(files["sav"])
    data, meta = result.data, result.meta
    assert meta["format"] == "sav"
    assert data.shape == (8, 10)
    assert np.isnan(data["ps_dsk1"].iloc[2]) and np.isnan(data["ps_dsk2"].iloc[5])
    assert np.isnan(data["ps_att1"].iloc[6])  # inside the declared range -999..-90
    assert meta["missing_codes"]["ps_dsk1"] == [-99, 99]
    assert meta["missing_codes"]["ps_att1"] == [-99]
    assert meta["missing_ranges"]["ps_att1"] == [[-999, -90]]
    assert meta["value_labels"]["ps_dsk1"][5] == "Strongly agree"
    assert meta["value_labels"]["gender"] == {1: "woman", 2: "man", 3: "other"}
    assert meta["variable_labels"]["ps_dsk1"] == "I learn new online tools quickly."
    assert data["ps_dsk1"].iloc[0] == 4  # codes stay numeric
    # the same file uploaded as bytes
    uploaded = read_data(files["sav"].read_bytes(), filename="labelled.sav")
    pd.testing.assert_frame_equal(uploaded.data, data)


def test_dta_keeps_value_labels_and_extended_missing(files):
    result = read_data(files["dta"])
    assert result.meta["format"] == "dta"
    assert result.data.shape == (8, 10)
    assert result.meta["value_labels"]["ps_dsk1"][1] == "Strongly disagree"
    assert result.meta["value_labels"]["gender"][3] == "other"
    assert result.meta["variable_labels"]["org_id"] == "Organisation"
    assert np.isnan(result.data["ps_dsk3"].iloc[3])
    assert result.meta["missing_codes"] == {"ps_dsk2": [".a"]}
    expected = make_fixtures.survey_frame().astype(float)
    expected.loc[3, "ps_dsk3"] = np.nan
    expected.loc[4, "ps_dsk2"] = np.nan  # .a became missing
    pd.testing.assert_frame_equal(result.data, expected, check_dtype=False)


def test_file_format_overrides_the_extension():
    content = b"respondent_id,ps_dsk1\n1,4\n"
    assert read_data(content, filename="export.dat", file_format="csv").data.shape == (1, 2)
    with pytest.raises(InputError, match="unknown file format 'json'"):
        read_data(content, filename="x.csv", file_format="json")


def test_na_tokens_read_as_missing_but_codes_stay():
    result = read_data(b"respondent_id,ps_dsk1,ps_dsk2\n1,NA,-99\n2,3,4\n3,N/A,2\n", filename="x.csv")
    assert np.isnan(result.data["ps_dsk1"].iloc[0]) and np.isnan(result.data["ps_dsk1"].iloc[2])
    assert result.data["ps_dsk2"].tolist() == [-99, 4, 2]  # validation reports -99
    assert any("'NA'" in n for n in result.meta["notes"])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("key, pattern", [
    ("empty", "the file is empty"),
    ("blank", "the file is empty"),
    ("binary_csv", "not a text/CSV file: it looks like a PNG image"),
    ("renamed_xlsx", "Excel workbook.*rename it to .xlsx"),
    ("truncated_xlsx", "damaged or incomplete"),
    ("sav_empty", "has variables \\(10\\) but no respondents"),
    ("wide", "10,000 columns, more than the limit of 5,000.*keep only the columns"),
    ("xlsx_formulas", "4 cells on sheet 'Data' hold formulas without saved values \\(e.g. cell D2\\)"
                      ".*open and save the file in Excel/LibreOffice, or export it as CSV"),
    ("header_only", "column names but no respondents"),
    ("unsupported", "unsupported file type '.pdf'"),
    ("xls", "old Excel .xls files are not supported"),
    ("ragged", "line 3 has more fields than the header"),
])
def test_bad_files_raise_one_clear_input_error(files, key, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        read_data(files[key])
    assert info.value.file == files[key].name
    assert "\n" not in str(info.value)


def test_bad_uploads_as_bytes(files):
    with pytest.raises(InputError, match="the file is empty"):
        read_data(b"", filename="upload.csv")
    with pytest.raises(InputError, match="damaged or incomplete"):
        read_data(files["truncated_xlsx"].read_bytes(), filename="upload.xlsx")
    with pytest.raises(InputError, match="no respondents"):
        read_data(files["sav_empty"].read_bytes(), filename="upload.sav")
    with pytest.raises(InputError, match="not an Excel workbook: it looks like text"):
        read_data(b"a,b\n1,2\n", filename="upload.xlsx")
    with pytest.raises(InputError, match="not a readable SPSS file"):
        read_data(b"\x00\x01garbage" * 10, filename="upload.sav")


def test_size_limit_is_stated(files):
    with pytest.raises(InputError, match=r"over the limit of 1\.0 KB"):
        read_data(files["xlsx_two_sheets"], max_bytes=1024)
    with pytest.raises(InputError, match=r"over the limit of 100 bytes"):
        read_data(b"x,y\n" + b"1,2\n" * 50, filename="upload.csv", max_bytes=100)


@pytest.mark.slow
def test_column_limit_is_settable(files):
    assert read_data(files["wide"], max_columns=20_000).data.shape == (3, 10_000)
    with pytest.raises(InputError, match="3 columns, more than the limit of 2"):
        read_data(b"a,b,c\n1,2,3\n", filename="x.csv", max_columns=2)


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_data(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- mapping

def test_auto_map_exact_then_loose_then_platform_styles(mini):
    columns = ["respondent_id", "PS_DSK1", "ps.dsk2", "ps-dsk3", "Q4[ps_dsk4]", "ps_att1_1", "ps_att2",
               "ATT3", "gender"]
    mapping = auto_map(columns, mini)
    assert mapping == {"ps_dsk1": "PS_DSK1", "ps_dsk2": "ps.dsk2", "ps_dsk3": "ps-dsk3",
                       "ps_dsk4": "Q4[ps_dsk4]", "ps_att1": "ps_att1_1", "ps_att2": "ps_att2"}
    assert normalise("PS.Dsk-1") == "psdsk1"


def test_auto_map_prefers_exact_and_never_uses_a_column_twice(mini):
    mapping = auto_map(["ps_dsk1", "PS_DSK1", "ps_dsk1_1"], mini)
    assert mapping == {"ps_dsk1": "ps_dsk1"}
    # two columns that both look like one item: ambiguous, left for the user
    assert auto_map(["PS_DSK2", "ps.dsk2"], mini) == {}


def test_mapping_table_and_apply_mapping(mini):
    data = pd.DataFrame({"respondent_id": [1, 2], "org_id": [5, 5], "Q1": [4, 5], "Q2": [3, 3],
                         "ps_att1": [9, 9], "gender": [1, 2]})
    mapping = {"ps_dsk1": "Q1", "ps_dsk2": "Q2", "ps_dsk3": "Qx", "ps_att2": "Q2"}
    table = mapping_table(data.columns, mini, mapping)
    assert list(table.columns) == ["item", "construct", "text", "reverse", "column", "status"]
    status = dict(zip(table["item"], table["status"]))
    assert status == {"ps_dsk1": "mapped", "ps_dsk2": "used twice", "ps_dsk3": "unknown column",
                      "ps_dsk4": "not found", "ps_att1": "not found", "ps_att2": "used twice",
                      "ps_att3": "not found"}
    assert table.set_index("item").loc["ps_dsk4", "reverse"]
    assert table.set_index("item").loc["ps_dsk1", "construct"] == "digital_skills"
    with pytest.raises(InputError, match="mapped to two items"):
        apply_mapping(data, mapping | {"ps_dsk3": None})
    with pytest.raises(InputError, match="'Qx', which is not in the data"):
        apply_mapping(data, {"ps_dsk3": "Qx"})
    renamed = apply_mapping(data, {"ps_dsk1": "Q1", "ps_att1": "Q2"})
    # the old ps_att1 column is not the mapped one: kept under another name, not overwritten
    assert list(renamed.columns) == ["respondent_id", "org_id", "ps_dsk1", "ps_att1", "ps_att1_unmapped", "gender"]
    assert renamed["ps_att1"].tolist() == [3, 3]
    assert list(data.columns)[2] == "Q1"  # input untouched


# --------------------------------------------------------------------------- bundled sample data

@pytest.mark.parametrize("stem, instrument", [("public_servants", "public_servant"), ("citizens", "citizen")])
def test_sample_data_reads_the_same_in_every_format(stem, instrument):
    frames = {}
    for ext in ("csv", "xlsx", "sav"):
        path = SAMPLE / f"{stem}.{ext}"
        assert path.exists(), f"{path} is missing: run sample_data/generate.py"
        frames[ext] = read_data(path).data
    inst = load_instrument(instrument)
    mapping = auto_map(frames["csv"].columns, inst)
    assert len(mapping) == len(inst.items)  # every item found by its id
    csv = frames["csv"].copy()
    sav_meta = read_data(SAMPLE / f"{stem}.sav").meta
    # the .sav declares the user-missing code; CSV and XLSX carry it as a number
    for col, codes in sav_meta["missing_codes"].items():
        csv[col] = csv[col].where(~csv[col].isin(codes))
    for ext in ("xlsx", "sav"):
        other = frames[ext]
        assert list(other.columns) == list(csv.columns), ext
        compare_csv = csv if ext == "sav" else frames["csv"]
        for col in csv.columns:
            a, b = compare_csv[col], other[col]
            if pd.api.types.is_numeric_dtype(a):
                np.testing.assert_allclose(b.astype(float), a.astype(float), err_msg=f"{ext} {col}")
            else:
                assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), (ext, col)


def test_qualtrics_export_saved_as_xlsx(tmp_path):
    raw = pd.read_csv(FIXTURES / "qualtrics_export.csv", header=None, dtype=str)
    path = tmp_path / "qualtrics.xlsx"
    raw.to_excel(path, header=False, index=False)
    result = read_data(path)
    assert result.meta["format"] == "qualtrics" and result.data.shape == (4, 18)
    assert result.data["Q1_1"].tolist() == [4, 3, 5, 2]
    assert result.meta["variable_labels"]["ps_att1"] == "Residents know things we do not."


def test_an_ascii_file_reads_as_the_same_file_with_one_accented_answer():
    """An ASCII CSV goes to the columnar reader as bytes, without decoding the whole file; a
    UTF-8 file with one non-ASCII character is decoded first. Both give the same frame, also
    with a quoted cell and with Excel's ``sep=`` line."""
    rows = "".join(f"{i},{i % 5 + 1},{'' if i % 7 == 0 else i % 3},\"a, b\",x\n" for i in range(1, 400))
    for prefix in ("", "sep=,\n"):
        plain = f"{prefix}id,q1,q2,quoted,word\n{rows}"
        accented = plain.replace("x\n", "é\n", 1)
        a = read_data(plain.encode(), filename="plain.csv")
        b = read_data(accented.encode("utf-8"), filename="accented.csv")
        assert a.meta["encoding"] == b.meta["encoding"] == "utf-8"
        assert a.data["word"].iloc[0] == "x" and b.data["word"].iloc[0] == "é"
        pd.testing.assert_frame_equal(a.data.drop(columns="word"), b.data.drop(columns="word"))
        assert a.data["q2"].isna().sum() == 57 and a.data["quoted"].iloc[0] == "a, b"


def test_a_file_of_white_space_only_is_empty():
    with pytest.raises(InputError, match="empty"):
        read_data(b" \r\n\t \n", filename="blank.csv")
