"""Reading the screens' APA-like tables back as numbers in AppTest (``ui.tables``): a numeric
column with an empty cell is sent as text (``"1,500"``, ``".81"``, ``"< .001"``)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def numbers(values) -> pd.Series:
    """The cells as floats: thousands separators dropped, ``.81`` read as 0.81, an empty cell
    as NaN and ``< .001`` as 0.0005 (below .001: what the cell says)."""
    def one(v):
        if isinstance(v, (int, float, np.number)):
            return float(v)
        text = str(v).strip().replace(",", "")
        if not text:
            return np.nan
        if text.startswith("<"):
            return float(text.lstrip("< ")) / 2
        return float(text.rstrip("%"))
    return pd.Series([one(v) for v in values], index=getattr(values, "index", None), dtype=float)


def assert_shown(screen, expected, decimals: int) -> None:
    """The screen's cells equal ``expected`` rounded to ``decimals`` (what an APA table shows;
    both undefined where the screen's cell is empty)."""
    got = numbers(screen).to_numpy()
    want = np.asarray(expected, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert (np.isnan(got) == np.isnan(want)).all(), (got, want)
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], np.round(want[ok], decimals), atol=0.51 * 10.0 ** -decimals)
