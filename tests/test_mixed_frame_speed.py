"""The model frame's set-up on a national survey, and its agreement with the slower set-up.

``analysis.mixed.frame.model_frame`` codes a grouping column once per distinct value on its
own dtype (integers by value, Arrow strings by pyarrow's dictionary encoding, categoricals by
their codes) instead of a label per row, and skips the tall pivoted QR of the rank check when
the cross products show full rank.  These tests pin that: the codes and labels against the
previous implementation (``analysis/mixed/frame.py`` at commit 45e8a45, copied below) for
integer, float, text, categorical, boolean, mixed and date group columns, single and
interacted; the rank check's messages and its shortcut's soundness; the model matrices; and
the fast paths themselves (no label per row, no QR), counted rather than timed.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import analysis.mixed.frame as mf
from analysis.errors import InputError
from analysis.mixed import fit
from analysis.mixed.formula import _level_label, is_categorical
from analysis.mixed.frame import _check_rank, _clearly_full_rank, _group_codes, model_frame


# --------------------------------------------------------------- the previous implementation
def _previous_row_labels(values: pd.Series) -> np.ndarray:
    if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "categorical"):
        return np.array([_level_label(v) for v in values.to_numpy()], dtype=object)
    codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=False)
    labels = np.array([_level_label(u) for u in uniques], dtype=object)
    return labels[codes]


def _previous_group_codes(data: pd.DataFrame, group: tuple[str, ...]):
    cols = []
    for var in group:
        values = data[var]
        cols.append(_previous_row_labels(values) if is_categorical(values) else values.to_numpy())
    if len(group) == 1:
        keys = pd.Series(cols[0], index=data.index)
        uniques = sorted(pd.unique(keys))
        labels = [_level_label(u) for u in uniques]
        codes = pd.Categorical(keys, categories=uniques).codes.astype(np.int64)
        return codes, labels
    parts = [pd.factorize(pd.Series(c), sort=True) for c in cols]
    key = np.zeros(len(data), dtype=np.int64)
    for codes_j, uniq_j in parts:
        key = key * len(uniq_j) + codes_j
    uniq_keys, codes = np.unique(key, return_inverse=True)
    labels = []
    for k in uniq_keys:
        idx = []
        for _codes_j, uniq_j in reversed(parts):
            idx.append(k % len(uniq_j))
            k //= len(uniq_j)
        labels.append(":".join(_level_label(uniq_j[i]) for (_, uniq_j), i in zip(parts, reversed(idx))))
    return codes.astype(np.int64), labels


# ------------------------------------------------------------------------ group columns
N = 400
RNG = np.random.default_rng(5)
G = RNG.integers(0, 23, N)
NAMES = np.array(["b", "B", "a", "Zeta", "émile", "10", "9", "a b", "x-1", "ß", "Ö", "z", "y", "_u",
                  " lead", "m", "n", "o", "p", "q", "1.5", "2", "Q"], dtype=object)


def _with_missing(values) -> pd.Series:
    s = pd.Series(values).copy()
    s.iloc[[3, 50, 51, 399]] = None
    return s


GROUP_COLUMNS = {
    "int64": G.astype(np.int64) * 7 - 30,
    "int32": G.astype(np.int32),
    "uint8": G.astype(np.uint8),
    "Int64 with NA": _with_missing(pd.array(G * 3, dtype="Int64")),
    "int64[pyarrow]": pd.array(G + 100, dtype="int64[pyarrow]"),
    "float ids": G.astype(float) * 2 - 9,
    "float ids with NaN": _with_missing(G.astype(float)),
    "object text": pd.Series(NAMES[G], dtype=object),
    "object text with None": _with_missing(pd.Series(NAMES[G], dtype=object)),
    "Arrow text": pd.Series(NAMES[G], dtype="str"),
    "Arrow text with NaN": _with_missing(pd.Series(NAMES[G], dtype="str")),
    "string[python]": pd.Series(NAMES[G], dtype="string[python]"),
    "string[pyarrow] with NA": _with_missing(pd.Series(NAMES[G], dtype="string[pyarrow]")),
    "categorical text": pd.Categorical(NAMES[G], categories=[*NAMES[::-1], "unused"]),
    "ordered categorical with NaN": _with_missing(pd.Categorical(NAMES[G], categories=[*NAMES[5:], *NAMES[:5]],
                                                                 ordered=True)),
    "categorical ints": pd.Categorical(G * 4, categories=sorted(set(G * 4))[::-1]),
    "categorical floats": pd.Categorical(G / 2),
    "categorical of Arrow text": pd.Series(NAMES[G], dtype="str").astype("category"),
    "categorical of mixed objects": pd.Categorical(np.array([1.0, "1", "a", 2, 2.5], dtype=object)[G % 5]),
    "bool": G % 2 == 0,
    "boolean with NA": _with_missing(pd.array(G % 3 == 0, dtype="boolean")),
    "bool[pyarrow]": pd.array(G % 2 == 1, dtype="bool[pyarrow]"),
    "object ints": pd.Series((G * 11).tolist(), dtype=object),
    "object True, 1.0, 'a', 0": pd.Series(np.array([True, 1.0, "a", 2, "b", False, 0], dtype=object)[G % 7]),
    "object 3, '3', 4.0": pd.Series(np.array([3, "3", 4.0, "x"], dtype=object)[G % 4]),
    "datetime64": pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(G, unit="D")),
    "object dates": pd.Series([dt.date(2021, 1, 1 + int(i)) for i in G], dtype=object),
}


def _table(group_values) -> pd.DataFrame:
    x = RNG.normal(size=N)
    y = 0.5 * x + RNG.normal(size=23)[G] + RNG.normal(size=N)
    table = pd.DataFrame({"y": y, "x": x, "g": group_values, "h": pd.Series(NAMES[(G * 7 + N % 3) % 23], dtype="str"),
                          "k": (G % 5).astype(np.int64)})
    table.index = pd.Index(np.arange(N) * 3 + 5)
    return table


@pytest.mark.parametrize("dtype", list(GROUP_COLUMNS))
@pytest.mark.parametrize("formula", ["y ~ x + (1 | g)", "y ~ x + (1 + x | g)", "y ~ x + (1 | g:h)",
                                     "y ~ x + (1 | k/g)", "y ~ x + (1 | h:g:k)", "y ~ x + (1 | g) + (1 | h)"])
def test_group_codes_and_labels_as_before(dtype, formula):
    """Every random term's codes (int64) and level labels equal the previous implementation's on
    the rows used, for every group dtype, single and interacted."""
    frame = model_frame(formula, _table(GROUP_COLUMNS[dtype]))
    assert frame.terms
    for term in frame.terms:
        codes, labels = _previous_group_codes(frame.data, term.spec.group)
        assert term.codes.dtype == np.int64
        np.testing.assert_array_equal(term.codes, codes)
        assert term.levels == labels
        assert all(type(label) is str for label in term.levels)


@pytest.mark.parametrize("values, codes, labels", [
    (pd.Series(["b", "B", "a", "10", "9", "b", "é"], dtype="str"), [4, 2, 3, 0, 1, 4, 5],
     ["10", "9", "B", "a", "b", "é"]),                                   # text by code point
    (np.array([30, -2, 7, 30, 100, -2]), [2, 0, 1, 2, 3, 0], ["-2", "7", "30", "100"]),   # ids by value
    (np.array([3.0, 10.0, 2.0, 3.0]), [1, 2, 0, 1], ["2", "3", "10"]),
    (pd.Categorical(["z", "a", "m", "z"], categories=["m", "z", "q", "a"]), [2, 0, 1, 2], ["a", "m", "z"]),
    (pd.Categorical([10, 9, 10, 100], categories=[100, 10, 9]), [0, 2, 0, 1], ["10", "100", "9"]),
    (np.array([True, False, True]), [1, 0, 1], ["FALSE", "TRUE"]),
    (pd.Series([True, 1.0, "a", 1, 0, False], dtype=object), [3, 1, 4, 1, 0, 2], ["0", "1", "FALSE", "TRUE", "a"]),
])
def test_group_levels_pinned(values, codes, labels):
    """The levels' order and labels, written out: numbers by value, anything else by its label
    (categories by label, not by the categories' order; unused categories dropped)."""
    got_codes, got_labels = _group_codes(pd.DataFrame({"g": values}), ("g",))
    assert got_codes.tolist() == codes
    assert got_labels == labels


def test_interaction_levels_pinned():
    data = pd.DataFrame({"a": np.array([2, 1, 2, 1, 2]), "b": pd.Series(["y", "x", "x", "x", "y"], dtype="str")})
    codes, labels = _group_codes(data, ("a", "b"))
    assert codes.tolist() == [2, 0, 1, 0, 2]
    assert labels == ["1:x", "2:x", "2:y"]


def test_ranef_and_predictions_keep_the_group_order():
    """The ranef table (caterpillar plots) lists the groups in the same order as before, and the
    predictions find each row's group."""
    table = _table(GROUP_COLUMNS["Arrow text with NaN"])
    result = fit("y ~ x + (1 | g)", table)
    _, labels = _previous_group_codes(table.dropna(), ("g",))
    assert result.ranef()["level"].tolist() == labels
    np.testing.assert_allclose(result.predict(table.dropna()).to_numpy(), result.fitted.to_numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- fast paths
@pytest.mark.parametrize("dtype", ["int64", "float ids with NaN", "Arrow text", "object text", "categorical text",
                                   "categorical of Arrow text", "bool", "boolean with NA", "string[pyarrow] with NA"])
def test_common_group_columns_are_not_labelled_row_by_row(monkeypatch, dtype):
    """Integer, text, categorical and boolean group columns get a label per distinct value,
    not per row (the row-by-row fallback is for mixed objects and dates)."""
    def row_by_row(values):
        raise AssertionError("labelled row by row")
    monkeypatch.setattr(mf, "_row_labels", row_by_row)
    frame = model_frame("y ~ x + (1 | g) + (1 | g:h)", _table(GROUP_COLUMNS[dtype]))
    assert all(t.n_levels > 1 for t in frame.terms)


def test_full_rank_design_skips_the_tall_qr(monkeypatch):
    """A well-conditioned design on many rows is not QR-factorised; the shortcut's decision is
    the QR's."""
    import scipy.linalg

    def no_qr(*args, **kwargs):
        raise AssertionError("tall QR")
    monkeypatch.setattr(scipy.linalg, "qr", no_qr)
    rng = np.random.default_rng(1)
    n = 50_000
    table = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "z": rng.normal(5, 1, n),
                          "g": rng.integers(0, 200, n)})
    frame = model_frame("y ~ x * z + (1 | g)", table)
    assert frame.X.shape == (n, 4)


