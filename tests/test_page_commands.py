"""Every screen prints the command that gives its numbers; the printed text, run as it is,
gives the numbers on screen (readiness view, resources and drivers screens)."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import numpy as np
import pytest

from screen_tables import assert_shown, numbers
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from conftest import ROOT


def _run_page(name: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def _printed(at: AppTest) -> list[dict]:
    outs = []
    for text in [c.value for c in at.code if c.value.startswith("python -m analysis ")]:
        done = subprocess.run([sys.executable, *shlex.split(text)[1:]], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, (text, done.stderr)
        outs.append(json.loads(done.stdout))
    assert outs, "the screen prints no command"
    return outs


def test_readiness_view_command_gives_its_index():
    at = _run_page("readiness.py", {"org": "103"})
    (out,) = _printed(at)
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


@pytest.mark.parametrize("query", [{}, {"s3_gender": "Woman"}])
def test_drivers_screen_commands_give_its_tables(query):
    at = _run_page("topic_drivers.py", query)
    outs = {o["section"]: o for o in _printed(at)}
    assert {"divide", "broaden"} <= set(outs)
    shown = next(df.value for df in at.dataframe if {"variable", "level", "share"} <= set(df.value.columns))
    expected = [r["share"] for r in outs["divide"]["table"] if not r["suppressed"]]
    assert_allclose(shown["share"].to_numpy(float), np.asarray(expected, float), rtol=1e-12)
    counts = next(df.value for df in at.dataframe if "offline participation" in df.value.columns)
    total = sum(v for row in outs["broaden"]["counts"].values() for v in row.values() if v is not None)
    assert int(counts[["no", "yes"]].to_numpy().sum()) == int(total)
