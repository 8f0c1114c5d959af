"""The one-pass columnar pipeline and the group-by statistics give the numbers of the
implementation they replaced (issue 15), on the bundled sample.

The fixtures in ``tests/fixtures/scale_baseline/`` were written by
``tests/fixtures/make_scale_baseline.py`` on the code before the change (main at 558c8cf).
Frames read and prepared must be identical (values, missing cells, column order, row
index); statistics agree to 1e-12 relative, i.e. up to the last bits of a double, since a
sum taken per group in another order may round differently in the 16th digit.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.aggregation import aggregate, icc1_icc2
from analysis.instruments import load_instrument
from analysis.io import read_data
from analysis.pipeline import prepare
from analysis.readiness import readiness
from analysis.reliability import feldt_ci, reliability
from analysis.results import to_jsonable

HERE = Path(__file__).resolve().parent
BASE = HERE / "fixtures" / "scale_baseline"
SAMPLE = HERE.parent / "sample_data"
RECORD = json.loads((BASE / "baseline.json").read_text())
RTOL = 1e-9  # omega_total comes from an iterative fit: its last digits move with BLAS summation order


def _close(a, b, path=""):
    if isinstance(b, dict):
        assert isinstance(a, dict), path
        assert set(a) == set(b), f"{path}: keys {sorted(set(a) ^ set(b))}"
        for k in b:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(b, float) and not isinstance(a, str):
        if a is None or (isinstance(a, float) and math.isnan(a)):
            assert b is None or math.isnan(b), path
        else:
            assert a == pytest.approx(b, rel=RTOL, abs=RTOL), path
    elif b is None and isinstance(a, float):
        assert math.isnan(a), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _json(obj):
    return json.loads(json.dumps(to_jsonable(obj), allow_nan=True))


def _frame_equal(frame: pd.DataFrame, name: str, spec: dict, exact: bool = True) -> None:
    expected = pd.read_parquet(BASE / f"{name}.parquet")
    got = frame.copy()
    got.columns = [str(c) for c in got.columns]
    assert list(got.columns) == list(expected.columns)
    assert [int(i) for i in got.index] == spec["index"]
    for col in expected.columns:
        e, g = expected[col], got[col]
        if spec["dtypes"][col] == "object":
            g = g.map(lambda v: None if v is None or v != v else repr(v))
            assert g.tolist() == e.tolist(), col
            continue
        assert str(g.dtype) == spec["dtypes"][col], col
        ev, gv = e.to_numpy(dtype=float, na_value=np.nan), g.to_numpy(dtype=float, na_value=np.nan)
        if exact:
            np.testing.assert_array_equal(gv, ev, err_msg=col)
        else:
            np.testing.assert_allclose(gv, ev, rtol=RTOL, atol=RTOL, err_msg=col)


@pytest.mark.parametrize("name", sorted(RECORD["read"]))
def test_read_data_unchanged(name):
    path = SAMPLE / name if (SAMPLE / name).exists() else HERE / "fixtures" / name
    res = read_data(path)
    spec = RECORD["read"][name]
    _close(_json(res.meta), spec["meta"], "meta")
    _frame_equal(res.data, "read_" + name, spec)


@pytest.fixture(scope="module", params=[("public_servants.csv", "public_servant"), ("citizens.csv", "citizen")])
def prepared(request):
    file, inst = request.param
    return file, inst, prepare(SAMPLE / file, inst)


def test_prepare_unchanged(prepared):
    file, _, prep = prepared
    spec = RECORD["prepare"][file]
    _close(_json(prep.report.to_dict()), spec["report"], "report")
    assert {p.code + ":" + str(p.column): p.rows for p in prep.report.problems} == spec["rows"]
    _frame_equal(prep.data, "prepared_" + file, spec)


def test_statistics_unchanged(prepared):
    _, inst, prep = prepared
    instrument = load_instrument(inst)
    for c in instrument.constructs:
        ids = [it.id for it in c.items]
        rev = [it.id for it in c.items if it.reverse]
        for missing in ("pairwise", "listwise"):
            expected = dict(RECORD["reliability"][f"{inst}:{c.key}:{missing}"])
            if missing == "pairwise" and "alpha" in expected:
                # The one intended change (issue 16 item 4): the Feldt interval counts every
                # row, as psych::alpha does, where the baseline counted rows with an answer.
                expected["alpha_ci"] = list(feldt_ci(expected["alpha"], expected["n_rows"], expected["k"]))
            try:
                got = _json(reliability(prep.data, ids, reverse=rev, scale_min=c.scale.min,
                                        scale_max=c.scale.max, missing=missing).to_dict())
            except Exception as exc:  # noqa: BLE001
                got = {"error": str(exc)}
            _close(got, expected, f"reliability {c.key} {missing}")
        groups = ["org_id", "municipality_id"] if inst == "public_servant" else ["municipality_id"]
        for g in groups:
            for items in (ids, ids[:1]):
                expected = RECORD["aggregate"][f"{inst}:{c.key}:{g}:{len(items)}"]
                try:
                    a = aggregate(prep.data, g, items, int(c.scale.max - c.scale.min + 1))
                    got = {**_json(a.to_dict()), "notes": a.notes, "n_obs": a.n_obs, "n_dropped": a.n_dropped,
                           "icc": _json(a.icc.to_dict()), "band": a.groups["band"].tolist()}
                except Exception as exc:  # noqa: BLE001
                    got = {"error": str(exc)}
                _close(got, expected, f"aggregate {c.key} {g} {len(items)}")
            expected = RECORD["icc"][f"{inst}:{c.key}:{g}"]
            try:
                got = _json(icc1_icc2(prep.data, c.key, g).to_dict())
            except Exception as exc:  # noqa: BLE001
                got = {"error": str(exc)}
            _close(got, expected, f"icc {c.key} {g}")


@pytest.mark.parametrize("min_n", [5, 10])
def test_readiness_unchanged(min_n):
    instrument = load_instrument("public_servant")
    prep = prepare(SAMPLE / "public_servants.csv", instrument)
    res = readiness(prep.data, instrument, "org_id", min_n=min_n)
    _close(_json(res.to_dict()), RECORD["readiness"][f"org_id:{min_n}"], "readiness")
    for part in ("groups", "percentiles", "benchmark", "icc"):
        frame = getattr(res, part)
        expected = pd.read_parquet(BASE / f"readiness_{part}_{min_n}.parquet")
        assert list(frame.columns) == list(expected.columns), part
        for col in expected.columns:
            e, g = expected[col], frame[col]
            if g.dtype == object:
                gv = g.map(lambda v: None if v is None or v != v else repr(v)).tolist()
                assert gv == e.tolist(), (part, col)
            elif not pd.api.types.is_numeric_dtype(g) or pd.api.types.is_bool_dtype(g):
                assert g.tolist() == e.tolist(), (part, col)
            else:
                np.testing.assert_allclose(g.to_numpy(dtype=float), e.to_numpy(dtype=float),
                                           rtol=RTOL, atol=RTOL, err_msg=f"{part}.{col}")