# ---------------------------------------------------------------------------- rank check
def _qr_decision(X, names):
    """The rank check without its shortcut: the pivoted QR's message, or None."""
    try:
        _check_rank_qr_only(X, names)
    except InputError as e:
        return str(e)
    return None


def _check_rank_qr_only(X, names):
    original = mf._clearly_full_rank
    mf._clearly_full_rank = lambda X: False
    try:
        _check_rank(X, names)
    finally:
        mf._clearly_full_rank = original


def _decision(X, names):
    try:
        _check_rank(X, names)
    except InputError as e:
        return str(e)
    return None


def test_rank_messages_unchanged():
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(size=n)
    ones = np.ones(n)
    cases = {
        "x2": (np.column_stack([ones, x, 2 * x]), ["(Intercept)", "x", "x2"]),
        "zero": (np.column_stack([ones, x, np.zeros(n)]), ["(Intercept)", "x", "z"]),
        "underflow": (np.column_stack([ones, x, x * 1e-170]), ["(Intercept)", "x", "x3"]),
        "constant": (np.column_stack([ones, x, ones]), ["(Intercept)", "x", "c"]),
        "near": (np.column_stack([ones, x, x + 1e-9 * rng.normal(size=n)]), ["(Intercept)", "x", "x_near"]),
        "short": (np.column_stack([ones, x, 2 * x])[:2], ["(Intercept)", "x", "x2"]),
    }
    expected = {
        "x2": "fixed effects are collinear (rank deficient): x2 can be written from the other predictors",
        "zero": "the fixed-effect column(s) z are all zero in the rows used",
        "underflow": "the fixed-effect column(s) x3 are all zero in the rows used",
        "constant": "fixed effects are collinear (rank deficient): c can be written from the other predictors",
        "near": "fixed effects are collinear (rank deficient): x_near can be written from the other predictors",
        "short": "fixed effects are collinear (rank deficient): x2 can be written from the other predictors",
    }
    for name, (X, names) in cases.items():
        message = _decision(X, names)
        assert message is not None and message.startswith(expected[name]), name
        assert message == _qr_decision(X, names), name


