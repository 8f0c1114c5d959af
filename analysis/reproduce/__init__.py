"""Runnable R scripts that reproduce a screen's numbers from the survey file ("Reproduce" panel).

``r_script(analysis, survey, prepared, ...)`` returns the text of an R script that reads the same
data file, recodes and scores it as the dashboard's pipeline does (``analysis.reproduce.prelude``)
and runs the R call the screen's numbers match:

=============== ============================================ =============================
analysis         R                                            our function
=============== ============================================ =============================
``reliability``  ``psych::alpha``, ``splitHalf``, ``omega``   ``analysis.reliability``
``aggregate``    ``multilevel::rwg.j``, ``ICC1``, ``ICC2``    ``analysis.aggregation``
``cfa``          ``lavaan::cfa`` (ML, ``std.lv = TRUE``)      ``analysis.factor.cfa``
``mixed``        ``lmerTest::lmer`` / ``lme4::glmer``         ``analysis.mixed.fit``
``correlations`` ``cor.test`` (Pearson or Spearman)           ``analysis.topics.correlations``
``groups``       ``t.test``, ``oneway.test``, ``chisq.test``   ``analysis.topics.compare_groups``
=============== ============================================ =============================

The script prints its results as JSON (``jsonlite``) under the keys of our result objects'
``to_dict``, so a test (tests/test_reproduce_r.py) runs it with ``Rscript`` and compares.
``python -m analysis rscript STUDY.yaml --analysis ... --out script.R`` writes the same script
without the dashboard.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable

from analysis.errors import InputError
from analysis.reproduce.aggregation import PACKAGES as _AGG, aggregation_code
from analysis.reproduce.cfa import PACKAGES as _CFA, cfa_code
from analysis.reproduce.correlations import PACKAGES as _COR, correlations_code
from analysis.reproduce.groups import PACKAGES as _GROUPS, groups_code
from analysis.reproduce.mixed import OPTIONAL as _MIXED_OPTIONAL, PACKAGES as _MIXED, mixed_code
from analysis.reproduce.prelude import prelude
from analysis.reproduce.rcode import r_chr
from analysis.reproduce.reliability import PACKAGES as _REL, reliability_code

ANALYSES = ("reliability", "aggregate", "cfa", "mixed", "correlations", "groups")
WHAT = {"reliability": "the reliability of a scale (psych::alpha, psych::omega)",
        "aggregate": "within-group agreement and ICCs (multilevel::rwg.j, ICC1, ICC2)",
        "cfa": "a confirmatory factor model (lavaan::cfa)",
        "mixed": "a multilevel model (lmerTest::lmer; lme4::glmer for a binomial outcome)",
        "correlations": "pairwise correlations of scale scores (cor.test)",
        "groups": "a comparison of groups (t.test, wilcox.test, oneway.test, kruskal.test or chisq.test)"}
_PACKAGES = {"reliability": _REL, "aggregate": _AGG, "cfa": _CFA, "mixed": _MIXED, "correlations": _COR,
             "groups": _GROUPS}
# Debian's name of each R package (scripts/install-system-deps.sh installs them for CI)
DEBIAN = {"psych": "r-cran-psych", "GPArotation": "r-cran-gparotation", "multilevel": "r-cran-multilevel",
          "lavaan": "r-cran-lavaan", "lme4": "r-cran-lme4", "lmerTest": "r-cran-lmertest",
          "performance": "r-cran-performance", "jsonlite": "r-cran-jsonlite", "readr": "r-cran-readr",
          "haven": "r-cran-haven", "readxl": "r-cran-readxl", "arrow": "r-cran-arrow"}


def analysis_code(analysis: str, prepared, choices: dict[str, Any]) -> str:
    """The analysis half of a script: R code computing the list ``out`` from the data frame ``d``.

    Parameters
    ----------
    analysis : str
        One of :data:`ANALYSES`.
    prepared : analysis.pipeline.PreparedData
        The survey's prepared data (the mixed model's table is built from its instrument).
    choices : dict
        The keyword arguments of the family's ``*_code`` function.

    Returns
    -------
    str
        R code.
    """
    if analysis == "reliability":
        return reliability_code(**choices)
    if analysis == "aggregate":
        return aggregation_code(**choices)
    if analysis == "cfa":
        return cfa_code(**choices)
    if analysis == "mixed":
        return mixed_code(prepared, **choices)
    if analysis == "correlations":
        return correlations_code(**choices)
    if analysis == "groups":
        return groups_code(**choices)
    raise InputError(f"unknown analysis '{analysis}'", hint="use one of " + ", ".join(ANALYSES))


def r_script(analysis: str, survey, prepared, *, command: str | None = None, base_dir: str = ".",
             data_file: str | None = None, exclude: Iterable | None = None, rows_note: str | None = None,
             title: str | None = None, **choices: Any) -> str:
    """The R script reproducing ``analysis`` on ``survey``: the text of a runnable ``.R`` file.

    Parameters
    ----------
    analysis : str
        ``"reliability"`` (``psych::alpha``, ``psych::splitHalf``, ``psych::omega``),
        ``"aggregate"`` (``multilevel::rwg.j``, ``multilevel::ICC1``/``ICC2``), ``"cfa"``
        (``lavaan::cfa``) or ``"mixed"`` (``lmerTest::lmer``, ``lme4::glmer``).
    survey : analysis.study.Survey
        The survey (its file name, sheet, missing codes, min_share and Data-page actions).
    prepared : analysis.pipeline.PreparedData
        What ``analysis.pipeline.prepare_survey`` made of the survey's file: the screen's data.
    command : str, optional
        The ``python -m analysis ...`` command printing the same numbers (quoted in the header).
    base_dir : str
        The folder holding the data file when the script runs without arguments
        (``Rscript script.R FOLDER`` overrides it).
    data_file : str, optional
        The data file's name in that folder (default ``survey.file``); an absolute path is used as is.
    exclude : iterable, optional
        Index labels of ``prepared.data`` the screen leaves out (privacy rule, straight-liners);
        the script drops them by their row numbers in the file.
    rows_note : str, optional
        Why those rows are left out (a comment in the script).
    title : str, optional
        The study's title (for the header).
    **choices
        The analysis' own options: see ``reliability_code``, ``aggregation_code``, ``cfa_code``
        and ``mixed_code``.

    Returns
    -------
    str
        The script. Run with ``Rscript``, it prints JSON under the keys of the matching
        result's ``to_dict`` (``ReliabilityResult``, ``AggregationResult``, ``CFAResult``,
        ``MixedResult``).

    Raises
    ------
    InputError
        A part cannot be written in R (an unknown analysis, a LimeSurvey export, a model
        variable such as ``readiness_muni`` that links two surveys).
    """
    if analysis not in ANALYSES:
        raise InputError(f"unknown analysis '{analysis}'", hint="use one of " + ", ".join(ANALYSES))
    body = analysis_code(analysis, prepared, choices)
    start = prelude(survey, prepared, base_dir=base_dir, data_file=data_file, exclude=exclude,
                    rows_note=rows_note)
    packages = list(dict.fromkeys(start.packages + _PACKAGES[analysis]))
    optional = _MIXED_OPTIONAL if analysis == "mixed" else []
    debian = " ".join(DEBIAN.get(p, p) for p in packages + optional)
    name = getattr(survey, "name", "survey")
    header = [
        f"# Reproduces {WHAT[analysis]} for the survey '{name}'"
        + (f" of the study '{title}'" if title else "") + ".",
        "# Written by the survey-analysis dashboard (analysis.reproduce); the same numbers without R:",
        *(f"#   {line}" for line in ([command] if command else [])),
        f"# Run: Rscript this_script.R [FOLDER]   (FOLDER holds {data_file or survey.file or 'the data file'};"
        f" default {base_dir})",
        f"# R packages: {', '.join(packages + optional)} (Debian: apt-get install {debian});"
        + (" performance is optional (R2, ICC)." if optional else ""),
        "# Prints the results as JSON, under the keys of the command's --json output.",
        "",
        f"for (p in {r_chr(packages)}) if (!requireNamespace(p, quietly = TRUE))",
        "  stop(\"this script needs the R package '\", p, \"': install.packages('\", p, \"')\")",
        "",
        "",
    ]
    tail = ["", "cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, na = \"null\", null = \"null\","
                " pretty = TRUE), \"\\n\")"]
    return "\n".join(header) + start.code + "\n\n" + body + "\n" + "\n".join(tail) + "\n"


def rscript_available() -> bool:
    """Whether ``Rscript`` is on the PATH."""
    return shutil.which("Rscript") is not None


def run_r(script: str, *, cwd: str | Path | None = None, args: Iterable[str] = (), timeout: float = 120) -> dict:
    """Run ``script`` with ``Rscript --vanilla`` and parse the JSON it prints.

    Parameters
    ----------
    script : str
        An R script from :func:`r_script`.
    cwd : str or Path, optional
        The folder to run it in (the data file is found relative to it).
    args : iterable of str
        Arguments after the script (``FOLDER``).
    timeout : float
        Seconds before the run is stopped.

    Returns
    -------
    dict
        The JSON the script printed.

    Raises
    ------
    InputError
        Rscript is not installed, or the script failed (R's last message, its output in the hint).
    """
    exe = shutil.which("Rscript")
    if exe is None:
        raise InputError("Rscript is not installed", hint="install R (Debian: apt-get install r-base-core)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reproduce.R"
        path.write_text(script, encoding="utf-8")
        proc = subprocess.run([exe, "--vanilla", str(path), *args], text=True, capture_output=True,
                              cwd=None if cwd is None else str(cwd), timeout=timeout)
    if proc.returncode != 0:
        raise InputError("the R script failed: " + (proc.stderr.strip().splitlines() or ["(no message)"])[-1],
                         hint=proc.stderr.strip()[-2000:])
    start = proc.stdout.find("{")
    return json.loads(proc.stdout[start:])
