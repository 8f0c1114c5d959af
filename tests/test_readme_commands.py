"""Every `python -m analysis ...` example in the README runs and prints JSON (exit 0)."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT


def _examples() -> list[str]:
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if line.strip().startswith("python -m analysis ") and "--help" not in line]


def test_readme_has_examples_of_every_command():
    commands = {shlex.split(c)[3] for c in _examples()}
    assert {"validate", "reliability", "aggregate", "factor", "mixed", "readiness", "topics"} <= commands


@pytest.mark.parametrize("command", _examples(), ids=lambda c: shlex.split(c)[3])
def test_readme_example_runs(command, capsys, monkeypatch):
    """The first example runs as a real process (the interpreter, ``analysis/__main__.py``, the exit
    status); the others run the same entry point, ``analysis.cli.main``, in this process (same
    arguments, same working folder, stdout and stderr captured), which saves an interpreter start
    and the imports for each."""
    if command == _examples()[0]:
        argv = [sys.executable, *shlex.split(command)[1:]]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        from analysis.cli import main

        monkeypatch.chdir(ROOT)
        code = main(shlex.split(command)[3:])
        out, err = capsys.readouterr()
    assert code == 0, err
    assert isinstance(json.loads(out), dict)
    assert not re.search(r"Traceback", err)


def test_ci_runs_the_readme_test_command():
    """`.ci/run` runs exactly the README's test command (install, lint, type-check, tests)."""
    readme = (ROOT / "README.md").read_text()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert len(ci) == 1 and ci[0].strip() in readme
    assert "ruff check" in ci[0] and "mypy" in ci[0] and ci[0].rstrip().endswith("python -m pytest -q")