@pytest.mark.parametrize("n", [4, 30, 1_000, 20_000])
def test_shortcut_never_contradicts_the_qr(n):
    """Designs whose last column approaches a combination of the others, across the QR's
    threshold: whenever the shortcut says full rank, the QR finds full rank, and the check's
    outcome is the QR's."""
    rng = np.random.default_rng(n)
    p = 3
    tol = 1e-7 * max(n, p)
    base = np.column_stack([np.ones(n), rng.normal(size=n)])
    noise = rng.normal(size=n)
    noise -= base @ np.linalg.lstsq(base, noise, rcond=None)[0]
    noise /= np.linalg.norm(noise)
    direction = base @ np.array([0.3, 1.0])
    direction /= np.linalg.norm(direction)
    seen_shortcut = seen_qr = False
    for eps in np.geomspace(tol / 100, 100 * tol, 41):
        X = np.column_stack([base, 5.0 * (direction + eps * noise)])
        names = ["(Intercept)", "x", "w"]
        if _clearly_full_rank(X):
            seen_shortcut = True
            assert _qr_decision(X, names) is None
        else:
            seen_qr = True
        assert _decision(X, names) == _qr_decision(X, names)
    assert seen_shortcut and seen_qr


# ------------------------------------------------------------------------- model matrices
def test_design_matrices_as_column_products():
    """X and Z hold the intercept, the numeric columns as they are, the factors' indicators
    and their products (the first variable varying fastest), as before."""
    rng = np.random.default_rng(4)
    n = 200
    table = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "z": rng.normal(size=n),
                          "f": pd.Series(np.array(["u", "v", "w"], dtype=object)[rng.integers(0, 3, n)]),
                          "g": rng.integers(0, 10, n)})
    frame = model_frame("y ~ x * f + z:x + (1 + x | g)", table)
    x, z, f = table["x"].to_numpy(), table["z"].to_numpy(), table["f"].to_numpy()
    fv, fw = (f == "v").astype(float), (f == "w").astype(float)
    assert frame.x_names == ["(Intercept)", "x", "fv", "fw", "x:fv", "x:fw", "x:z"]
    expected = np.column_stack([np.ones(n), x, fv, fw, x * fv, x * fw, x * z])
    np.testing.assert_array_equal(frame.X, expected)
    assert frame.X.flags.c_contiguous and frame.X.dtype == np.float64
    np.testing.assert_array_equal(frame.terms[0].Z, np.column_stack([np.ones(n), x]))
    empty = model_frame("y ~ 0 + (1 | g)", table)
    assert empty.X.shape == (n, 0)
