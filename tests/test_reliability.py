"""Reliability against psych::alpha / psych::omega / psych::splitHalf (R values in shared/reference)."""
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

from analysis.errors import InputError
from analysis.reliability import feldt_ci, reliability

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "reference"
TOL = 1e-6
SCALES = ["Agreeableness", "Conscientiousness", "Extraversion"]
RULES = ["pairwise", "listwise"]


def _case(reference, kind, scale):
    return reference["cases"][f"bfi_{kind}_{scale}"]


def _run(reference_data, inputs, rule, **kw):
    return reliability(reference_data("bfi"), inputs["items"], reverse=inputs["reverse_keyed"],
                       scale_min=1, scale_max=6, missing=rule, **kw)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("scale", SCALES)
def test_alpha_matches_psych(reference, reference_data, scale, rule):
    case = _case(reference, "alpha", scale)
    out = case["outputs"][rule]
    res = _run(reference_data, case["inputs"], rule)
    assert res.n == out["n_rows_passed"]
    assert res.k == len(case["inputs"]["items"])
    assert_allclose(res.alpha, out["raw_alpha"], atol=TOL, rtol=0)
    assert_allclose(res.alpha_std, out["std_alpha"], atol=TOL, rtol=0)
    assert_allclose(res.lambda6, out["G6_smc"], atol=TOL, rtol=0)
    assert_allclose(res.average_r, out["average_r"], atol=TOL, rtol=0)
    assert_allclose(res.median_r, out["median_r"], atol=TOL, rtol=0)
    assert_allclose(res.alpha_ci, [out["ci95_feldt"]["lower"], out["ci95_feldt"]["upper"]], atol=TOL, rtol=0)
    assert_allclose([res.scale_mean, res.scale_sd], [out["mean_total"], out["sd_total"]], atol=TOL, rtol=0)
    items = res.items.set_index("item")
    stats = pd.DataFrame(out["item_stats"]).T.loc[items.index]
    drop = pd.DataFrame(out["alpha_drop"]).T.loc[items.index]
    assert items["n"].tolist() == stats["n"].astype(int).tolist()
    for ours, theirs in [("mean", "mean"), ("sd", "sd"), ("r_drop", "r.drop"), ("r_cor", "r.cor")]:
        assert_allclose(items[ours].to_numpy(), stats[theirs].to_numpy(float), atol=TOL, rtol=0, err_msg=ours)
    assert_allclose(items["alpha_if_deleted"].to_numpy(), drop["raw_alpha"].to_numpy(float), atol=TOL, rtol=0)
    assert_allclose(items["alpha_std_if_deleted"].to_numpy(), drop["std.alpha"].to_numpy(float), atol=TOL, rtol=0)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("scale", SCALES)
def test_omega_total_matches_psych(reference, reference_data, scale, rule):
    case = _case(reference, "omega", scale)
    res = _run(reference_data, case["inputs"], rule)
    assert_allclose(res.omega_total, case["outputs"][f"psych_omega_{rule}"]["omega_total"], atol=TOL, rtol=0)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("scale", SCALES)
def test_omega_from_cfa_matches_lavaan(reference, reference_data, scale, rule):
    case = _case(reference, "omega", scale)
    out = case["outputs"]["from_lavaan_cfa"]
    res = _run(reference_data, case["inputs"], rule)  # the CFA always uses complete cases, as lavaan
    assert res.n_cfa == out["n_used"]
    assert_allclose([res.omega_cfa, res.omega_cfa_std], [out["omega_cfa_unstd"], out["omega_cfa_std"]],
                    atol=TOL, rtol=0)


@pytest.mark.parametrize("rule, expected", [("pairwise", 0.720613346264), ("listwise", 0.720971985281)])
def test_lambda2_matches_psych_splithalf(reference, reference_data, rule, expected):
    # psych::splitHalf(x)$lambda2 with x$A1 <- 7 - x$A1 (pairwise) and on na.omit(x), psych 2.2.9
    res = _run(reference_data, _case(reference, "alpha", "Agreeableness")["inputs"], rule)
    assert_allclose(res.lambda2, expected, atol=TOL, rtol=0)


