"""Downloads cannot carry live formulas (OWASP CSV injection rule), in CSV and in XLSX."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from analysis.export import neutralise, to_csv_bytes, to_xlsx_bytes

ATTACKS = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\",\"y\")", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _frame():
    return pd.DataFrame({"answer": ATTACKS + ["plain text"], "score": [1.5, -2.0, 3, np.nan, 4, 5, 6],
                         "=HYPERLINK(1)": ["a", "b", "c", "d", "e", "f", "g"]})


def test_neutralise_only_text_that_starts_with_a_trigger():
    assert neutralise("=1+1") == "'=1+1" and neutralise("ok") == "ok" and neutralise(-3) == -3


def test_csv_cells_and_names_are_quoted():
    text = to_csv_bytes(_frame()).decode("utf-8")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert all(str(v).startswith("'") for v in back["answer"][:len(ATTACKS)])
    assert back["answer"].iloc[-1] == "plain text"
    assert "'=HYPERLINK(1)" in back.columns
    assert back["score"].iloc[1] == "-2.0" or float(back["score"].iloc[1]) == -2.0  # numbers stay numbers


def test_xlsx_has_no_formula_cell_and_keeps_the_text():
    wb = load_workbook(io.BytesIO(to_xlsx_bytes(_frame())))
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    answers = [ws.cell(row=r, column=1).value for r in range(2, 2 + len(ATTACKS))]
    assert answers == [a.replace("\r", "\n") for a in ATTACKS]  # XML keeps a CR as a line break
    assert ws.cell(row=1, column=3).value == "=HYPERLINK(1)" and ws.cell(row=1, column=3).data_type == "s"
    assert ws.cell(row=3, column=2).value == -2 and ws.cell(row=5, column=2).value is None
