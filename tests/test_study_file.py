"""Study files: a researcher's own survey (own scale names, own group column) through every
command, compared with R's values in ../shared/reference, and every bad study file named by key."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from analysis import cli

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
CASES = json.loads((REF / "reference.json").read_text())["cases"] if (REF / "reference.json").exists() else {}
pytestmark = pytest.mark.skipif(not CASES, reason="../shared/reference is not beside the repository")


def run(*args: str) -> tuple[int, dict | None, str]:
    """``python -m analysis ARGS --json`` through its entry point, ``analysis.cli.main``, in this
    process: exit status, JSON printed and stderr (tests/test_readme_commands.py runs a real process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([*args, "--json"])
        except SystemExit as exc:  # argparse refusing the arguments, as the process would exit
            code = exc.code if isinstance(exc.code, int) else 1
    return code, (json.loads(out.getvalue()) if out.getvalue().strip() else None), err.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    for name in ("bfi", "bh1996", "HS1939"):
        shutil.copy(REF / "data" / f"{name}.csv", d / f"{name}.csv")
    (d / "bfi.yaml").write_text(
        "title: Personality\nsurveys:\n  - name: bfi\n    file: bfi.csv\n    covariates: [gender, education, age]\n"
        "    scales:\n      - {name: Agree, items: [A1, A2, A3, A4, A5], min: 1, max: 6, reverse: [A1]}\n"
        "      - {name: Consc, items: [C1, C2, C3, C4, C5], min: 1, max: 6, reverse: [C4, C5]}\n")
    (d / "bh.yaml").write_text("title: Soldiers\nsurveys:\n  - name: soldiers\n    file: bh1996.csv\n"
                               "    groups: [GRP]\n    covariates: [HRS]\n")
    (d / "hs.yaml").write_text(
        "title: Holzinger\nsurveys:\n  - name: pupils\n    file: HS1939.csv\n    id_column: id\n    groups: [school]\n"
        "    scales:\n      - {name: visual, items: [x1, x2, x3]}\n      - {name: textual, items: [x4, x5, x6]}\n"
        "      - {name: speed, items: [x7, x8, x9]}\n")
    return d


def test_reliability_of_own_scale_matches_psych(folder):
    code, out, err = run("reliability", str(folder / "bfi.yaml"), "--scale", "Agree")
    assert code == 0, err
    ref = CASES["bfi_alpha_Agreeableness"]["outputs"]["pairwise"]
    assert out["alpha"] == pytest.approx(ref["raw_alpha"], abs=1e-6)


def test_agreement_by_own_group_column_matches_multilevel(folder):
    code, out, err = run("aggregate", str(folder / "bh.yaml"), "--items", "LEAD", "--options", "5")
    assert code == 0, err
    ref = CASES["bh1996_icc_LEAD"]["outputs"]
    assert out["icc1"] == pytest.approx(ref["ICC1_aov"], abs=1e-6)
    assert out["icc2"] == pytest.approx(ref["ICC2_aov"], abs=1e-6)


def test_three_factor_cfa_from_scales_and_invariance_match_lavaan(folder):
    code, out, err = run("factor", str(folder / "hs.yaml"), "--scale", "visual", "textual", "speed",
                         "--group", "school")
    assert code == 0, err
    ref = CASES["hs1939_invariance_school"]["outputs"]["configural"]
    assert out["invariance"]["configural"]["chi2"] == pytest.approx(ref["fit_measures"]["chisq"], abs=1e-3)


def test_mixed_model_on_own_group_column_matches_lmer(folder):
    code, out, err = run("mixed", str(folder / "bh.yaml"), "--formula", "WBEING ~ HRS + LEAD + (1 | GRP)")
    assert code == 0, err
    ref = CASES["bh1996_ri_reml"]["outputs"]
    fixed = {r["term"]: r["estimate"] for r in out["fixed"]} if isinstance(out["fixed"], list) else None
    assert fixed is not None and fixed["LEAD"] == pytest.approx(ref["fixed"]["LEAD"]["estimate"], rel=1e-4)


@pytest.mark.parametrize("body, key", [
    ("scales:\n      - {name: S, items: [A1], min: 1, max: 6}", "scales[0] (S).items"),
    ("scales:\n      - {name: S, items: [A1, A2]}\n      - {name: T, items: [A2, A3]}", "scales[1] (T).items"),
    ("scales:\n      - {name: S, items: [A1, A2], min: 5, max: 1}", "scales[0] (S).min"),
    ("scales:\n      - {name: S, items: [A1, A2], reverse: [A3]}", "scales[0] (S).reverse"),
    ("scales:\n      - {name: S, items: [A1, NOPE]}", "scales[0] (S).items[1]"),
    ("groups: [team]\n    scales:\n      - {name: S, items: [A1, A2]}", "groups[0]"),
])
def test_study_check_names_the_key(folder, body, key):
    (folder / "bad.yaml").write_text(f"title: Bad\nsurveys:\n  - name: bfi\n    file: bfi.csv\n    {body}\n")
    code, out, err = run("study", "check", str(folder / "bad.yaml"))
    assert code == 2 and out is not None and not out["ok"], (out, err)
    if key is not None:
        assert any(key in (p["key"] or "") for p in out["problems"]), out


def test_missing_data_file_and_unknown_survey(folder):
    (folder / "nofile.yaml").write_text("title: X\nsurveys:\n  - name: a\n    file: gone.csv\n    groups: [g]\n")
    code, out, _ = run("study", "check", str(folder / "nofile.yaml"))
    assert code == 2 and out["problems"][0]["key"] == "surveys[0] (a).file"
    code, _, err = run("reliability", str(folder / "bfi.yaml"), "--survey", "nope", "--scale", "Agree")
    assert code == 2 and "no survey 'nope'" in err and "Traceback" not in err