def test_feldt_ci_formula():
    # 1 - (1 - alpha) * qf(.975 / .025, n - 1, (n - 1)(k - 1)), values from R's qf
    lo, hi = feldt_ci(0.8, 101, 4)
    assert_allclose([lo, hi], [1 - 0.2 * 1.3612954947, 1 - 0.2 * 0.7156476604], atol=1e-8)


def test_unmarked_reverse_item_is_flagged(reference_data):
    res = reliability(reference_data("bfi"), ["A1", "A2", "A3", "A4", "A5"])
    assert res.items.set_index("item").loc["A1", "r_drop"] < 0
    flagged = [w for w in res.warnings if w.startswith("item A1 correlates negatively")]
    assert flagged and "reverse-keyed but not marked" in flagged[0]
    assert not any(w.startswith("item A2") for w in res.warnings)


def test_reading_quotes_numbers_and_convention(reference, reference_data):
    res = _run(reference_data, _case(reference, "alpha", "Extraversion")["inputs"], "listwise")
    text = res.reading()
    assert "alpha = .76 [.75, .77]" in text and "omega total = .76" in text
    assert "Nunnally 1978" in text and "n = 2713" in text and "listwise" in text


def test_to_dict_has_the_command_keys(reference, reference_data):
    res = _run(reference_data, _case(reference, "alpha", "Agreeableness")["inputs"], "pairwise")
    d = res.to_dict()
    for key in ["n", "k", "missing", "alpha", "alpha_std", "alpha_ci", "lambda6", "average_r", "omega_total", "items"]:
        assert key in d
    assert len(d["alpha_ci"]) == 2 and d["missing"] == "pairwise"
    assert set(d["items"][0]) >= {"item", "mean", "sd", "r_drop", "alpha_if_deleted"}
    json.dumps(d)  # plain JSON


def test_bootstrap_interval_is_reproducible_and_plausible(reference, reference_data):
    inputs = _case(reference, "alpha", "Agreeableness")["inputs"]
    a = _run(reference_data, inputs, "listwise", bootstrap=200, seed=7)
    b = _run(reference_data, inputs, "listwise", bootstrap=200, seed=7)
    assert a.alpha_ci_bootstrap == b.alpha_ci_bootstrap
    lo, hi = a.alpha_ci_bootstrap
    assert lo < a.alpha < hi
    # with n = 2709 the bootstrap and Feldt intervals are both about +-.02 wide
    assert abs(lo - a.alpha_ci[0]) < 0.01 and abs(hi - a.alpha_ci[1]) < 0.01


def test_two_items_have_no_alpha_if_deleted_or_omega():
    d = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [2, 2, 3, 5, 4, 1]})
    res = reliability(d, ["a", "b"])
    assert res.items["alpha_if_deleted"].isna().all() and np.isnan(res.omega_total)
    # alpha of two items = 2 c12 / (v1 + v2 + 2 c12)
    c = np.cov(d.to_numpy(), rowvar=False)
    assert_allclose(res.alpha, 2 * 2 * c[0, 1] / c.sum(), atol=1e-12)


BAD = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [2, 2, 3, 5, 4, 1], "const": [3] * 6,
                    "empty": [np.nan] * 6, "text": ["x", "1", "2", "3", "4", "5"]})


@pytest.mark.parametrize("items, kwargs, column, fragment", [
    (["a"], {}, "a", "at least two items"),
    (["a", "const"], {}, "const", "same answer"),
    (["a", "empty"], {}, "empty", "no answers"),
    (["a", "text"], {}, "text", "non-numeric"),
    (["a", "nope"], {}, None, "unknown column"),
    (["a", "a"], {}, "a", "twice"),
    (["a", "b"], {"missing": "everything"}, None, "missing-data rule"),
    (["a", "b"], {"scale_min": 1}, None, "both the scale minimum and maximum"),
])
def test_bad_input_raises_input_error(items, kwargs, column, fragment):
    with pytest.raises(InputError) as err:
        reliability(BAD, items, **kwargs)
    assert fragment in str(err.value)
    assert err.value.column == column


