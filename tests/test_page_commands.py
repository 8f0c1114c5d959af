"""Every screen prints the command that gives its numbers; the printed text, run as it is,
gives the numbers on screen (readiness view; skills, resources and drivers screens: every
section's table and model)."""
from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
import sys

import numpy as np
import pytest

from screen_tables import assert_shown, numbers
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from conftest import ROOT


def _run_page(name: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def _printed(at: AppTest, *, subprocesses: bool = False) -> list[dict]:
    """Run every command the screen prints, as printed: in a shell of its own with
    ``subprocesses`` (the readiness view's test), else through ``analysis.cli.main`` in this
    process (the same parser and code, without a Python start per command)."""
    outs = []
    for text in [c.value for c in at.code if c.value.startswith("python -m analysis ")
                 and not c.value.startswith("python -m analysis rscript ")]:  # R scripts: test_reproduce_r.py
        words = shlex.split(text)
        if subprocesses:
            done = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True)
            assert done.returncode == 0, (text, done.stderr)
            outs.append(json.loads(done.stdout))
            continue
        out = io.StringIO()
        with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
            code = cli.main(words[3:])
        assert code == 0, text
        outs.append(json.loads(out.getvalue()))
    assert outs, "the screen prints no command"
    return outs


def test_readiness_view_command_gives_its_index():
    at = _run_page("readiness.py", {"org": "103"})
    outs = _printed(at, subprocesses=True)  # under the view and in its Reproduce panel: the same command
    assert all(o == outs[0] for o in outs)
    out = outs[0]
    row = next(g for g in out["groups"] if g["group"] == 103)
    metric = next(m.value for m in at.metric if m.label == "Readiness index (0-100)")
    assert metric == f"{row['index']:.1f}"


def test_resources_screen_command_gives_its_table():
    at = _run_page("topic_resources.py", {"s2_gender": "Woman"})
    assert any("--where gender=1" in c.value for c in at.code)  # the screen's filter, as a code
    out = _printed(at)[0]
    table = next(df.value for df in at.dataframe if "organisation" in df.value.columns and "index" in df.value.columns)
    lib = {g["group"]: g["index"] for g in out["groups"]}
    shown = table[numbers(table["index"]).notna()]
    assert len(shown) > 10
    assert_shown(shown["index"], [lib[g] for g in shown["organisation"]], 1)  # 0-100, one decimal


@pytest.fixture(scope="module")
def drivers_unfiltered() -> tuple[AppTest, list[dict]]:
    """The drivers screen without a filter and what every command it prints gives: run once for the
    two tests that read them (the screen and its commands fit several models on the whole sample)."""
    at = _run_page("topic_drivers.py", {})
    return at, _printed(at)


@pytest.mark.parametrize("query", [{}, {"s3_gender": "Woman"}])
def test_drivers_screen_commands_give_its_tables(query, request):
    if query:
        at = _run_page("topic_drivers.py", query)
        printed = _printed(at)
    else:
        at, printed = request.getfixturevalue("drivers_unfiltered")
    outs = {o["section"]: o for o in printed}
    assert {"divide", "broaden"} <= set(outs)
    shown = next(df.value for df in at.dataframe if {"variable", "level", "share"} <= set(df.value.columns))
    expected = [r["share"] for r in outs["divide"]["table"] if not r["suppressed"]]
    assert_allclose(shown["share"].to_numpy(float), np.asarray(expected, float), rtol=1e-12)
    counts = next(df.value for df in at.dataframe if "offline participation" in df.value.columns)
    total = sum(v for row in outs["broaden"]["counts"].values() for v in row.values() if v is not None)
    assert int(counts[["no", "yes"]].to_numpy().sum()) == int(total)


def _frame_with(at: AppTest, *columns: str):
    return next(df.value for df in at.dataframe if set(columns) <= set(df.value.columns))


def test_skills_screen_commands_give_its_tables():
    at = _run_page("topic_skills.py", {"s1_gender": "Woman"})
    outs = _printed(at)
    compare = next(o for o in outs if "servants" in o.get("filters", {}))
    shown = _frame_with(at, "shared_key", "effect_size")
    assert_allclose(shown["effect_size"].to_numpy(float), [r["effect_size"] for r in compare["table"]], rtol=1e-12)
    groups = next(o for o in outs if o.get("section") == "compare")
    assert groups["reading"] and groups["test"]
    cor = next(o for o in outs if o.get("section") == "correlations")
    table = _frame_with(at, "x", "y", "r")
    lib = {(r["x"], r["y"]): r["r"] for r in cor["table"]}
    assert_allclose(table["r"].to_numpy(float), [lib[(x, y)] for x, y in zip(table["x"], table["y"])], rtol=1e-12)


def test_drivers_and_resources_rankings_and_models_print_their_commands(drivers_unfiltered):
    at, outs = drivers_unfiltered
    sections = [o["section"] for o in outs]
    assert {"barriers", "outcomes", "elements", "participation"} <= set(sections)
    model = next(o for o in outs if o["section"] == "participation")["model"]
    shown = _frame_with(at, "term", "odds_ratio")
    assert_allclose(shown["estimate"].to_numpy(float), [r["estimate"] for r in model["fixed"]], rtol=1e-10)
    barriers = next(o for o in outs if o["section"] == "barriers")["table"]
    ranked = _frame_with(at, "rank", "construct", "agree_share")
    assert set(ranked["construct"]) <= {r["construct"] for o in outs if o["section"] == "barriers"
                                        for r in o["table"]}
    assert barriers
    res = _run_page("topic_resources.py", {})
    model = next(o for o in _printed(res) if o.get("section") == "engagement")["model"]
    shown = _frame_with(res, "term", "estimate", "df")
    assert_allclose(shown["estimate"].to_numpy(float), [r["estimate"] for r in model["fixed"]], rtol=1e-10)
