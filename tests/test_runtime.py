"""One BLAS thread in the commands and the dashboard (analysis.runtime): OpenBLAS's threads made
parallel analysis 25x slower at national scale. Checked in a fresh process each, since the
setting is process-wide."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

PROBE = """
import json, threadpoolctl
import scipy.linalg  # loaded after the setting too: scipy's own OpenBLAS must read it
print(json.dumps(sorted({i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})))
"""


def _threads(script: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", script + PROBE], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "OPENBLAS_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_command_runs_blas_on_one_thread():
    assert _threads("import numpy, scipy.linalg") == [2]  # the probe sees the threads a process would have
    assert _threads("import contextlib, io\nfrom analysis import cli\n"
                    "with contextlib.redirect_stdout(io.StringIO()):\n"
                    "    cli.main(['reliability', 'sample_data/public_servants.csv', '--items', 'ps_dsk1', 'ps_dsk2',"
                    " 'ps_dsk3', '--json'])") == [1]


def test_the_dashboard_runs_blas_on_one_thread():
    assert _threads("from streamlit.testing.v1 import AppTest\n"
                    "at = AppTest.from_file('app.py', default_timeout=120)\nat.run()\n"
                    "assert not at.exception, at.exception") == [1]


def test_the_dashboard_imports_the_other_screens_modules_in_the_background():
    """After the first screen, the other screens' modules are imported once, in a thread
    (ui.preload), so their first visit is their statistics."""
    script = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
              "at = AppTest.from_file('app.py', default_timeout=120)\nat.run()\n"
              "assert not at.exception, at.exception\n"
              "from ui.preload import MODULES, preload\n"
              "assert preload.cache_info().currsize == 1, 'app.py did not start it'\n"
              "preload().join(timeout=60)\n"
              "missing = [m for m in MODULES if m not in sys.modules]\n"
              "assert not missing, missing\nprint('ok')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