def test_too_few_complete_rows():
    d = pd.DataFrame({"a": [1, 2, np.nan, 4], "b": [2, np.nan, 3, 5], "c": [1, 2, 3, np.nan]})
    with pytest.raises(InputError, match="at least 3"):
        reliability(d, ["a", "b", "c"], missing="listwise")


def _command(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True)


def test_command_prints_the_library_numbers(reference, reference_data):
    case = _case(reference, "alpha", "Conscientiousness")
    proc = _command("reliability", str(REFERENCE_DIR / "data" / "bfi.csv"), "--items", *case["inputs"]["items"],
                    "--reverse", *case["inputs"]["reverse_keyed"], "--scale-min", "1", "--scale-max", "6",
                    "--missing", "listwise", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    res = _run(reference_data, case["inputs"], "listwise")
    ref = case["outputs"]["listwise"]
    assert out["n"] == ref["n_rows_passed"] and out["k"] == 5 and out["missing"] == "listwise"
    assert_allclose([out["alpha"], out["alpha_std"], out["lambda6"], out["average_r"]],
                    [ref["raw_alpha"], ref["std_alpha"], ref["G6_smc"], ref["average_r"]], atol=TOL, rtol=0)
    assert_allclose(out["alpha_ci"], [ref["ci95_feldt"]["lower"], ref["ci95_feldt"]["upper"]], atol=TOL, rtol=0)
    assert_allclose(out["omega_total"], res.omega_total, atol=1e-12)
    assert [i["item"] for i in out["items"]] == case["inputs"]["items"]
    assert_allclose([i["r_drop"] for i in out["items"]],
                    [ref["item_stats"][i]["r.drop"] for i in case["inputs"]["items"]], atol=TOL, rtol=0)


@pytest.mark.parametrize("args, fragment", [
    (["--items", "A1", "NOPE"], "NOPE"),
    (["--items", "A1"], "at least two items"),
])
def test_command_bad_input_exits_2_with_one_line(args, fragment):
    proc = _command("reliability", str(REFERENCE_DIR / "data" / "bfi.csv"), *args, "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr


def test_feldt_interval_counts_every_row_as_psych_does(reference_data):
    """Issue 16 item 4: psych::alpha counts every row it is given for the Feldt interval
    (``nsub <- dim(x)[1]``), rows answering no item included. Values from R 4.2.2 / psych
    2.2.9: ``x <- bfi[, C1..C5]; x$C4 <- 7 - x$C4; x$C5 <- 7 - x$C5``, 200 all-NA rows
    added with ``rbind``, ``psych::alpha(y, check.keys = FALSE)$feldt`` (and on ``x``)."""
    items = ["C1", "C2", "C3", "C4", "C5"]
    x = reference_data("bfi")[items].astype(float)
    empty = pd.DataFrame(np.nan, index=range(200), columns=items)
    padded = pd.concat([x, empty], ignore_index=True)
    plain = reliability(x, items, reverse=["C4", "C5"], scale_min=1, scale_max=6)
    res = reliability(padded, items, reverse=["C4", "C5"], scale_min=1, scale_max=6)
    assert_allclose(res.alpha, 0.72673497292668343, atol=1e-12)
    assert_allclose(res.alpha_ci, [0.71096370619480809, 0.74189722024386895], atol=1e-9)
    assert_allclose(plain.alpha_ci, [0.71039867168252713, 0.74241873166067207], atol=1e-9)
    assert res.n == plain.n and res.n_rows == plain.n_rows + 200
    listwise = reliability(padded, items, reverse=["C4", "C5"], scale_min=1, scale_max=6, missing="listwise")
    assert listwise.alpha_ci == feldt_ci(listwise.alpha, listwise.n, 5)
