"""The columnar CSV reader (pyarrow) gives the frame and notes of the general reader
(every cell as text, then ``_coerce``) on the files that tell them apart."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import io_csv
from analysis.io import read_data

CASES = {
    "blanks_and_ints": b"id,a,b\n1,1,\n2,,3\n3,5,4\n",
    "na_tokens": b"id,a,b\n1,NA,2\n2,3,N/A\n3,nan,4\n4,NaN,#NULL!\n",
    "whitespace": b"id,a,b\n1, 3 ,2\n2,4 ,  \n3,  5,1\n",
    "text_and_numbers": b"id,a,gender\n1,3,woman\n2,don't know,man\n3,4,\n",
    "floats": b"id,x,y\n1,0.1234567890123456789,1e-320\n2,3.0,2.5\n3,-0.0,1E5\n",
    "whole_floats": b"id,x\n1,3.0\n2,4.0\n",
    "booleans": b"id,flag\n1,TRUE\n2,false\n3,True\n",
    "dates": b"id,when\n1,2024-01-05\n2,2024-02-06 10:00:00\n",
    "plus_and_leading_zero": b"id,a,b\n007,+3,.5\n008,-2,5.\n",
    "inf_and_big": b"id,a,b\n1,inf,12345678901234567890\n2,-inf,1\n",
    "quoted": b'id,comment,a\n1,"hello, world",3\n2,"two\nlines",4\n3,"say ""hi""",\n',
    "duplicate_and_blank_names": b"a,a,,a.1, b \n1,2,3,4,5\n6,7,8,9,10\n",
    "empty_rows_and_columns": b"id,a,Unnamed: 2\n1,2,\n,,\n3,4,\n",
    "semicolon_decimal_comma": "id;a;b\n1;3,5;2\n2;4,25;1\n3;1.5;x\n".encode("utf-8"),
    "latin1": "id,town\n1,Zürich\n2,Malmö\n".encode("latin-1"),
    "bom_and_sep_line": b"\xef\xbb\xbfsep=;\nid;a\n1;2\n",
    "all_blank_column": b"id,a,b\n1,,2\n2,,3\n",
    "ragged": b"id,a,b\n1,2\n3,4,5\n",
    "crlf": b"id,a\r\n1,2\r\n3,\r\n",
    "limesurvey": b"id,submitdate,lastpage,startlanguage,Q1[SQ001]\n1,2024-01-01,3,en,A1\n2,2024-01-02,3,en,AO02\n",
    "nan_text_as_answer": b"id,a\n1,NAN\n2,3\n",
}


def _general(content: bytes, monkeypatch) -> tuple[pd.DataFrame, dict]:
    with monkeypatch.context() as m:
        m.setattr(io_csv, "_read_text_arrow", lambda *a, **k: None)
        res = read_data(content, filename="x.csv")
    return res.data, res.meta


@pytest.mark.parametrize("name", sorted(CASES))
def test_columnar_reader_equals_general_reader(name, monkeypatch):
    content = CASES[name]
    expected, expected_meta = _general(content, monkeypatch)
    got = read_data(content, filename="x.csv")
    pd.testing.assert_frame_equal(got.data, expected, check_dtype=True, check_index_type=True)
    assert got.meta == expected_meta


def test_columnar_reader_is_used_for_plain_tables(monkeypatch):
    calls = []
    real = io_csv._read_text_arrow

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(io_csv, "_read_text_arrow", spy)
    read_data(CASES["blanks_and_ints"], filename="x.csv")
    read_data(CASES["ragged"], filename="x.csv")
    assert calls == [True, False]  # ragged rows go to the general reader


def test_numbers_with_blanks_are_floats_and_text_stays_text():
    data = read_data(CASES["text_and_numbers"], filename="x.csv").data
    assert data["id"].dtype == np.int64 and data["a"].dtype == object
    data = read_data(CASES["blanks_and_ints"], filename="x.csv").data
    assert data["a"].dtype == np.float64 and data["a"].isna().sum() == 1


def test_types_that_change_after_the_first_block(monkeypatch):
    """The streaming reader types each column from its first block (1 MB); columns whose later
    answers need another type (blank then numbers, whole numbers then decimals or text) make
    the whole-file reader infer the type, so the frame is still the general reader's."""
    n, later = 150_000, 120_000
    lines = ["id,blank_then_numbers,ints_then_decimals,numbers_then_text,plain"]
    for i in range(n):
        lines.append(f"{i},{'' if i < later else i % 5},{i % 7 if i < later else 2.5},"
                     f"{i % 3 if i < later else 'n/a answer'},{i % 4}")
    content = ("\n".join(lines) + "\n").encode()
    assert len(content) > 2 * 1024 * 1024
    expected, expected_meta = _general(content, monkeypatch)
    got = read_data(content, filename="x.csv")
    pd.testing.assert_frame_equal(got.data, expected, check_dtype=True, check_index_type=True)
    assert got.meta == expected_meta
    part = read_data(content, filename="x.csv", columns=lambda names: ["ints_then_decimals", "plain"])
    assert part.meta["columns_read"] == ["id", "ints_then_decimals", "plain"]
    pd.testing.assert_frame_equal(part.data, expected[["id", "ints_then_decimals", "plain"]], check_dtype=True)
