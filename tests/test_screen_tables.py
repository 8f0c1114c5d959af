"""APA-like tables on screen (``ui.tables`` with ``analysis.formatting``'s column words and
formats): heads in words, p-values as APA, empty cells for undefined values, numbers kept
numeric where every value is defined (so a click on the head sorts by value)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from analysis import formatting


def _script():
    import numpy as np
    import pandas as pd

    from ui import tables
    df = pd.DataFrame({"term": ["(Intercept)", "x"], "estimate": [2.75231, -0.00012], "df": [np.nan, 55.42],
                       "p": [1e-23, 0.0423], "n": [1500, 12], "r_drop": [0.4123, np.nan],
                       "suppressed": [False, True]})
    tables.table(df, "t", note="df: Satterthwaite.")


def test_cells_heads_and_note():
    at = AppTest.from_function(_script).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert frame["df"].tolist() == ["", "55.42"]  # an undefined df is an empty cell, not None
    assert frame["r_drop"].tolist() == [".41", ""]  # a coefficient bounded by 1: no leading zero
    assert frame["suppressed"].tolist() == ["no", "yes"]
    assert frame["estimate"].dtype.kind == "f"  # every value defined: still numbers (sorting)
    heads = {k: v.get("label") for k, v in json.loads(at.dataframe[0].proto.columns).items()}
    assert heads["r_drop"] == "Item-rest r" and heads["estimate"] == "Estimate" and heads["n"] == "n"
    assert any(c.value == "*Note.* df: Satterthwaite." for c in at.caption)
    styled = at.dataframe[0].proto.arrow_data.styler.display_values
    assert styled  # the Styler's display: APA p-values and rounded estimates
    from pyarrow import ipc
    shown = ipc.open_stream(styled).read_pandas()
    assert shown["p"].tolist() == ["< .001", ".042"] and shown["estimate"].tolist() == ["2.75", "0.00"]


def test_kinds_and_labels():
    kinds = {c: formatting.column_kind(c, s) for c, s in pd.DataFrame(
        {"p_value": [0.5], "n_groups": [3.0], "alpha": [0.8], "alpha_big": [3.0], "icc1": [1.5], "mean": [3.2],
         "label": ["x"], "flag": [True]}).items()}
    assert kinds == {"p_value": "p", "n_groups": "count", "alpha": "bounded", "alpha_big": "number",
                     "icc1": "number", "mean": "number", "label": "text", "flag": "text"}
    assert formatting.column_label("n_groups") == "Groups" and formatting.column_label("icc2") == "ICC(2)"
    assert formatting.column_label("n_answered") == "n answered"
    assert formatting.column_cells(pd.Series([0.00049, 0.9999, np.nan]), "p") == ["< .001", "1.000", ""]
    assert formatting.column_cells(pd.Series([-0.004, 1234.0]), "number", 2) == ["0.00", "1234.00"]


def _large_script():
    import numpy as np
    import pandas as pd

    from ui import tables
    rows = tables.BROWSER_FORMATTED_ROWS + 1
    rng = np.random.default_rng(3)
    index = rng.uniform(0, 100, rows)
    index[5] = np.nan  # a withheld organisation
    df = pd.DataFrame({"group": [f"org {i}" for i in range(rows)], "n": rng.integers(10, 2000, rows),
                       "index": index, "rwg": rng.uniform(0, 1, rows), "p": rng.uniform(0, 1, rows)})
    tables.table(df, "big", decimals=1, digits={"rwg": 2})


def test_a_large_table_is_formatted_by_the_browser():
    """More than BROWSER_FORMATTED_ROWS rows: no Styler (its cells written on the server); the
    decimals as printf formats, numbers kept numeric, empty cells and p-values still text."""
    at = AppTest.from_function(_large_script).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert not at.dataframe[0].proto.arrow_data.styler.display_values  # no Styler
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["n"]["type_config"]["format"] == "localized"
    assert columns["rwg"]["type_config"]["format"] == "%.2f"
    assert frame["n"].dtype.kind == "i" and frame["rwg"].dtype.kind == "f"  # numbers: sorting by value
    assert frame["index"].iloc[5] == "" and frame["index"].iloc[0] == formatting.cell(frame["index"].iloc[0], 1)
    assert all(isinstance(v, str) for v in frame["p"])
