"""The Models screen's point-and-click builder writes its formula with the engine's
``analysis.mixed.formula.build_formula`` (the page only collects the choices)."""
from __future__ import annotations

from analysis.mixed.formula import build_formula, parse_formula


def test_builder_choices_become_an_lme4_formula_the_parser_reads():
    text = build_formula("y", ["x", "my var"], ["z"], ["g", "h"], ["x"], True, ["x:z"])
    assert text == "y ~ x + `my var` + z + x:z + (1 + x || g) + (1 | h)"
    assert parse_formula(text).variables == ["y", "x", "my var", "z", "g", "h"]
    assert build_formula("y", [], [], ["g"]) == "y ~ 1 + (1 | g)"
    assert build_formula("", ["x"], [], ["g"]) == "" and build_formula("y", ["x"], [], []) == ""
