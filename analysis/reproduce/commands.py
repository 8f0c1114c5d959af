"""The command lines a Reproduce panel shows next to its R script.

``command_lines`` turns a screen's choices (the keyword arguments ``analysis.reproduce.r_script``
takes) into two shell commands: the ``python -m analysis ...`` command printing the screen's
numbers, and the ``python -m analysis rscript ...`` command writing the same R script without the
dashboard. Both are written by ``analysis.commands.rscript.equivalent_command`` from one set of
options, so they cannot drift apart.
"""
from __future__ import annotations

import argparse
import shlex
from typing import Any, Mapping


def _model_text(model: Mapping[str, list]) -> str:
    return ";".join(f"{f}={','.join(items)}" for f, items in model.items())


def command_lines(analysis: str, data: str, *, survey: str | None = None, instrument: str | None = None,
                  scales: list[str] | None = None, min_n: int | None = None, all_groups: bool = False,
                  **choices: Any) -> tuple[str, str]:
    """The two commands a Reproduce panel shows.

    Parameters
    ----------
    analysis : str
        ``reliability``, ``aggregate``, ``cfa`` or ``mixed``.
    data : str
        DATA as a user types it (``study.yaml``, ``sample_data/x.csv``).
    survey, instrument : str, optional
        The option choosing the survey (a study's ``--survey`` or a file's ``--instrument``).
    scales : list of str, optional
        cfa: the scales of a model with one factor per scale (``--scale A B C``).
    min_n : int, optional
        aggregate: the privacy threshold (``--min-n``).
    all_groups : bool
        aggregate: every group (``--all-groups``).
    **choices
        The keyword arguments ``analysis.reproduce.r_script`` takes for the analysis.

    Returns
    -------
    tuple of str
        ``(python -m analysis NAME ... --json, python -m analysis rscript ... --out FILE)``.
    """
    from analysis.commands.rscript import equivalent_command

    args = argparse.Namespace(
        analysis=analysis, data=data, survey=survey, instrument=instrument,
        items=list(choices.get("items") or []) or None, reverse=list(choices.get("reverse") or []),
        scale_min=choices.get("scale_min"), scale_max=choices.get("scale_max"),
        missing=choices.get("missing", "pairwise"), group=choices.get("group"), options=choices.get("options"),
        min_n=min_n, all_groups=all_groups, scale=scales, model=None, formula=choices.get("formula"),
        ml=not choices.get("reml", True) and choices.get("family", "gaussian") == "gaussian",
        family=choices.get("family", "gaussian"),
        reference=[f"{k}={v}" for k, v in (choices.get("references") or {}).items()],
        columns=list(choices.get("columns") or []) or None, method=choices.get("method", "pearson"))
    if analysis == "cfa" and not scales:
        model = dict(choices.get("model") or {})
        if list(model) == ["F"]:
            args.items = list(model["F"])
            reverse = dict(choices.get("reverse") or {})
            args.reverse = list(reverse)
            ranges = {r for r in reverse.values()}
            if len(ranges) == 1:
                args.scale_min, args.scale_max = next(iter(ranges))
        else:
            args.model = _model_text(model)
    shown = equivalent_command(args)
    tail = shown[len("python -m analysis "):].split(" ", 1)[1]  # DATA and the options
    tail = tail[: -len(" --json")] if tail.endswith(" --json") else tail
    rscript = f"python -m analysis rscript {tail} --analysis {analysis} --out {shlex.quote(f'reproduce_{analysis}.R')}"
    return shown, rscript
